"""What the builder does to an assistant, without Flask: positions, stages, references, checks.

- Input fields keep positions 0..n-1 (``renumber_fields``, ``move_field``).
- Prompts are laid out as stages (``Layout``: a list of stages, each a list of prompt ids in
  ``sort_order``). Moves and deletes change the layout, then ``save_layout`` writes contiguous
  ``position`` (the stage, from 0) and ``sort_order`` (from 0 inside a stage) — DESIGN §8.
- ``follow_references`` rewrites, in the saved rows, the references the last change displaced
  (``app.chain.references.rewrite_references``) and returns what it changed.
- ``rename_input`` does the same for ``{{old_field}}`` → ``{{new_field}}``.
- The live check of one unsaved prompt lives in ``app.builder_check`` (re-exported here).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.chain.definition import ChainIndex, parse_mapping_value, shorten
from app.chain.references import Change, rewrite_references
from app.chain.variables import find_placeholders
from app.models import Assistant, ChainPrompt, InputField

Layout = list[list[int]]
Direction = Literal["up", "down"]


# --- input fields ----------------------------------------------------------------------------
def renumber_fields(assistant: Assistant) -> None:
    for position, field in enumerate(assistant.ordered_fields()):
        if field.position != position:
            field.position = position
            field.save(only=[InputField.position])


def move_field(assistant: Assistant, field_id: int, direction: Direction) -> bool:
    """Swap the field with its neighbour; False when it is already at that end."""
    fields = assistant.ordered_fields()
    index = next(i for i, f in enumerate(fields) if f.id == field_id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(fields):
        return False
    fields[index], fields[other] = fields[other], fields[index]
    for position, field in enumerate(fields):
        if field.position != position:
            field.position = position
            field.save(only=[InputField.position])
    return True


def field_name_taken(assistant: Assistant, name: str, except_id: int | None = None) -> bool:
    query = assistant.fields.where(InputField.name == name)
    if except_id is not None:
        query = query.where(InputField.id != except_id)
    return query.exists()


def suggest_field_name(assistant: Assistant, label: str, except_id: int | None = None) -> str:
    """A free variable name made from the label: "Your text" → your_text (then your_text_2…)."""
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:20] or "field"
    name, n = base, 1
    while field_name_taken(assistant, name, except_id):
        n += 1
        name = f"{base}_{n}"
    return name


def input_users(definition: Mapping[str, Any], name: str) -> list[str]:
    """The prompts (as messages name them) whose texts or mapping use the input ``name``."""
    return [label for label, _ in _input_edits(definition, name)]


def rename_input(
    definition: Mapping[str, Any], old: str, new: str
) -> tuple[dict[str, Any], list[str]]:
    """``{{old}}`` → ``{{new}}`` (keeping the author's syntax) in every prompt; what changed."""
    result: dict[str, Any] = copy.deepcopy(dict(definition))
    messages = []
    for label, edits in _input_edits(definition, old):
        prompt = result["prompts"][edits[0][0]]
        for _, field, key, start, end in edits:
            if field == "input_mapping":
                value = prompt["input_mapping"][key]
                prompt["input_mapping"][key] = value[:start] + new + value[end:]
        for field in ("content", "system_context"):
            spans = sorted((s, e) for _, f, _, s, e in edits if f == field)
            text = prompt.get(field) or ""
            for start, end in reversed(spans):
                text = text[:start] + new + text[end:]
            if spans:
                prompt[field] = text
        messages.append(f"In {label}: {{{{{old}}}}} → {{{{{new}}}}}")
    return result, messages


def _input_edits(
    definition: Mapping[str, Any], name: str
) -> list[tuple[str, list[tuple[int, str, str, int, int]]]]:
    """Per prompt that uses input ``name``: its label and (index, field, key, start, end) spans."""
    index = ChainIndex(definition)
    found = []
    for step in index.steps:
        spans: list[tuple[int, str, str, int, int]] = []
        for field in ("content", "system_context"):
            text = (step.content if field == "content" else step.system_context) or ""
            for placeholder in find_placeholders(text):
                if placeholder.name == name and name not in step.input_mapping:
                    start = text.index(name, placeholder.start)
                    spans.append((step.index, field, "", start, start + len(name)))
        for key, value in step.input_mapping.items():
            reference = parse_mapping_value(value)
            if reference is not None and reference.name == name:
                spans.append((step.index, "input_mapping", key, reference.start, reference.end))
        if spans:
            found.append((f"prompt {step.label}", spans))
    return found


# --- prompts: stages and positions -----------------------------------------------------------
def layout_of(prompts: Sequence[ChainPrompt]) -> Layout:
    """Stages of prompt ids from prompts in step order (gaps in positions close up)."""
    stages: dict[int, list[int]] = {}
    for prompt in prompts:
        stages.setdefault(prompt.position, []).append(prompt.id)
    return [stages[position] for position in sorted(stages)]


def _locate(stages: Layout, prompt_id: int) -> tuple[int, int]:
    for s, stage in enumerate(stages):
        if prompt_id in stage:
            return s, stage.index(prompt_id)
    raise KeyError(prompt_id)


def can_move(stages: Layout, prompt_id: int, direction: Direction) -> bool:
    s, _ = _locate(stages, prompt_id)
    if len(stages[s]) > 1:
        return True  # inside its stage, or out of it into a stage of its own
    return s > 0 if direction == "up" else s < len(stages) - 1


def moved(stages: Layout, prompt_id: int, direction: Direction) -> Layout:
    """One step up or down. Inside a shared stage it swaps with its neighbour; at the stage's
    edge it leaves the stage into one of its own on that side; alone, its stage swaps with the
    next stage in that direction."""
    result = [list(stage) for stage in stages]
    s, i = _locate(result, prompt_id)
    step = -1 if direction == "up" else 1
    stage = result[s]
    if len(stage) > 1:
        j = i + step
        if 0 <= j < len(stage):
            stage[i], stage[j] = stage[j], stage[i]
        else:
            stage.remove(prompt_id)
            result.insert(s if direction == "up" else s + 1, [prompt_id])
    elif 0 <= s + step < len(result):
        result[s], result[s + step] = result[s + step], result[s]
    return result


def can_join_previous(stages: Layout, prompt_id: int) -> bool:
    s, i = _locate(stages, prompt_id)
    return s > 0 and i == 0


def joined_previous(stages: Layout, prompt_id: int) -> Layout:
    """The prompt runs alongside the previous stage (it keeps its place in step order)."""
    result = [list(stage) for stage in stages]
    s, _ = _locate(result, prompt_id)
    result[s].remove(prompt_id)
    result[s - 1].append(prompt_id)
    return [stage for stage in result if stage]


def separated(stages: Layout, prompt_id: int) -> Layout:
    """The prompt leaves its shared stage for a stage of its own, just after it."""
    result = [list(stage) for stage in stages]
    s, _ = _locate(result, prompt_id)
    result[s].remove(prompt_id)
    result.insert(s + 1, [prompt_id])
    return result


def without(stages: Layout, prompt_id: int) -> Layout:
    return [[p for p in stage if p != prompt_id] for stage in stages if stage != [prompt_id]]


def save_layout(assistant: Assistant, stages: Layout) -> None:
    """Write contiguous positions and sort orders; rows already right are not touched."""
    rows = {prompt.id: prompt for prompt in assistant.ordered_prompts()}
    for position, stage in enumerate(stages):
        for sort_order, prompt_id in enumerate(stage):
            row = rows[prompt_id]
            if (row.position, row.sort_order) != (position, sort_order):
                row.position, row.sort_order = position, sort_order
                row.save(only=[ChainPrompt.position, ChainPrompt.sort_order])


# --- references ------------------------------------------------------------------------------
def write_texts(assistant: Assistant, definition: Mapping[str, Any]) -> None:
    """Save prompts' content, system context and input mapping from ``definition`` (by id)."""
    rows = {prompt.id: prompt for prompt in assistant.ordered_prompts()}
    for prompt in definition.get("prompts") or []:
        row = rows.get(prompt.get("id"))
        if row is None:
            continue
        changed = []
        for column in ("content", "system_context", "input_mapping"):
            if getattr(row, column) != prompt.get(column) and prompt.get(column) is not None:
                setattr(row, column, prompt[column])
                changed.append(getattr(ChainPrompt, column))
        if changed:
            row.save(only=changed)


def follow_references(assistant: Assistant, before: Mapping[str, Any]) -> list[Change]:
    """Make references displaced since ``before`` (a definition) name the same prompts again."""
    rewritten, changes = rewrite_references(before, assistant.definition())
    write_texts(assistant, rewritten)
    return changes


def rename_input_in_prompts(assistant: Assistant, old: str, new: str) -> list[str]:
    rewritten, messages = rename_input(assistant.definition(), old, new)
    write_texts(assistant, rewritten)
    return messages


def describe_prompt(prompt: ChainPrompt) -> str:
    return f"“{shorten(prompt.name)}”" if prompt.name.strip() else f"#{prompt.id}"


# --- the variable palette --------------------------------------------------------------------
@dataclass(frozen=True)
class PaletteEntry:
    variable: str  # as written in a prompt, e.g. {{analyze}}
    description: str


def palette(
    definition: Mapping[str, Any], prompt_id: int | None
) -> tuple[list[PaletteEntry], list[PaletteEntry]]:
    """The inputs, and every prompt that runs before ``prompt_id`` (None: a new last prompt)."""
    index = ChainIndex(definition)
    inputs = [
        PaletteEntry(f"{{{{{name}}}}}", str(field.get("label") or name))
        for name, field in index.fields.items()
    ]
    current = next((s for s in index.steps if prompt_id and s.id == prompt_id), None)
    earlier = [s for s in index.steps if current is None or s.position < current.position]
    prompts = []
    for step in earlier:
        shown = f"output of prompt {step.number}" + (f", {step.label}" if step.name.strip() else "")
        if step.slug not in index.fields and len(index.by_slug[step.slug]) == 1:
            prompts.append(PaletteEntry(f"{{{{{step.slug}}}}}", shown))
        prompts.append(PaletteEntry(f"{{{{prompt_{step.number}_output}}}}", shown))
    return inputs, prompts
