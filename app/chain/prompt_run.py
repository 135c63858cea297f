"""One prompt of a run: substitute, call the model (retries, fallback, timeout), record it."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.chain.definition import Step
from app.chain.events import EventWriter
from app.chain.providers import (
    CompletionStream,
    ModelSpec,
    ProviderError,
    compute_cost,
    stream_completion,
)
from app.chain.settings import RunnerSettings
from app.chain.variables import render_prompt
from app.db import utcnow
from app.metrics import record_prompt
from app.models import AIModel, ChainPrompt, Execution, PromptResult

log = logging.getLogger("app.runner")


class Cancelled(Exception):
    pass


class RunContext:
    """What the prompts of one execution share: inputs, outputs so far, the writer, the flags."""

    def __init__(self, execution: Execution, writer: EventWriter, settings: RunnerSettings) -> None:
        self.execution = execution
        self.writer = writer
        self.settings = settings
        self.outputs: dict[int, str] = {}
        self.existing: dict[int, tuple[int, str]] = {}  # step → (prompt_results id, status)
        # Result rows are written behind, by the flusher: [step, values, insert?] in order.
        self._writes: list[list[Any]] = []
        self.live_prompt_ids: set[int] = set()  # snapshot prompts still in chain_prompts
        self.live_model_ids: set[int] = set()
        self.cancelled = False
        self.lease_lost = False
        self._streams: set[CompletionStream] = set()
        self._lock = threading.Lock()

    def load_existing(self, steps: list[Step]) -> None:
        """What an earlier attempt left, and which snapshot rows still exist (FKs), in 3 reads."""
        rows = PromptResult.select(
            PromptResult.id, PromptResult.step, PromptResult.status, PromptResult.output_data
        ).where(PromptResult.execution == self.execution.id)
        for row in rows:
            self.existing[row.step] = (row.id, row.status)
            if row.status == "completed":
                self.outputs[row.step] = row.output_data or ""
        prompt_ids = {s.prompt.get("id") for s in steps} - {None}
        model_ids = {
            (s.prompt.get(key) or {}).get("id")
            for s in steps
            for key in ("model", "fallback_model")
        } - {None}
        if prompt_ids:
            prompts = ChainPrompt.select(ChainPrompt.id).where(ChainPrompt.id.in_(list(prompt_ids)))
            self.live_prompt_ids = {row.id for row in prompts}
        if model_ids:
            models = AIModel.select(AIModel.id).where(AIModel.id.in_(list(model_ids)))
            self.live_model_ids = {row.id for row in models}

    def queue_result(self, step: int, values: dict[str, Any]) -> None:
        """Insert (first time) or update the step's prompt_results row at the next flush."""
        with self._lock:
            last = next((w for w in reversed(self._writes) if w[0] == step), None)
            if last is not None:
                last[1] = {**last[1], **values}  # not written yet: one statement, not two
                return
            insert = step not in self.existing
            self.existing.setdefault(step, (0, values.get("status", "running")))
            self._writes.append([step, values, insert])

    def apply_writes(self) -> None:
        """Write the queued result rows (inside the caller's transaction)."""
        with self._lock:
            writes, self._writes = self._writes, []
        for step, values, insert in writes:
            if insert:
                PromptResult.insert(execution=self.execution.id, step=step, **values).execute()
            else:
                PromptResult.update(**values).where(
                    (PromptResult.execution == self.execution.id) & (PromptResult.step == step)
                ).execute()

    def track(self, stream: CompletionStream | None, active: bool = True) -> None:
        with self._lock:
            if stream is None:
                return
            if active:
                self._streams.add(stream)
            else:
                self._streams.discard(stream)
        if active and (self.cancelled or self.lease_lost):
            stream.close()

    def cancel(self) -> None:
        self.cancelled = True
        self._close_all()

    def lose_lease(self) -> None:
        self.lease_lost = True
        self._close_all()

    @property
    def stopping(self) -> bool:
        return self.cancelled or self.lease_lost

    def _close_all(self) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()  # the provider's HTTP connection is released now


@dataclass
class PromptOutcome:
    step: int
    name: str
    status: str  # completed, failed, cancelled
    error: str | None = None


