"""Run one execution from claimed to done: stages in order, prompts of a stage concurrently.

The runner thread (a greenlet under gevent) owns the execution's event writer. Every
`flush_interval` it flushes the buffered events, renews its lease and reads the cancel flag in one
round trip; prompts only append to the buffer. A failed prompt stops the chain once its stage has
settled; completed results stay. See DESIGN §4 and §8.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from app.chain.context import RunContext
from app.chain.definition import Step
from app.chain.events import EventWriter
from app.chain.lint import format_findings, has_errors, lint
from app.chain.prompt_run import PromptOutcome, PromptRun
from app.chain.settings import RunnerSettings
from app.db import database, is_postgres, utcnow
from app.metrics import EXECUTION_DURATION
from app.models import Execution, PromptResult, prebuilt
from app.models.prebuilt import Statement

log = logging.getLogger("app.runner")


TERMINAL_EVENTS = frozenset({"execution-complete", "execution-cancelled", "execution-error"})


class LeaseLost(Exception):
    """Another process took this run over (our lease expired); stop without writing more."""


def run_execution(
    execution_id: int, settings: RunnerSettings, execution: Execution | None = None
) -> str:
    """Drive a claimed execution (the row `claim_next` returned, if at hand) to its end."""
    if execution is None or not execution.is_fresh:
        with database.connection_context():
            execution = execution or Execution.get_by_id(execution_id)
            writer = EventWriter(execution_id)
    else:  # the claim's row at hand and nothing written yet: no round trip before the prompts
        writer = EventWriter(execution_id, last_seq=0)
    ctx = RunContext(execution, writer, settings)
    started = time.monotonic()
    log.info("execution.start", extra={"execution_id": execution_id, "attempt": execution.attempt})
    try:
        status = _drive(ctx)
    except LeaseLost:
        log.warning("execution.lease_lost", extra={"execution_id": execution_id})
        return "lost"
    except Exception as exc:  # a bug must not leave the run stuck in `running`
        log.exception("execution.crashed", extra={"execution_id": execution_id})
        _finish(ctx, "failed", f"The run stopped unexpectedly ({type(exc).__name__}).")
        status = "failed"
    seconds = time.monotonic() - started
    EXECUTION_DURATION.labels(status).observe(seconds)
    log.info(f"execution.{status}", extra={"execution_id": execution_id, "ms": int(seconds * 1000)})
    return status


def _drive(ctx: RunContext) -> str:
    definition = ctx.execution.definition
    findings = lint(definition)
    if has_errors(findings):
        _finish(ctx, "failed", format_findings(findings))
        return "failed"
    index = ctx.index
    if not ctx.knows_results:  # resumed, or a retry reusing results: what is there already
        with database.connection_context():
            ctx.load_results()
    done = ctx.completed_steps()
    if ctx.execution.attempt <= 1:
        ctx.writer.append("execution-start", {"steps": [_step_info(s) for s in index.steps]})
    else:
        ctx.writer.append("execution-start", {"resumed": True, "attempt": ctx.execution.attempt})
    flusher = Flusher(ctx)
    flusher.start()
    try:
        status, error, failed_step = _run_stages(ctx, index.steps, done)
    finally:
        flusher.stop()
    if ctx.lease_lost:
        raise LeaseLost()
    _finish(ctx, status, error, failed_step)
    return status


def _run_stages(
    ctx: RunContext, steps: list[Step], done: set[int]
) -> tuple[str, str | None, int | None]:
    """Stages in order; the next starts as soon as the outputs are known (not yet written)."""
    for stage in _stages(steps):
        todo = [step for step in stage if step.number not in done]
        if not todo:
            continue
        outcomes = _run_stage(ctx, todo)
        if ctx.lease_lost:
            break
        if ctx.cancelled:
            return "cancelled", None, None
        failed = next((o for o in outcomes if o.status == "failed"), None)
        if failed is not None:
            return "failed", f"Prompt “{failed.name}” failed: {failed.error}", failed.step
    return "completed", None, None


def _stages(steps: list[Step]) -> list[list[Step]]:
    stages: dict[int, list[Step]] = {}
    for step in steps:
        stages.setdefault(step.position, []).append(step)
    return [stages[position] for position in sorted(stages)]


def _step_info(step: Step) -> dict[str, Any]:
    model = step.prompt.get("model") or {}
    return {
        "step": step.number,
        "name": step.name,
        "position": step.position,
        "model": model.get("name"),
    }


def _run_stage(ctx: RunContext, steps: list[Step]) -> list[PromptOutcome]:
    if len(steps) == 1:  # most stages: no thread to start
        return [PromptRun(ctx, steps[0]).run()]
    with ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="prompt") as pool:
        futures = [pool.submit(PromptRun(ctx, step).run) for step in steps]
    return [future.result() for future in futures]


class Flusher:
    """Every `flush_interval`, beside the prompts: write what they queued, renew the lease, read
    the cancel flag. The prompts never wait for the database; only the end does."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        # The first tick at once (it runs when the runner first waits, on its model call): the
        # run's page shows it started and which prompt runs without waiting a whole interval.
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.ctx.settings.flush_interval
            try:
                heartbeat(self.ctx)
            except LeaseLost:
                return
            except Exception:  # the database blinked: try again next tick (the lease decides)
                log.exception("runner.flush_failed", extra={"execution_id": self.ctx.execution.id})


