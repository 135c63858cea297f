"""What the prompts of one execution share: inputs, outputs so far, the event writer, the queued
result rows (written behind by the flusher), the open provider streams and the stop flags."""

from __future__ import annotations

import threading
from typing import Any

from app.chain.definition import Step
from app.chain.events import EventWriter
from app.chain.providers import CompletionStream
from app.chain.settings import RunnerSettings
from app.models import AIModel, ChainPrompt, Execution, PromptResult


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
        """What an earlier attempt (or the retry's copy) left, and which snapshot rows still
        exist (FKs). A fresh run has no results yet: that read is skipped."""
        if not self.execution.is_fresh:
            self._load_results()
        self._load_live_ids(steps)

    def _load_results(self) -> None:
        rows = PromptResult.select(
            PromptResult.id, PromptResult.step, PromptResult.status, PromptResult.output_data
        ).where(PromptResult.execution == self.execution.id)
        for row in rows:
            self.existing[row.step] = (row.id, row.status)
            if row.status == "completed":
                self.outputs[row.step] = row.output_data or ""

    def _load_live_ids(self, steps: list[Step]) -> None:
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

    def has_writes(self) -> bool:
        with self._lock:
            return bool(self._writes)

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