class PromptRun:
    def __init__(self, ctx: RunContext, step: Step) -> None:
        self.ctx = ctx
        self.step = step
        self.prompt: dict[str, Any] = dict(step.prompt)
        definition = ctx.execution.definition
        self.timeout = float(
            self.prompt.get("timeout_seconds")
            or (definition.get("assistant") or {}).get("timeout_seconds")
            or ctx.settings.prompt_timeout
        )

    def run(self) -> PromptOutcome:
        ctx, step = self.ctx, self.step
        rendered = render_prompt(
            ctx.execution.definition, step.number, ctx.execution.input_data, ctx.outputs
        )
        model = self.prompt.get("model") or {}
        messages: list[dict[str, Any]] = []
        if rendered.system_context:
            messages.append({"role": "system", "content": rendered.system_context})
        messages.append({"role": "user", "content": rendered.content})
        result = self._start_result(rendered, model)
        ctx.writer.append(
            "variable-substitution",
            {
                "step": step.number,
                "variables": [
                    {
                        "name": u.name,
                        "source": u.source,
                        "chars": u.value_chars,
                        "from_step": u.step,
                    }
                    for u in rendered.variables
                ],
            },
        )
        started = time.monotonic()
        candidates = [(model, False)]
        if self.prompt.get("fallback_model"):
            candidates.append((self.prompt["fallback_model"], True))
        last_error = "The model did not answer."
        attempts = 0
        for model_ref, is_fallback in candidates:
            spec = ModelSpec.from_row(model_ref)
            for retry in range(ctx.settings.retries + 1):
                if ctx.stopping:
                    return self._stop(result, started, attempts)
                attempts += 1
                ctx.writer.append(
                    "prompt-start",
                    {
                        "step": step.number,
                        "name": step.name,
                        "position": step.position,
                        "model": spec.name,
                        "attempt": attempts,
                        "fallback": is_fallback,
                    },
                )
                try:
                    text, stream = self._call(spec, messages)
                except Cancelled:
                    return self._stop(result, started, attempts)
                except ProviderError as error:
                    last_error = str(error)
                    retrying = error.retryable and retry < ctx.settings.retries
                    ctx.writer.append(
                        "prompt-error",
                        {
                            "step": step.number,
                            "error": last_error,
                            "retrying": retrying,
                            "attempt": attempts,
                        },
                    )
                    if not error.retryable:
                        break
                    if retrying:
                        time.sleep(ctx.settings.retry_backoff * (2**retry))
                    continue
                return self._complete(result, spec, text, stream, started, attempts, is_fallback)
        return self._fail(result, last_error, started, attempts)

    def _call(
        self, spec: ModelSpec, messages: list[dict[str, Any]]
    ) -> tuple[str, CompletionStream]:
        ctx = self.ctx
        stream = stream_completion(
            spec,
            messages,
            temperature=self.prompt.get("temperature"),
            max_tokens=self.prompt.get("max_tokens"),
            timeout=min(ctx.settings.read_timeout, self.timeout),
            total_timeout=self.timeout,
            key_env_allowlist=ctx.settings.key_env_allowlist,
        )
        ctx.track(stream)
        parts: list[str] = []
        try:
            for delta in stream:
                parts.append(delta)
                ctx.writer.delta(self.step.number, delta)
        finally:
            ctx.track(stream, active=False)
        if ctx.stopping:
            self.partial = "".join(parts)
            raise Cancelled()
        return "".join(parts), stream

    partial = ""

    def _start_result(self, rendered: Any, model: dict[str, Any]) -> int:
        input_data = {
            "original_content": self.prompt.get("content"),
            "processed_content": rendered.content,
            "original_system_context": self.prompt.get("system_context"),
            "system_context": rendered.system_context,
            "model": model.get("model_id"),
            "model_name": model.get("name"),
            "parameters": {
                "temperature": self.prompt.get("temperature"),
                "max_tokens": self.prompt.get("max_tokens"),
                "timeout_seconds": self.timeout,
            },
        }
        return self._queue_start(input_data, model)

    def _queue_start(self, input_data: dict[str, Any], model: dict[str, Any]) -> int:
        ctx = self.ctx
        prompt_id, model_id = self.prompt.get("id"), model.get("id")
        values = {
            "prompt": prompt_id if prompt_id in ctx.live_prompt_ids else None,
            "prompt_name": self.step.name,
            "status": "running",
            "input_data": input_data,
            "output_data": None,
            "error_message": None,
            "model": model_id if model_id in ctx.live_model_ids else None,
            "started_at": utcnow(),
            "completed_at": None,
        }
        ctx.queue_result(self.step.number, values)
        return self.step.number

    def _complete(
        self, result, spec, text, stream, started, attempts, is_fallback
    ) -> PromptOutcome:
        usage = stream.usage
        tokens_in = usage.prompt_tokens if usage else None
        tokens_out = usage.completion_tokens if usage else None
        cost: Decimal | None = (
            compute_cost(spec, tokens_in or 0, tokens_out or 0) if usage else None
        )
        ms = int((time.monotonic() - started) * 1000)
        self.ctx.queue_result(
            self.step.number,
            {
                "status": "completed",
                "output_data": text,
                "completed_at": utcnow(),
                "execution_time_ms": ms,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost": cost,
                "attempts": attempts,
                "used_fallback": is_fallback,
                "model": spec.id if spec.id in self.ctx.live_model_ids else None,
            },
        )
        self.ctx.outputs[self.step.number] = text
        record_prompt(spec.model_id, "completed", tokens_in, tokens_out, cost)
        self.ctx.writer.append(
            "prompt-complete",
            {
                "step": self.step.number,
                "output": text,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost": str(cost) if cost is not None else None,
                "ms": ms,
                "model": spec.name,
                "fallback": is_fallback,
            },
        )
        log.info(
            "prompt.completed",
            extra={"execution_id": self.ctx.execution.id, "step": self.step.number, "ms": ms},
        )
        return PromptOutcome(self.step.number, self.step.name, "completed")

    def _fail(self, result, error, started, attempts) -> PromptOutcome:
        self._end(result, "failed", error, started, attempts)
        record_prompt(
            (self.prompt.get("model") or {}).get("model_id") or "none", "failed", 0, 0, None
        )
        log.info(
            "prompt.failed", extra={"execution_id": self.ctx.execution.id, "step": self.step.number}
        )
        return PromptOutcome(self.step.number, self.step.name, "failed", error)

    def _stop(self, result, started, attempts) -> PromptOutcome:
        self._end(result, "cancelled", None, started, attempts, output=self.partial or None)
        return PromptOutcome(self.step.number, self.step.name, "cancelled")

    def _end(self, result, status, error, started, attempts, output=None) -> None:
        self.ctx.queue_result(
            self.step.number,
            {
                "status": status,
                "error_message": error,
                "output_data": output,
                "completed_at": utcnow(),
                "execution_time_ms": int((time.monotonic() - started) * 1000),
                "attempts": attempts,
            },
        )
