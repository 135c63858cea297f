"""Data retention: runs older than the administrators' setting are deleted, and the trail says so.

A run is old when it finished (completed, failed or cancelled) before the cutoff — by
`completed_at`, or `started_at` when it never recorded an end. Queued and running runs are never
touched. Deletes go in batches (short transactions); on Postgres one process sweeps at a time
(`pg_try_advisory_lock`); the others skip that round. Deleting twice is harmless anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

from app.db import database, is_postgres, utcnow
from app.models import AppSetting, Execution, ExecutionEvent, ExecutionMessage, PromptResult, User
from app.models.audit import record
from app.models.execution import TERMINAL_STATUSES

log = logging.getLogger(__name__)

RETENTION_KEY = "runs.retention_days"
MAX_RETENTION_DAYS = 36_500  # a hundred years: anything more is "forever"
ADVISORY_LOCK_KEY = 734_219_017
BATCH_SIZE = 500


@dataclass
class PurgeReport:
    cutoff: dt.datetime
    days: int | None = None
    runs: int = 0
    prompt_results: int = 0
    events: int = 0
    messages: int = 0
    dry_run: bool = False

    @property
    def what(self) -> str:
        return (
            f"{_plural(self.runs, 'run')} ({_plural(self.prompt_results, 'prompt result')}, "
            f"{_plural(self.events, 'event')}, {_plural(self.messages, 'chat message')})"
        )

    @property
    def summary(self) -> str:
        kept = f" (kept {_plural(self.days, 'day')})" if self.days is not None else ""
        verb = "Would delete" if self.dry_run else "Deleted"
        return f"{verb} {self.what} finished before {self.cutoff:%Y-%m-%d %H:%M} UTC{kept}"

    def as_details(self) -> dict[str, Any]:
        details = asdict(self)
        details["cutoff"] = self.cutoff.isoformat(timespec="seconds")
        details.pop("dry_run")
        return details


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def retention_days() -> int | None:
    """The administrators' setting: days runs are kept, or None (forever)."""
    value = AppSetting.read(RETENTION_KEY)
    return int(value) if isinstance(value, int) and value > 0 else None


def set_retention_days(days: int | None, by: User | None) -> None:
    AppSetting.write(RETENTION_KEY, days, by)


def cutoff_for(days: int, now: dt.datetime | None = None) -> dt.datetime:
    return (now or utcnow()) - dt.timedelta(days=days)


def old_runs(cutoff: dt.datetime) -> Any:
    """Finished runs that ended (or, with no end recorded, started) before `cutoff`."""
    ended_before = (Execution.completed_at < cutoff) | (
        Execution.completed_at.is_null() & (Execution.started_at < cutoff)
    )
    return Execution.select(Execution.id).where(
        Execution.status.in_(sorted(TERMINAL_STATUSES)) & ended_before
    )


def count_old_runs(cutoff: dt.datetime) -> PurgeReport:
    """What a purge would delete now (nothing is deleted)."""
    runs = old_runs(cutoff)
    return PurgeReport(
        cutoff=cutoff,
        runs=runs.count(),
        prompt_results=PromptResult.select().where(PromptResult.execution.in_(runs)).count(),
        events=ExecutionEvent.select().where(ExecutionEvent.execution.in_(runs)).count(),
        messages=ExecutionMessage.select().where(ExecutionMessage.execution.in_(runs)).count(),
        dry_run=True,
    )


def purge_runs(
    cutoff: dt.datetime,
    *,
    days: int | None = None,
    dry_run: bool = False,
    by: str = "sweeper",
    batch_size: int = BATCH_SIZE,
) -> PurgeReport | None:
    """Delete finished runs older than `cutoff` with their results, events and chat.

    Returns what was deleted (or would be, with `dry_run`); None when another process holds the
    sweep lock. One audit row when anything was deleted.
    """
    with database.connection_context():
        if not _try_lock():
            return None  # another process is sweeping
        try:
            if dry_run:
                report = count_old_runs(cutoff)
                report.days = days
                return report
            report = PurgeReport(cutoff=cutoff, days=days)
            while True:
                with database.atomic():
                    ids = [
                        row.id for row in old_runs(cutoff).order_by(Execution.id).limit(batch_size)
                    ]
                    if not ids:
                        break
                    _delete_batch(ids, report)
            if report.runs:
                record(
                    "runs.purged",
                    actor=None,
                    summary=report.summary,
                    details={**report.as_details(), "by": by},
                )
                log.info("retention.purged", extra={"by": by, **report.as_details()})
            return report
        finally:
            _unlock()


def _delete_batch(ids: list[int], report: PurgeReport) -> None:
    # Children first, explicitly: the counts are exact, and SQLite need not cascade.
    report.events += ExecutionEvent.delete().where(ExecutionEvent.execution.in_(ids)).execute()
    report.messages += (
        ExecutionMessage.delete().where(ExecutionMessage.execution.in_(ids)).execute()
    )
    report.prompt_results += PromptResult.delete().where(PromptResult.execution.in_(ids)).execute()
    # A retry of one of these runs stays: its retry_of / reused_from links are set null.
    report.runs += Execution.delete().where(Execution.id.in_(ids)).execute()


def _try_lock() -> bool:
    if not is_postgres():
        return True
    cursor = database.execute_sql("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    return bool(cursor.fetchone()[0])


def _unlock() -> None:
    if is_postgres():
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def sweep_once() -> PurgeReport | None:
    """Apply the administrators' setting now; None when runs are kept forever (or locked)."""
    with database.connection_context():
        days = retention_days()
    if days is None:
        return None
    return purge_runs(cutoff_for(days), days=days, by="sweeper")


class RetentionSweeper:
    """In every web process: apply the retention setting every `interval` seconds (jittered)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        # Processes started together spread their sweeps; the first waits a little too.
        delay = random.uniform(0.1, 0.5) * self.interval
        while not self._stopping.wait(delay):
            try:
                sweep_once()
            except Exception:
                log.exception("retention.sweep_failed")
            delay = self.interval * random.uniform(0.9, 1.1)

    def stop(self) -> None:
        self._stopping.set()
