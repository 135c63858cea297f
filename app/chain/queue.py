"""Starting runs and claiming them: a run is a `pending` row any process may claim.

Claims take the oldest pending row, or a running row whose lease expired (its worker died), with
`FOR UPDATE SKIP LOCKED` on Postgres; the claim itself is a conditional UPDATE, so two processes
can never both win one row (SQLite included).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import threading
import time
from typing import Any

from playhouse.pool import MaxConnectionsExceeded

from app import budgets
from app.chain import doorbell
from app.chain.settings import RunnerSettings
from app.db import database, is_postgres, utcnow
from app.models import Assistant, Execution, InputField, User, prebuilt


def start_execution(
    assistant: Assistant,
    user: User,
    inputs: dict[str, Any],
    fields: list[InputField] | None = None,
) -> Execution:
    """Insert the pending run with its definition snapshot and ring the runners. Returns at once.
    `fields`: the assistant's ordered fields, when the caller has just read them (to check the
    inputs) — one read less per run start.

    Raises budgets.BudgetExceeded (nothing inserted) when a budget stops the run.
    """
    with database.connection_context():
        values = {
            "assistant": assistant,
            "user": user,
            "status": "pending",
            "input_data": inputs,
            "definition": assistant.definition(fields),
            "version": assistant.version,
        }
        # Other processes' runners hear of it at commit; its NOTIFY rides with the INSERT.
        notify = [("SELECT pg_notify(%s, '')", [doorbell.QUEUE_CHANNEL])] if is_postgres() else []
        limits = budgets.limits_for(user)
        if limits.unlimited:  # nothing to count: the INSERT alone, one round trip
            execution = prebuilt.create(Execution, values, before=notify)
        else:  # counted and inserted under the person's lock (app.budgets)
            with budgets.admission():
                budgets.enforce(user, assistant.id, limits=limits)
                execution = prebuilt.create(Execution, values, before=notify)
    doorbell.ring(doorbell.QUEUE_KEY)
    pending_snapshot.invalidate()
    return execution


# The claimable rows: pending, or running with an expired lease (its worker died). Hand-written
# SQL, built once per database: Peewee took ~0.7 ms of CPU to build the claim's two statements
# (bench/engine.py).
_CLAIMABLE_SQL = """("status" = 'pending' OR ("status" = 'running' AND "lease_expires_at" < {p}))"""


def _candidates_sql(param: str, postgres: bool) -> str:
    sql = (
        f'SELECT "id", "attempt", "status" FROM "tool_executions" '
        f'WHERE {_CLAIMABLE_SQL.format(p=param)} ORDER BY "id" LIMIT {param}'
    )
    return sql + " FOR UPDATE SKIP LOCKED" if postgres else sql


# What a claim sets (parameters: owner, lease expiry, now) and returns (the whole row).
_CLAIM_SET_SQL = (
    'UPDATE "tool_executions" SET "status" = \'running\', "lease_owner" = {p}, '
    '"lease_expires_at" = {p}, "attempt" = "attempt" + 1, '
    '"claimed_at" = COALESCE("claimed_at", {p})'
)


def _returning() -> str:
    columns = (f'"tool_executions"."{f.column_name}"' for f in Execution._meta.sorted_fields)
    return "RETURNING " + ", ".join(columns)


def _claim_sql(param: str, postgres: bool, count: int) -> str:
    return (
        f"{_CLAIM_SET_SQL.format(p=param)} "
        f'WHERE "id" IN ({", ".join([param] * count)}) AND {_CLAIMABLE_SQL.format(p=param)} '
        f"{_returning()}"
    )


def claim_next(settings: RunnerSettings) -> Execution | None:
    """Take the next run for this process, or None when there is nothing to do."""
    claimed = claim_batch(settings, 1)
    return claimed[0] if claimed else None


def _quick_claim_sql(param: str, postgres: bool) -> str:
    """Postgres: pick and claim in one statement — runs whose attempts are not used up. The pick
    is a MATERIALIZED CTE: inside `WHERE id IN (…)` Postgres may run a LIMIT subquery more than
    once and claim more rows than asked."""
    claimable = (
        f'("status" = \'pending\' OR ("status" = \'running\' AND "lease_expires_at" < {param} '
        f'AND "attempt" < {param}))'
    )
    return (
        f'WITH "picked" AS MATERIALIZED (SELECT "id" FROM "tool_executions" WHERE {claimable} '
        f'ORDER BY "id" LIMIT {param} FOR UPDATE SKIP LOCKED) '
        f"{_CLAIM_SET_SQL.format(p=param)} "
        f'FROM "picked" WHERE "tool_executions"."id" = "picked"."id" {_returning()}'
    )


class _Sweeps:
    """When this process last claimed the whole way, giving up runs whose attempts are used up."""

    last = -math.inf


def claim_batch(settings: RunnerSettings, limit: int) -> list[Execution]:
    """Take up to `limit` runs, oldest first, in one transaction (empty: nothing to do).

    A burst of new runs is admitted at once, not one claim after another (bench/streaming.py:
    40 runs started at once waited seconds for a one-by-one claimer). On Postgres a claim is
    one statement — one round trip where the whole way takes four (BEGIN, pick, claim, COMMIT);
    the whole way, which also gives up runs whose workers kept dying, runs when the queue looks
    empty and at least once per lease period.
    """
    if is_postgres() and time.monotonic() - _Sweeps.last < settings.lease_seconds:
        claimed = _quick_claim(settings, limit)
        if claimed:
            pending_snapshot.invalidate()
            return claimed
    _Sweeps.last = time.monotonic()
    with database.connection_context():
        while True:
            now = utcnow()
            with database.atomic():
                rows = database.execute_sql(
                    prebuilt.text(_candidates_sql), (_timestamp(now), limit)
                ).fetchall()
                if not rows:
                    return []
                abandoned = [
                    (run_id, attempt)
                    for run_id, attempt, status in rows
                    if status == "running" and attempt >= settings.max_attempts
                ]
                for run_id, attempt in abandoned:
                    _give_up(run_id, attempt)
                given_up = {run_id for run_id, _ in abandoned}
                ids = [run_id for run_id, _, _ in rows if run_id not in given_up]
                claimed = _claim(ids, now, settings) if ids else []
            if claimed:
                pending_snapshot.invalidate()
                return sorted(claimed, key=lambda execution: execution.id)


def _quick_claim(settings: RunnerSettings, limit: int) -> list[Execution]:
    now = utcnow()
    expires = now + dt.timedelta(seconds=settings.lease_seconds)
    stamp, attempts = _timestamp(now), settings.max_attempts
    params = (stamp, attempts, limit, settings.owner, _timestamp(expires), stamp)
    with database.connection_context():
        claimed = list(Execution.raw(prebuilt.text(_quick_claim_sql), *params))
    return sorted(claimed, key=lambda execution: execution.id)


def _claim(ids: list[int], now: dt.datetime, settings: RunnerSettings) -> list[Execution]:
    """Mark the rows ours (if still claimable: SQLite has no row locks) and return them whole,
    as `run_execution` needs them."""
    expires = now + dt.timedelta(seconds=settings.lease_seconds)
    params = (settings.owner, _timestamp(expires), _timestamp(now), *ids, _timestamp(now))
    return list(Execution.raw(prebuilt.text(_claim_sql, len(ids)), *params))


def _timestamp(value: dt.datetime) -> Any:
    return Execution.lease_expires_at.db_value(value)


def _give_up(execution_id: int, attempts: int) -> None:
    from app.chain.runner import fail_abandoned

    fail_abandoned(execution_id, attempts)


class QueueSnapshot:
    """The pending runs' ids, read at most every `max_age` seconds per process, so hundreds of
    queued streams telling their place share one query instead of a COUNT each (bench/streaming.py:
    at 10× overload that COUNT per stream every 2 s took CPU from the admitted runs).

    A run started or claimed in this process makes the snapshot stale at once; runs started
    elsewhere show up within `max_age`.
    """

    def __init__(self, max_age: float = 1.0) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._read_at = -math.inf
        self._database: object = None

    def invalidate(self) -> None:
        self._read_at = -math.inf

    def place(self, execution_id: int) -> int | None:
        """Runs queued ahead of this one (0 = next); None when it is not queued."""
        with self._lock:
            now = time.monotonic()
            stale = now - self._read_at >= self.max_age or self._database is not database.obj
            newer = not self._ids or execution_id > self._ids[-1]  # started since the last read
            if stale or (newer and now - self._read_at >= 0.2):
                try:
                    with database.connection_context():
                        query = (
                            Execution.select(Execution.id)
                            .where(Execution.status == "pending")
                            .order_by(Execution.id)
                        )
                        self._ids = [row.id for row in query.objects()]
                    self._database = database.obj
                except MaxConnectionsExceeded:
                    pass  # every connection busy: the last snapshot will do until the next try
                self._read_at = now
            ids = self._ids
        index = bisect.bisect_left(ids, execution_id)
        return index if index < len(ids) and ids[index] == execution_id else None


pending_snapshot = QueueSnapshot()


def queue_position(execution: Execution) -> int:
    """How many queued runs are ahead of this one (0 = next)."""
    with database.connection_context():
        return (
            Execution.select()
            .where((Execution.status == "pending") & (Execution.id < execution.id))
            .count()
        )


def request_cancel(execution: Execution) -> bool:
    """Ask a run to stop. A queued run stops at once; a running one at its runner's next flush."""
    from app.chain.runner import cancel_pending

    with database.connection_context():
        if cancel_pending(execution.id):
            return True
        updated = (
            Execution.update(cancel_requested_at=utcnow())
            .where((Execution.id == execution.id) & (Execution.status == "running"))
            .execute()
        )
    if updated:
        doorbell.ring(f"cancel:{execution.id}")
    return bool(updated)