def heartbeat(ctx: RunContext) -> None:
    """Queued result rows and events, the lease renewal and the cancel flag: one transaction
    (on Postgres one round trip)."""
    settings = ctx.settings
    renew = prebuilt.update(
        Execution,
        {"lease_expires_at": utcnow() + dt.timedelta(seconds=settings.lease_seconds)},
        {"id": ctx.execution.id, "lease_owner": settings.owner},
        returning=("cancel_requested_at",),
    )
    with database.connection_context():
        renewed = _write_with_events(ctx, renew)
        ctx.writer.ring()
        if not renewed:
            ctx.lose_lease()
            raise LeaseLost()
        if renewed[0][0] is not None and not ctx.cancelled:
            ctx.cancel()


def _write_with_events(ctx: RunContext, last: Statement) -> list[tuple]:
    """The queued result rows, the buffered events (with their NOTIFY) and `last`, in one
    transaction; returns the rows `last` returned. Postgres: one multi-statement round trip
    instead of BEGIN, each statement, a savepoint for the events and COMMIT. If it fails, what
    it took goes back in front of the queues, for the next try: nothing is lost to a blip."""
    try:
        if is_postgres():
            return ctx.writer.flush_with(prebuilt.Script([*ctx.take_writes(), last]))
        with database.atomic():
            for sql, params in ctx.take_writes():
                database.execute_sql(sql, params)
            ctx.writer.flush()
            return list(database.execute_sql(*last).fetchall())
    except Exception:
        ctx.put_back_writes()
        ctx.writer.put_back()
        raise


def _finish(ctx: RunContext, status: str, error: str | None, step: int | None = None) -> None:
    """Terminal status, totals and the terminal event, written together."""
    with database.connection_context():
        if ctx.knows_results:
            _write_end(ctx, status, error, step, ctx.totals())
        else:  # stopped before reading what earlier attempts left: read the totals back
            try:  # after writing what is queued, so the totals count it
                with database.atomic():
                    for sql, params in ctx.take_writes():
                        database.execute_sql(sql, params)
            except Exception:
                ctx.put_back_writes()
                raise
            _write_end(ctx, status, error, step, _totals(ctx.execution.id))
        ctx.writer.ring()


def _write_end(
    ctx: RunContext, status: str, error: str | None, step: int | None, totals: dict[str, Any]
) -> None:
    ctx.writer.drop_buffered(TERMINAL_EVENTS)  # an end tried before, never written
    if status == "completed":
        ctx.writer.append("execution-complete", totals)
    elif status == "cancelled":
        ctx.writer.append("execution-cancelled", totals)
    else:
        ctx.writer.append("execution-error", {"error": error, "step": step, **totals})
    end = prebuilt.update(
        Execution,
        {
            "status": status,
            "error_message": error,
            "completed_at": utcnow(),
            "lease_owner": None,
            "lease_expires_at": None,
            "tokens_in": totals["tokens_in"],
            "tokens_out": totals["tokens_out"],
            "cost": Decimal(totals["cost"]) if totals["cost"] is not None else None,
            "has_unpriced": totals["unpriced"],
        },
        {"id": ctx.execution.id},
        returning=("id",),
    )
    _write_with_events(ctx, end)


def _totals(execution_id: int) -> dict[str, Any]:
    results = list(PromptResult.select().where(PromptResult.execution == execution_id))
    costs = [r.cost for r in results if r.cost is not None]
    return {
        "tokens_in": sum(r.tokens_in or 0 for r in results),
        "tokens_out": sum(r.tokens_out or 0 for r in results),
        "cost": str(sum(costs, Decimal(0))) if costs else None,
        "unpriced": any(r.cost is None and r.status == "completed" for r in results),
    }


def fail_abandoned(execution_id: int, attempts: int) -> None:
    """A run whose workers kept dying: fail it with the reason instead of retrying forever."""
    writer = EventWriter(execution_id)
    message = (
        f"The run was interrupted {attempts} times (the server running it stopped) "
        "and was given up. Retry it when the service is stable."
    )
    writer.append("execution-error", {"error": message, "step": None})
    with database.atomic():
        writer.flush()
        Execution.update(
            status="failed", error_message=message, completed_at=utcnow(), lease_owner=None
        ).where(Execution.id == execution_id).execute()
    writer.ring()


def cancel_pending(execution_id: int) -> bool:
    """Cancel a run nobody has claimed yet; False when it is no longer queued."""
    with database.atomic():
        updated = (
            Execution.update(
                status="cancelled", completed_at=utcnow(), cancel_requested_at=utcnow()
            )
            .where((Execution.id == execution_id) & (Execution.status == "pending"))
            .execute()
        )
        if updated:
            writer = EventWriter(execution_id)
            writer.append("execution-cancelled", {"tokens_in": 0, "tokens_out": 0, "cost": None})
            writer.flush()
    if updated:
        writer.ring()
    return bool(updated)
