"""The builder's live check of one prompt: lint the chain as it would be with an unsaved edit.

``check_prompt`` returns that prompt's findings, its text cut into marked/unmarked runs (the
problem spans), and a token estimate against the model's context window.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.chain.definition import ChainIndex
from app.chain.lint import Finding, lint

NEW_PROMPT_ID = 0  # the id an unsaved prompt carries while it is linted (row ids start at 1)
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool


@dataclass(frozen=True)
class PromptCheck:
    findings: list[Finding]
    content: list[Segment]
    system_context: list[Segment]
    tokens: int
    window: int | None

    @property
    def over_window(self) -> bool:
        return self.window is not None and self.tokens > self.window

    @property
    def has_marks(self) -> bool:
        return any(s.marked for s in (*self.content, *self.system_context))


def draft_definition(
    definition: Mapping[str, Any], prompt_id: int | None, draft: Mapping[str, Any]
) -> dict[str, Any]:
    """The definition with ``draft``'s keys applied to prompt ``prompt_id`` (None: a new prompt
    in a stage of its own after the others, carrying ``NEW_PROMPT_ID``)."""
    result: dict[str, Any] = copy.deepcopy(dict(definition))
    prompts = result.setdefault("prompts", [])
    target = next((p for p in prompts if prompt_id is not None and p.get("id") == prompt_id), None)
    if target is None:
        last = max((p.get("position", 0) for p in prompts), default=-1)
        target = {"id": NEW_PROMPT_ID, "position": last + 1, "sort_order": 0, "input_mapping": {}}
        prompts.append(target)
    target.update(draft)
    return result


def check_prompt(
    definition: Mapping[str, Any], prompt_id: int | None, draft: Mapping[str, Any]
) -> PromptCheck:
    edited = draft_definition(definition, prompt_id, draft)
    wanted = NEW_PROMPT_ID if prompt_id is None else prompt_id
    step = next(s for s in ChainIndex(edited).steps if s.id == wanted)
    findings = [f for f in lint(edited) if f.step == step.number]
    content, system = step.content, step.system_context or ""
    model = draft.get("model") or {}
    return PromptCheck(
        findings=findings,
        content=marked(content, _spans(findings, "content")),
        system_context=marked(system, _spans(findings, "system_context")),
        tokens=estimate_tokens(content + system),
        window=model.get("max_tokens") if isinstance(model, Mapping) else None,
    )


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _spans(findings: Sequence[Finding], field: str) -> list[tuple[int, int]]:
    return [
        (f.start, f.end)
        for f in findings
        if f.field == field and f.start is not None and f.end is not None and f.end > f.start
    ]


def marked(text: str, spans: Sequence[tuple[int, int]]) -> list[Segment]:
    """The text cut into runs, the ``spans`` (merged where they overlap) marked."""
    segments: list[Segment] = []
    last = 0
    for start, end in sorted(spans):
        start, end = max(start, last), min(end, len(text))
        if end <= start:
            continue
        if start > last:
            segments.append(Segment(text[last:start], False))
        segments.append(Segment(text[start:end], True))
        last = end
    if last < len(text) or not segments:
        segments.append(Segment(text[last:], False))
    return segments
