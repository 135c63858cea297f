"""The runner pool of one process: a bounded number of executions at a time, claimed from Postgres.

Follow-up answers (app.chain.chat) share the pool's slots: with no run waiting, a free slot takes
the oldest unanswered question.

Runs beyond the pool wait as `pending` rows; any process with a free slot claims the oldest. On
stop (SIGTERM) the pool stops claiming and hands its running executions back by expiring their
leases, so another process resumes them at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from app.chain import doorbell
from app.chain.chat_runner import answer_message, claim_next_answer
from app.chain.queue import claim_batch
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.db import database
from app.metrics import ACTIVE_RUNS
from app.models import Execution, ExecutionMessage

log = logging.getLogger("app.runner")
RELEASED = dt.datetime(1970, 1, 1)  # an expired lease: claimable by any process right away
CLAIM_BATCH = 20  # most runs one claim transaction takes


class RunnerPool:
    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.pool_size)
        self._stopping = threading.Event()
        self._active: set[int] = set()
        self._answering: set[int] = set()  # executions whose follow-up answer we are writing
        self._answer_turn = False
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
                    runs, answers = self._claim(slots)
                except Exception:
                    log.exception("runner.claim_failed")
                    runs, answers = [], []
                for _ in range(slots - len(runs) - len(answers)):
                    self._slots.release()
                for execution in runs:
                    self._launch(execution)
                for answer in answers:
                    self._launch_answer(answer.id, answer.execution_id)
                if not runs and not answers:
                    bell.wait(self.settings.poll_interval)

    def _claim(self, slots: int) -> tuple[list[Execution], list[ExecutionMessage]]:
        """Queued runs (a burst at once) and unanswered questions for `slots` free slots. When
        both wait they take turns at the first slot, so a long queue of runs never starves a
        follow-up answer (nor the other way round)."""
        if self._stopping.is_set():
            return [], []
        self._answer_turn = not self._answer_turn
        answers: list[ExecutionMessage] = []
        if self._answer_turn:
            answer = claim_next_answer(self.settings)
            if answer is not None:
                answers.append(answer)
        free = slots - len(answers)
        runs = claim_batch(self.settings, free) if free > 0 else []
        while len(runs) + len(answers) < slots and (runs or answers or not self._answer_turn):
            answer = claim_next_answer(self.settings)
            if answer is None:
                break
            answers.append(answer)
        return runs, answers

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

    def _launch_answer(self, message_id: int, execution_id: int) -> None:
        with self._lock:
            self._answering.add(execution_id)
        threading.Thread(target=self._answer, args=(message_id, execution_id), daemon=True).start()

    def _answer(self, message_id: int, execution_id: int) -> None:
        try:
            answer_message(message_id, self.settings)
        except Exception:
            log.exception("chat.crashed", extra={"message_id": message_id})
        finally:
            with self._lock:
                self._answering.discard(execution_id)
            self._slots.release()
            doorbell.ring(doorbell.QUEUE_KEY)

    def stop(self) -> None:
        """Stop claiming and release our leases so another process resumes our runs now."""
        self._stopping.set()
        doorbell.ring(doorbell.QUEUE_KEY)
        with self._lock:
            ids = list(self._active)
            answering = list(self._answering)
        if not ids and not answering:
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
            if answering:  # the answer is claimed again (and restarted) by another process
                released += (
                    Execution.update(lease_expires_at=RELEASED, lease_owner=None)
                    .where(
                        (Execution.id.in_(answering))
                        & (Execution.lease_owner == self.settings.owner)
                    )
                    .execute()
                )
        log.info(
            "runner.released",
            extra={"executions": ids, "answers": answering, "released": released},
        )
