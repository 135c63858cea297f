"""One prompt of a run: substitute, call the model (retries, fallback, timeout), record it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.chain.context import RunContext
from app.chain.definition import Step
from app.chain.providers import (
    CompletionStream,
    ModelSpec,
    ProviderError,
    compute_cost,
    stream_completion,
)
from app.chain.variables import format_input_value, render_step
from app.db import utcnow
from app.metrics import record_prompt

log = logging.getLogger("app.runner")


class Cancelled(Exception):
    pass


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
        inputs = ctx.execution.input_data
        rendered = render_step(
            ctx.index, step, lambda name: format_input_value(inputs.get(name)), ctx.outputs.get
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
        values = {
            "prompt": self.prompt.get("id"),  # NULL when deleted since (RunContext.queue_result)
            "prompt_name": self.step.name,
            "status": "running",
            "input_data": input_data,
            "output_data": None,
            "error_message": None,
            "model": model.get("id"),
            "started_at": utcnow(),
            "completed_at": None,
        }
        self.ctx.queue_result(self.step.number, values)
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
                "model": spec.id,
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
