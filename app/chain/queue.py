"""Starting runs and claiming them: a run is a `pending` row any process may claim.

Claims take the oldest pending row, or a running row whose lease expired (its worker died), with
`FOR UPDATE SKIP LOCKED` on Postgres; the claim itself is a conditional UPDATE, so two processes
can never both win one row (SQLite included).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from peewee import fn

from app import budgets
from app.chain import doorbell
from app.chain.settings import RunnerSettings
from app.db import database, is_postgres, utcnow
from app.models import Assistant, Execution, User


def start_execution(assistant: Assistant, user: User, inputs: dict[str, Any]) -> Execution:
    """Insert the pending run with its definition snapshot and ring the runners. Returns at once.

    Raises budgets.BudgetExceeded (nothing inserted) when a budget stops the run.
    """
    with database.connection_context(), budgets.admission():
        budgets.enforce(user, assistant.id)
        execution = Execution.create(
            assistant=assistant,
            user=user,
            status="pending",
            input_data=inputs,
            definition=assistant.definition(),
            version=assistant.version,
        )
        if is_postgres():
            database.execute_sql(
                "SELECT pg_notify(%s, %s)", (doorbell.QUEUE_CHANNEL, str(execution.id))
            )
    doorbell.ring(doorbell.QUEUE_KEY)
    return execution


def _claimable(now: dt.datetime) -> Any:
    return (Execution.status == "pending") | (
        (Execution.status == "running") & (Execution.lease_expires_at < now)
    )


def claim_next(settings: RunnerSettings) -> Execution | None:
    """Take the next run for this process, or None when there is nothing to do."""
    with database.connection_context():
        while True:
            now = utcnow()
            with database.atomic():
                query = (
                    Execution.select(Execution.id, Execution.attempt, Execution.status)
                    .where(_claimable(now))
                    .order_by(Execution.id)
                    .limit(1)
                )
                if is_postgres():
                    query = query.for_update(skip_locked=True)
                row = query.first()
                if row is None:
                    return None
                if row.status == "running" and row.attempt >= settings.max_attempts:
                    _give_up(row.id, row.attempt)
                    continue
                claimed = list(
                    Execution.update(
                        status="running",
                        lease_owner=settings.owner,
                        lease_expires_at=now + dt.timedelta(seconds=settings.lease_seconds),
                        attempt=Execution.attempt + 1,
                        claimed_at=fn.COALESCE(Execution.claimed_at, now),
                    )
                    .where((Execution.id == row.id) & _claimable(now))
                    .returning(Execution)
                    .execute()
                )
            if claimed:
                return claimed[0]


def _give_up(execution_id: int, attempts: int) -> None:
    from app.chain.runner import fail_abandoned

    fail_abandoned(execution_id, attempts)


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
