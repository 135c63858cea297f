"""A readable diff of two frozen versions: details, fields and prompts, side by side, with the
changed words marked. Everything is HTML-escaped here; only <del> and <ins> are added.

Fields are matched by name, prompts by id (a prompt keeps its id across versions), so a moved
prompt shows its stage changing, not a delete and an add.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

# Words, runs of whitespace, single punctuation marks: a changed word is marked alone.
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
WORD_DIFF_LIMIT = 50_000  # tokens per side; longer texts are compared line by line

FIELD_TYPES = {
    "short_text": "Short text",
    "long_text": "Long text",
    "select": "Choose one",
    "multi_select": "Choose several",
    "file_upload": "File upload",
}


@dataclass(frozen=True)
class DiffRow:
    label: str
    left: Markup
    right: Markup
    changed: bool


@dataclass
class DiffSection:
    title: str
    kind: str  # "same", "changed", "added", "removed"
    rows: list[DiffRow] = field(default_factory=list)

    @property
    def changed_rows(self) -> list[DiffRow]:
        return [row for row in self.rows if row.changed]


def _tokens(text: str) -> list[str]:
    tokens = _TOKENS.findall(text)
    if len(tokens) > WORD_DIFF_LIMIT:
        return text.splitlines(keepends=True)
    return tokens


def word_diff(old: str, new: str) -> tuple[Markup, Markup]:
    """(old with removed words in <del>, new with added words in <ins>), both escaped."""
    if old == new:
        return Markup(escape(old)), Markup(escape(new))
    a, b = _tokens(old), _tokens(new)
    left: list[str] = []
    right: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            left.append(escape(removed))
            right.append(escape(added))
            continue
        if removed:
            left.append(_mark("del", removed))
        if added:
            right.append(_mark("ins", added))
    return Markup("".join(left)), Markup("".join(right))


def _mark(tag: str, text: str) -> Markup:
    """<tag>text</tag>, escaped, with surrounding whitespace left outside the mark."""
    core = text.strip()
    if not core:
        return Markup("<{0}>{1}</{0}>").format(Markup(tag), text)
    start = text.index(core)
    lead, trail = text[:start], text[start + len(core) :]
    return Markup("{0}<{1}>{2}</{1}>{3}").format(lead, Markup(tag), core, trail)


def _text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items())
    return str(value)


def _row(label: str, old: Any, new: Any) -> DiffRow:
    a, b = _text(old), _text(new)
    left, right = word_diff(a, b)
    return DiffRow(label, left, right, a != b)


def _section(
    title: str, labels: tuple[str, ...], old: list[Any], new: list[Any], kind: str | None = None
) -> DiffSection:
    rows = [_row(label, a, b) for label, a, b in zip(labels, old, new, strict=True)]
    if kind is None:
        kind = "changed" if any(row.changed for row in rows) else "same"
    return DiffSection(title, kind, rows)


def _details(definition: Mapping[str, Any]) -> list[Any]:
    info = definition.get("assistant") or {}
    details = definition.get("details") or {}
    timeout = info.get("timeout_seconds")
    return [
        info.get("name"),
        details.get("description"),
        details.get("image_path"),
        [str(role) for role in details.get("audience") or []],
        f"{timeout} seconds" if timeout else "",
    ]


DETAIL_LABELS = ("Name", "Description", "Icon", "Who may run it", "Time limit")


def _field_values(item: Mapping[str, Any] | None) -> list[Any]:
    if item is None:
        return [None, None, None]
    kind = item.get("field_type")
    return [item.get("label"), FIELD_TYPES.get(str(kind), kind), item.get("options") or {}]


FIELD_LABELS = ("Label", "Type", "Options")


def _model(ref: Any) -> str:
    if not isinstance(ref, Mapping):
        return ""
    return str(ref.get("name") or ref.get("model_id") or "")


def _prompt_values(item: Mapping[str, Any] | None) -> list[Any]:
    if item is None:
        return [None] * len(PROMPT_LABELS)
    return [
        item.get("name"),
        f"Stage {int(item.get('position') or 0) + 1}",
        _model(item.get("model")),
        _model(item.get("fallback_model")),
        item.get("system_context"),
        item.get("content"),
        item.get("temperature"),
        item.get("max_tokens"),
        item.get("timeout_seconds"),
        item.get("input_mapping") or {},
    ]


PROMPT_LABELS = (
    "Name",
    "Runs in",
    "Model",
    "Fallback model",
    "System context",
    "Prompt",
    "Temperature",
    "Maximum output tokens",
    "Time limit (seconds)",
    "Input mapping",
)


def _kind(old: Any, new: Any) -> str | None:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    return None


def diff_versions(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[DiffSection]:
    """Sections in the order the builder shows them: details, each field, each prompt."""
    sections = [_section("Details", DETAIL_LABELS, _details(old), _details(new))]

    old_fields = {f.get("name"): f for f in old.get("fields") or []}
    new_fields = {f.get("name"): f for f in new.get("fields") or []}
    names = list(new_fields) + [n for n in old_fields if n not in new_fields]
    for name in names:
        a, b = old_fields.get(name), new_fields.get(name)
        label = (b or a or {}).get("label") or name
        title = f"Field “{label}” ({{{{{name}}}}})"
        sections.append(
            _section(title, FIELD_LABELS, _field_values(a), _field_values(b), _kind(a, b))
        )

    old_prompts = list(old.get("prompts") or [])
    new_prompts = list(new.get("prompts") or [])
    old_by_id = {p.get("id"): p for p in old_prompts}
    matched = set()
    for number, b in enumerate(new_prompts, start=1):
        a = old_by_id.get(b.get("id"))
        matched.add(b.get("id"))
        title = f"Prompt {number} “{b.get('name') or ''}”"
        sections.append(
            _section(title, PROMPT_LABELS, _prompt_values(a), _prompt_values(b), _kind(a, b))
        )
    for a in old_prompts:
        if a.get("id") not in matched:
            title = f"Prompt “{a.get('name') or ''}”"
            old_values, none = _prompt_values(a), _prompt_values(None)
            sections.append(_section(title, PROMPT_LABELS, old_values, none, "removed"))
    return sections
