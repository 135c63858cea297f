"""Fold a run's events into what the run page shows: a reload renders what was streamed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepView:
    step: int
    name: str
    position: int
    model: str | None = None
    status: str | None = None  # None = not run yet
    output: str = ""
    attempt: int = 0
    fallback: bool = False
    error: str | None = None
    retrying: bool = False
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: str | None = None
    ms: int | None = None


@dataclass
class ChatAnswerView:
    """A follow-up answer as its events tell it (the text so far while it streams)."""

    text: str = ""
    attempt: int = 0
    model: str | None = None
    note: str | None = None
    status: str = "running"
    error: str | None = None


@dataclass
class RunView:
    status: str
    steps: dict[int, StepView] = field(default_factory=dict)
    error: str | None = None
    error_step: int | None = None
    last_seq: int = 0
    totals: dict[str, Any] = field(default_factory=dict)
    chat: dict[int, ChatAnswerView] = field(default_factory=dict)  # message id → answer

    @classmethod
    def from_definition(cls, definition: dict[str, Any], status: str) -> RunView:
        from app.chain.definition import ChainIndex

        view = cls(status=status)
        for step in ChainIndex(definition).steps:
            model = step.prompt.get("model") or {}
            view.steps[step.number] = StepView(
                step.number, step.name, step.position, model.get("name")
            )
        return view

    def stages(self) -> list[list[StepView]]:
        grouped: dict[int, list[StepView]] = {}
        for step in sorted(self.steps.values(), key=lambda s: s.step):
            grouped.setdefault(step.position, []).append(step)
        return [grouped[p] for p in sorted(grouped)]

    def apply(self, kind: str, data: dict[str, Any], seq: int) -> StepView | None:
        """Apply one event; returns the step it changed, if any."""
        self.last_seq = max(self.last_seq, seq)
        number = data.get("step")
        step = self.steps.get(number) if isinstance(number, int) else None
        if kind.startswith("chat-"):
            self._apply_chat(kind, data)
            return None
        if kind == "execution-start":
            self.status = "running"
        elif kind == "prompt-start" and step is not None:
            step.status, step.output, step.error, step.retrying = "running", "", None, False
            step.attempt = data.get("attempt", 1)
            step.fallback = bool(data.get("fallback"))
            step.model = data.get("model") or step.model
        elif kind == "prompt-delta" and step is not None:
            step.output += data.get("text", "")
        elif kind == "prompt-complete" and step is not None:
            step.status, step.output = "completed", data.get("output", step.output)
            for key in ("tokens_in", "tokens_out", "cost", "ms"):
                setattr(step, key, data.get(key))
            step.fallback = bool(data.get("fallback"))
        elif kind == "prompt-error" and step is not None:
            step.error, step.retrying = data.get("error"), bool(data.get("retrying"))
            if not step.retrying:
                step.status = "failed"
        elif kind in ("execution-complete", "execution-error", "execution-cancelled"):
            self.status = {"execution-complete": "completed", "execution-error": "failed"}.get(
                kind, "cancelled"
            )
            self.totals = {k: data.get(k) for k in ("tokens_in", "tokens_out", "cost")}
            if kind == "execution-error":
                self.error, self.error_step = data.get("error"), data.get("step")
            for other in self.steps.values():
                if other.status == "running":
                    other.status = "cancelled" if kind == "execution-cancelled" else "failed"
        return step

    def _apply_chat(self, kind: str, data: dict[str, Any]) -> None:
        message_id = data.get("message_id")
        if not isinstance(message_id, int):
            return
        answer = self.chat.setdefault(message_id, ChatAnswerView())
        if kind == "chat-delta":
            if "attempt" in data or data.get("reset"):  # a (re)start: what was shown is replaced
                answer.text, answer.status = data.get("text", ""), "running"
                answer.attempt = data.get("attempt", answer.attempt)
                answer.model = data.get("model") or answer.model
                answer.note = data.get("note", answer.note)
            else:
                answer.text += data.get("text", "")
        else:
            answer.status, answer.error = data.get("status", "completed"), data.get("error")
            answer.note = data.get("note", answer.note)
