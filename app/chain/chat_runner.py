"""Follow-up answers, the runner's side (DESIGN §8): a `pending` answer row (written by
`app.chain.chat.ask`) is claimed by any process's runner pool, like a queued run, and streamed as
`chat-delta` events of the same execution through the same per-execution writer and `seq`, ending
with `chat-complete`. While a process answers it holds the execution's lease (`lease_owner`/
`lease_expires_at`, free once a run is finished), renewed at each flush; if the process dies,
another one claims the answer when the lease expires and starts it again. An answer interrupted
`max_attempts` times fails with the reason. No Flask here.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

from app.chain.chat import OPEN_STATUSES, answer_models, conversation
from app.chain.chat_context import ChatContext, build_context, run_pieces
from app.chain.events import EventWriter
from app.chain.providers import CompletionStream, ModelSpec, ProviderError, compute_cost
from app.chain.providers import stream_completion as _stream_completion
from app.chain.settings import RunnerSettings
from app.db import database, is_postgres, utcnow
from app.metrics import record_prompt
from app.models import AIModel, Execution, ExecutionEvent, ExecutionMessage, PromptResult

log = logging.getLogger("app.runner")


def _lease_free(now: dt.datetime) -> Any:
    return Execution.lease_owner.is_null() | (Execution.lease_expires_at < now)


def _claimable(now: dt.datetime) -> Any:
    return (
        (ExecutionMessage.role == "assistant")
        & ExecutionMessage.status.in_(OPEN_STATUSES)
        & _lease_free(now)
    )


def claim_next_answer(settings: RunnerSettings) -> ExecutionMessage | None:
    """Take the oldest unanswered question (or one whose answering process died)."""
    with database.connection_context():
        for _ in range(20):
            now = utcnow()
            with database.atomic():
                query = (
                    ExecutionMessage.select(ExecutionMessage.id, ExecutionMessage.execution)
                    .join(Execution)
                    .where(_claimable(now))
                    .order_by(ExecutionMessage.id)
                    .limit(1)
                )
                if is_postgres():
                    query = query.for_update(skip_locked=True)
                row = query.first()
                if row is None:
                    return None
                leased = (
                    Execution.update(
                        lease_owner=settings.owner,
                        lease_expires_at=now + dt.timedelta(seconds=settings.lease_seconds),
                    )
                    .where((Execution.id == row.execution_id) & _lease_free(now))
                    .execute()
                )
                if not leased:
                    continue
                ExecutionMessage.update(status="running").where(
                    ExecutionMessage.id == row.id
                ).execute()
                return ExecutionMessage.get_by_id(row.id)
    return None


def _attempts_so_far(message: ExecutionMessage) -> int:
    """How many times answering this message was started (each start is marked in the log)."""
    events = ExecutionEvent.select(ExecutionEvent.event_data).where(
        (ExecutionEvent.execution == message.execution_id)
        & (ExecutionEvent.event_type == "chat-delta")
        & (ExecutionEvent.created_at >= message.created_at)
    )
    return sum(
        1
        for e in events
        if e.event_data.get("message_id") == message.id and "attempt" in e.event_data
    )


class _Answer:
    """One answer being written: the writer, the open stream, the lease, the flusher thread."""

    def __init__(self, message: ExecutionMessage, settings: RunnerSettings) -> None:
        self.message = message
        self.settings = settings
        self.writer = EventWriter(message.execution_id)
        self.stream: CompletionStream | None = None
        self.lease_lost = False
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def heartbeat(self) -> None:
        try:
            with database.connection_context(), database.atomic():
                self.writer.flush()
                renewed = (
                    Execution.update(
                        lease_expires_at=utcnow()
                        + dt.timedelta(seconds=self.settings.lease_seconds)
                    )
                    .where(
                        (Execution.id == self.message.execution_id)
                        & (Execution.lease_owner == self.settings.owner)
                    )
                    .execute()
                )
        except Exception:  # rolled back: the events go out with the next tick
            self.writer.put_back()
            raise
        self.writer.ring()
        if not renewed:
            self.lease_lost = True
            with self._lock:
                if self.stream is not None:
                    self.stream.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.flush_interval) and not self.lease_lost:
            try:
                self.heartbeat()
            except Exception:  # the database blinked: the lease decides at the next tick
                log.exception("chat.flush_failed", extra={"message_id": self.message.id})

    def __enter__(self) -> _Answer:
        self._thread = threading.Thread(target=self._loop, name="chat-flusher", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def track(self, stream: CompletionStream | None) -> None:
        with self._lock:
            self.stream = stream
        if stream is not None and self.lease_lost:
            stream.close()


def answer_message(message_id: int, settings: RunnerSettings) -> str:
    """Write the answer to a claimed question; returns its final status (or "lost")."""
    with database.connection_context():
        message = ExecutionMessage.get_by_id(message_id)
        execution = Execution.get_by_id(message.execution_id)
        attempt = _attempts_so_far(message) + 1
        models = answer_models(execution.definition)
        context = _context(execution, message, models)
    work = _Answer(message, settings)
    if attempt > settings.max_attempts:
        error = (
            f"Answering was interrupted {attempt - 1} times (the server writing it stopped) "
            "and was given up. Ask again."
        )
        _finish(work, "failed", error=error)
        return "failed"
    if not models:
        _finish(work, "failed", error="No model can answer: the run's last model is unavailable.")
        return "failed"
    log.info("chat.start", extra={"execution_id": execution.id, "message_id": message_id})
    work.writer.append(
        "chat-delta",
        {
            "message_id": message_id,
            "text": "",
            "attempt": attempt,
            "model": models[0].name,
            "note": context.note,
        },
    )
    try:
        with work:
            status, values = _generate(work, models, context)
    except Exception as exc:  # a bug must not leave the answer waiting for its lease to expire
        log.exception("chat.crashed", extra={"message_id": message_id})
        status, values = (
            "failed",
            {"error": f"The answer stopped unexpectedly ({type(exc).__name__})."},
        )
    if work.lease_lost:
        log.warning("chat.lease_lost", extra={"message_id": message_id})
        return "lost"
    _finish(work, status, note=context.note, **values)
    log.info(f"chat.{status}", extra={"execution_id": execution.id, "message_id": message_id})
    return status


def _context(execution: Execution, message: ExecutionMessage, models: list[AIModel]) -> ChatContext:
    results: Any = (
        PromptResult.select(PromptResult.step, PromptResult.prompt_name, PromptResult.output_data)
        .where((PromptResult.execution == execution.id) & (PromptResult.status == "completed"))
        .order_by(PromptResult.step)
        .tuples()
    )
    earlier = [m for m in conversation(execution.id) if m.id < message.id]
    question = next((m.content for m in reversed(earlier) if m.role == "user"), "")
    turns, pending_question = [], None
    for m in earlier[:-1]:  # the last one is this answer's question
        if m.role == "user":
            pending_question = m.content
        elif pending_question is not None and m.status == "completed":
            turns.append((pending_question, m.content))
            pending_question = None
    window = models[0].max_tokens if models else None
    return build_context(
        assistant_name=(execution.definition.get("assistant") or {}).get("name", "this assistant"),
        pieces=run_pieces(execution.input_data or {}, list(results)),
        turns=turns,
        question=question,
        window=window,
    )


def _generate(
    work: _Answer, models: list[AIModel], context: ChatContext
) -> tuple[str, dict[str, Any]]:
    """Stream from the model (retries on 429/5xx/cuts, then the fallback model)."""
    settings = work.settings
    last_error = "The model did not answer."
    started = time.monotonic()
    for index, row in enumerate(models):
        spec = ModelSpec.from_row(row)
        for retry in range(settings.retries + 1):
            parts: list[str] = []
            try:
                stream = _stream_completion(
                    spec,
                    context.messages,
                    timeout=min(settings.read_timeout, settings.prompt_timeout),
                    total_timeout=settings.prompt_timeout,
                    key_env_allowlist=settings.key_env_allowlist,
                )
                work.track(stream)
                for delta in stream:
                    parts.append(delta)
                    work.writer.chat_delta(work.message.id, delta)
                work.track(None)
            except ProviderError as error:
                work.track(None)
                last_error = str(error)
                if work.lease_lost:
                    return "failed", {}
                if parts:  # what was shown is taken back: the next try starts afresh
                    work.writer.append(
                        "chat-delta", {"message_id": work.message.id, "text": "", "reset": True}
                    )
                if not error.retryable:
                    break
                if retry < settings.retries:
                    time.sleep(settings.retry_backoff * (2**retry))
                continue
            if work.lease_lost:
                return "failed", {}
            usage = stream.usage
            tokens_in = usage.prompt_tokens if usage else None
            tokens_out = usage.completion_tokens if usage else None
            cost = compute_cost(spec, tokens_in or 0, tokens_out or 0) if usage else None
            record_prompt(spec.model_id, "completed", tokens_in, tokens_out, cost)
            return "completed", {
                "content": "".join(parts),
                "model": row.id,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost": cost,
                "ms": int((time.monotonic() - started) * 1000),
                "fallback": index > 0,
            }
    record_prompt(models[0].model_id, "failed", 0, 0, None)
    return "failed", {"error": last_error}


def _finish(work: _Answer, status: str, **values: Any) -> None:
    """The answer's row, its `chat-complete` event and the lease's release, in one transaction."""
    message = work.message
    error = values.get("error")
    cost = values.get("cost")
    event = {
        "message_id": message.id,
        "status": status,
        "error": error,
        "tokens_in": values.get("tokens_in"),
        "tokens_out": values.get("tokens_out"),
        "cost": str(cost) if cost is not None else None,
        "ms": values.get("ms"),
        "fallback": values.get("fallback", False),
        "note": values.get("note"),
    }
    row: dict[str, Any] = {"status": status, "error_message": error, "completed_at": utcnow()}
    if status == "completed":
        row.update(
            content=values["content"],
            model=values["model"],
            tokens_in=values["tokens_in"],
            tokens_out=values["tokens_out"],
            cost=cost,
        )
    with database.connection_context(), database.atomic():
        ExecutionMessage.update(**row).where(ExecutionMessage.id == message.id).execute()
        work.writer.append("chat-complete", event)
        work.writer.flush()
        Execution.update(lease_owner=None, lease_expires_at=None).where(
            (Execution.id == message.execution_id) & (Execution.lease_owner == work.settings.owner)
        ).execute()
    work.writer.ring()