def retry_from(execution: Execution, step: int, user: User) -> Execution:
    """A new run of the same snapshot that reuses the results before `step` (DESIGN §8).

    Raises budgets.BudgetExceeded (nothing inserted) when a budget stops the run.
    """
    from app.chain.events import EventWriter
    from app.models import PromptResult

    with database.connection_context(), budgets.admission():
        budgets.enforce(user, execution.assistant_id)
        retry = Execution.create(
            assistant=execution.assistant_id,
            user=user,
            status="pending",
            input_data=execution.input_data,
            definition=execution.definition,
            version=execution.version,
            retry_of=execution,
            retry_from_step=step,
        )
        writer = EventWriter(retry.id)
        earlier = PromptResult.select().where(
            (PromptResult.execution == execution.id)
            & (PromptResult.step < step)
            & (PromptResult.status == "completed")
        )
        for old in earlier.order_by(PromptResult.step):
            PromptResult.create(
                execution=retry,
                step=old.step,
                prompt=old.prompt_id,
                prompt_name=old.prompt_name,
                status="completed",
                input_data=old.input_data,
                output_data=old.output_data,
                model=old.model_id,
                used_fallback=old.used_fallback,
                reused_from=old.reused_from_id or old.id,
                attempts=0,
                started_at=old.started_at,
                completed_at=old.completed_at,
                execution_time_ms=old.execution_time_ms,
                tokens_in=old.tokens_in,
                tokens_out=old.tokens_out,
                cost=old.cost,
            )
            writer.append(
                "prompt-complete",
                {
                    "step": old.step,
                    "output": old.output_data or "",
                    "tokens_in": old.tokens_in,
                    "tokens_out": old.tokens_out,
                    "cost": str(old.cost) if old.cost is not None else None,
                    "ms": old.execution_time_ms,
                    "reused": True,
                },
            )
        writer.flush()
        if is_postgres():
            database.execute_sql(
                "SELECT pg_notify(%s, %s)", (doorbell.QUEUE_CHANNEL, str(retry.id))
            )
    writer.ring()
    doorbell.ring(doorbell.QUEUE_KEY)
    return retry
