"""Who refers to a prompt, and keeping references right when prompts are renamed, moved or deleted.

- ``references_to(definition, prompt_id) -> list[Reference]``: every place another prompt refers to
  the prompt with that id (by slug, by ``prompt_N_output``, or through an input_mapping value),
  including references that are already invalid (e.g. same-stage): all of them break on delete.
- ``rewrite_references(old, new) -> (new_copy, list[Change])``: prompts are matched by ``id``. Each
  reference in ``new``'s texts and mapping values that validly named prompt X in ``old`` is made
  to name X in ``new``, keeping its form (slug stays slug, ``prompt_N_output`` gets the new N,
  ``{{}}`` vs ``${}`` and inner spacing kept). References to a deleted prompt are left as they are
  and reported as ``Change(kind="broken")``. References that were wrong in ``old`` (unknown, same
  or later stage, ambiguous slug) are not touched. Neither argument is mutated.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from app.chain.definition import PROMPT_OUTPUT, ChainIndex, Step, parse_mapping_value, shorten
from app.chain.variables import find_placeholders

RefField = Literal["content", "system_context", "input_mapping"]


@dataclass(frozen=True)
class Reference:
    step: int  # the referring prompt
    prompt_name: str
    field: RefField
    name_used: str
    start: int  # the placeholder's span in the text, or the name's span in the mapping value
    end: int
    mapping_key: str | None = None


@dataclass(frozen=True)
class Change:
    step: int  # the referring prompt, numbered as in the new definition
    prompt_name: str
    field: RefField
    kind: Literal["rewritten", "broken"]
    before: str  # the placeholder (or mapping value) as it was
    after: str | None  # as it is now; None when broken
    message: str
    mapping_key: str | None = None
    count: int = 1  # identical changes in one field are reported once


@dataclass(frozen=True)
class _Found:
    """One reference to a prompt inside a step: where the name sits and what it names."""

    field: RefField
    name: str
    name_start: int
    name_end: int
    start: int
    end: int
    target: Step
    mapping_key: str | None


def references_to(definition: Mapping[str, Any], prompt_id: int | None) -> list[Reference]:
    if prompt_id is None:
        return []
    index = ChainIndex(definition)
    return [
        Reference(step.number, step.name, f.field, f.name, f.start, f.end, f.mapping_key)
        for step in index.steps
        if step.id != prompt_id
        for f in _prompt_references(step, index)
        if f.target.id == prompt_id
    ]


def rewrite_references(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Change]]:
    old_index, new_index = ChainIndex(old), ChainIndex(new)
    old_by_id = {s.id: s for s in old_index.steps if s.id is not None}
    new_by_id = {s.id: s for s in new_index.steps if s.id is not None}
    result: dict[str, Any] = copy.deepcopy(dict(new))
    changes: dict[tuple[Any, ...], Change] = {}
    for step in new_index.steps:
        old_step = old_by_id.get(step.id) if step.id is not None else None
        if old_step is None or not step.well_formed:
            continue  # a new prompt's references are written against the new definition
        prompt = result["prompts"][step.index]
        text_edits: dict[RefField, list[tuple[int, int, str]]] = {}
        for found in _prompt_references(step, old_index, old_step):
            followed = _follow(found.name, old_index, old_step, new_by_id)
            change = _describe(step, found, *followed) if followed else None
            if change is None:
                continue
            if change.after is not None and found.mapping_key is not None:
                prompt["input_mapping"][found.mapping_key] = change.after
            elif change.after is not None:
                text_edits.setdefault(found.field, []).append(
                    (found.start, found.end, change.after)
                )
            key = (step.number, found.field, found.mapping_key, change.before, change.after)
            if key in changes:
                change = replace(changes[key], count=changes[key].count + 1)
            changes[key] = change
        for field, edits in text_edits.items():
            prompt[field] = _splice(_source(step, field, None), edits)
    return result, list(changes.values())


def _prompt_references(
    step: Step, index: ChainIndex, context: Step | None = None
) -> Iterator[_Found]:
    """References in ``step``'s texts, then mapping, that name a prompt (valid or not).

    Names are looked up in ``index`` as seen by ``context`` (default: ``step`` itself); rewriting
    reads the new texts with the old definition's meaning.
    """
    context = context or step
    fields: tuple[RefField, ...] = ("content", "system_context")
    for field in fields:
        text = _source(step, field, None)
        for placeholder in find_placeholders(text):
            if placeholder.name in step.input_mapping:
                continue  # the mapping value is the reference
            target = _target(index, context, placeholder.name)
            if target is not None:
                # The name follows "{{" or "${" and spaces, none of which can be part of a name.
                name_start = text.index(placeholder.name, placeholder.start)
                name_end = name_start + len(placeholder.name)
                span = (name_start, name_end, placeholder.start, placeholder.end)
                yield _Found(field, placeholder.name, *span, target, None)
    for key, value in step.input_mapping.items():
        reference = parse_mapping_value(value)
        if reference is not None and (target := _target(index, context, reference.name)):
            span = (reference.start, reference.end, reference.start, reference.end)
            yield _Found("input_mapping", reference.name, *span, target, key)


def _source(step: Step, field: RefField, mapping_key: str | None) -> str:
    if field == "input_mapping":
        return str(step.input_mapping[mapping_key or ""])
    return step.content if field == "content" else step.system_context or ""


def _target(index: ChainIndex, step: Step, name: str) -> Step | None:
    return index.resolve(name, step, use_mapping=False).target


def _follow(
    name: str, old_index: ChainIndex, old_step: Step, new_by_id: Mapping[int, Step]
) -> tuple[Step, Step | None] | None:
    """(X in old, X in new or None if deleted) when ``name`` validly named prompt X in old."""
    resolution = old_index.resolve(name, old_step, use_mapping=False)
    target = resolution.target
    if resolution.problem is not None or target is None or target.id is None:
        return None
    if not PROMPT_OUTPUT.fullmatch(name) and len(old_index.by_slug.get(name, ())) > 1:
        return None  # an ambiguous slug was already an error
    return target, new_by_id.get(target.id)


def _describe(
    step: Step, found: _Found, old_target: Step, new_target: Step | None
) -> Change | None:
    """The change ``found`` needs: its new spelling, or a report that its prompt was deleted."""
    where = f"In {step.label}"
    if found.field == "system_context":
        where += " (system context)"
    elif found.field == "input_mapping":
        where += f" (input mapping for {{{{{shorten(found.mapping_key or '', 40)}}}}})"
    source = _source(step, found.field, found.mapping_key)
    # A mapping change shows the whole value; a text change shows the placeholder.
    span_start, span_end = (0, len(source)) if found.mapping_key else (found.start, found.end)
    before = source[span_start:span_end]
    if new_target is None:
        message = f"{where}: {shorten(before)} refers to prompt {old_target.label}, which was "
        message += "deleted. Fix or remove it."
        return Change(
            step.number, step.name, found.field, "broken", before, None, message, found.mapping_key
        )
    if PROMPT_OUTPUT.fullmatch(found.name):
        new_name = f"prompt_{new_target.number}_output"
    else:
        new_name = new_target.slug
    if new_name == found.name:
        return None
    after = (
        before[: found.name_start - span_start] + new_name + before[found.name_end - span_start :]
    )
    message = f"{where}: {shorten(before)} → {shorten(after)}"
    return Change(
        step.number, step.name, found.field, "rewritten", before, after, message, found.mapping_key
    )


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace non-overlapping spans of ``text`` in one pass."""
    parts: list[str] = []
    last = 0
    for start, end, replacement in sorted(edits):
        parts += (text[last:start], replacement)
        last = end
    parts.append(text[last:])
    return "".join(parts)
