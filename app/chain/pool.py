"""The runner pool of one process: a bounded number of executions at a time, claimed from Postgres.

Runs beyond the pool wait as `pending` rows; any process with a free slot claims the oldest. On
stop (SIGTERM) the pool stops claiming and hands its running executions back by expiring their
leases, so another process resumes them at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from app.chain import doorbell
from app.chain.queue import claim_batch
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.db import database
from app.metrics import ACTIVE_RUNS
from app.models import Execution

log = logging.getLogger("app.runner")
RELEASED = dt.datetime(1970, 1, 1)  # an expired lease: claimable by any process right away
CLAIM_BATCH = 20  # most runs one claim transaction takes


class RunnerPool:
    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.pool_size)
        self._stopping = threading.Event()
        self._active: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._claim_loop, name="runner-pool", daemon=True)
        self._thread.start()

    def _claim_loop(self) -> None:
        with doorbell.subscribe(doorbell.QUEUE_KEY) as bell:
            while not self._stopping.is_set():
                if not self._slots.acquire(timeout=self.settings.poll_interval):
                    continue
                slots = 1  # and every other free slot, up to a batch: a burst is claimed at once
                while slots < CLAIM_BATCH and self._slots.acquire(blocking=False):
                    slots += 1
                try:
                    claimed = (
                        claim_batch(self.settings, slots) if not self._stopping.is_set() else []
                    )
                except Exception:
                    log.exception("runner.claim_failed")
                    claimed = []
                for _ in range(slots - len(claimed)):
                    self._slots.release()
                for execution in claimed:
                    self._launch(execution)
                if not claimed:
                    bell.wait(self.settings.poll_interval)

    def _launch(self, execution: Execution) -> None:
        with self._lock:
            self._active.add(execution.id)
        ACTIVE_RUNS.inc()
        threading.Thread(target=self._run, args=(execution,), daemon=True).start()

    def _run(self, execution: Execution) -> None:
        execution_id = execution.id
        try:
            run_execution(execution_id, self.settings, execution)
        finally:
            with self._lock:
                self._active.discard(execution_id)
            ACTIVE_RUNS.dec()
            self._slots.release()
            doorbell.ring(doorbell.QUEUE_KEY)  # a slot is free: look for queued work

    def stop(self) -> None:
        """Stop claiming and release our leases so another process resumes our runs now."""
        self._stopping.set()
        doorbell.ring(doorbell.QUEUE_KEY)
        with self._lock:
            ids = list(self._active)
        if not ids:
            return
        with database.connection_context():
            released = (
                Execution.update(lease_expires_at=RELEASED, lease_owner=None)
                .where(
                    (Execution.id.in_(ids))
                    & (Execution.lease_owner == self.settings.owner)
                    & (Execution.status == "running")
                )
                .execute()
            )
        log.info("runner.released", extra={"executions": ids, "released": released})
