"""The shape of an assistant definition, step order, slugs, and what a variable name refers to.

A definition is a plain JSON-able dict (it is also the snapshot stored with each run); the
TypedDicts below document it. Every function here accepts any ``Mapping`` and tolerates missing or
mistyped keys, because lint must never raise on what an author or an import produced.

- ``step_order(prompts)``: prompts sorted by (position, sort_order, list index). Step numbers N
  count from 1 in that order: ``{{prompt_1_output}}`` is the first prompt's output.
- ``slugify(name, n)``: the name by which later prompts may refer to a prompt (DESIGN §8).
- ``ChainIndex(definition)``: steps, slugs and fields, and ``resolve(name, step)`` which says what a
  placeholder means for the prompt at ``step`` (input_mapping → input field → earlier prompt's slug
  → ``prompt_N_output``), and whether that is allowed (only lower positions are "earlier").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypedDict, TypeVar

MAX_CONTENT_CHARS = 10_000_000
MAX_PLACEHOLDERS = 50
MAX_PROMPTS = 20

FieldType = Literal["short_text", "long_text", "select", "multi_select", "file_upload"]


class ModelRef(TypedDict):
    id: int
    name: str
    model_id: str
    provider: str
    is_active: bool
    max_tokens: int | None


class AssistantInfo(TypedDict):
    id: int | None
    name: str
    version: int
    timeout_seconds: int | None
    is_parallel: bool


class FieldDef(TypedDict):
    name: str
    label: str
    field_type: FieldType
    position: int
    options: dict[str, Any]


class PromptDef(TypedDict):
    id: int | None
    name: str
    content: str
    system_context: str | None
    position: int  # the stage, from 0; prompts sharing a position run in parallel
    sort_order: int  # stable order inside a stage
    input_mapping: dict[str, str]
    model: ModelRef | None
    fallback_model: ModelRef | None
    timeout_seconds: int | None
    temperature: float | None
    max_tokens: int | None
    parallel_group: int | None


class Definition(TypedDict):
    assistant: AssistantInfo
    fields: list[FieldDef]
    prompts: list[PromptDef]


# prompt_N_output; the digit cap keeps int() cheap and within Python's int-string limit.
PROMPT_OUTPUT = re.compile(r"prompt_([0-9]{1,6})_output")
# An input_mapping value: a variable written bare, as {{name}} or as ${name}.
_MAPPING_REFERENCE = re.compile(
    r"\s*+(?:\{\{\s*+([\w-]++)\s*+\}\}|\$\{\s*+([\w-]++)\s*+\}|([\w-]++))\s*+"
)
_DASHES = re.compile(r"-{2,}")
# Everything str.splitlines() breaks on, so a quoted snippet never splits an error message.
_LINE_BREAKS = str.maketrans(dict.fromkeys("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029", " "))

_P = TypeVar("_P")


def get(obj: object, key: str) -> Any:
    """``obj[key]`` when obj is a mapping that has the key, else None (never an attribute)."""
    return obj.get(key) if isinstance(obj, Mapping) else None


def as_int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def as_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def step_order(prompts: Sequence[_P]) -> list[_P]:
    """The prompts sorted by (position, sort_order, original index): the builder's order."""
    ranked = sorted(enumerate(prompts), key=lambda item: (*_rank(item[1]), item[0]))
    return [prompt for _, prompt in ranked]


def slugify(name: str, n: int) -> str:
    """Lowercase; each run of non-alphanumerics (Unicode-aware) → "-", trimmed; "" → prompt-<n>."""
    chars = []
    for ch in unicodedata.normalize("NFC", as_text(name)):
        # Keep only alphanumerics of the lowered char: "İ".lower() adds a combining dot.
        chars.append("".join(c for c in ch.lower() if c.isalnum()) if ch.isalnum() else "-")
    slug = _DASHES.sub("-", "".join(chars)).strip("-")
    return slug or f"prompt-{n}"


@dataclass(frozen=True)
class MappingReference:
    """The variable an input_mapping value names; start/end is the name's span in the value."""

    name: str
    start: int
    end: int


def parse_mapping_value(value: object) -> MappingReference | None:
    if not isinstance(value, str):
        return None
    match = _MAPPING_REFERENCE.fullmatch(value)
    if match is None:
        return None
    group = next(g for g in (1, 2, 3) if match.group(g) is not None)
    return MappingReference(match.group(group), match.start(group), match.end(group))


@dataclass(frozen=True, eq=False)
class Step:
    """One prompt of the chain, with its step number and the facts resolution needs."""

    number: int  # 1-based, in step order
    index: int  # index in the definition's prompts list
    id: int | None
    name: str
    slug: str
    position: int
    content: str
    system_context: str | None
    input_mapping: Mapping[str, Any]
    prompt: Mapping[str, Any]
    well_formed: bool  # False when the list item was not a mapping at all

    @property
    def label(self) -> str:
        """How messages name the prompt: “Summarize”, or its number when it has no name."""
        return f"“{shorten(self.name)}”" if self.name.strip() else f"{self.number}"

    @property
    def stage(self) -> int:
        """The stage as people count it (position 0 is stage 1)."""
        return self.position + 1


Problem = Literal["unknown", "no_such_prompt", "self", "forward", "bad_mapping"]


@dataclass(frozen=True)
class Resolution:
    """What a variable name means for one prompt. ``problem`` is None when it may be used."""

    name: str
    source: Literal["input", "prompt"] | None = None
    field: str | None = None  # the input field, when source == "input"
    target: Step | None = None  # the prompt referred to (also set for forward references)
    mapped_to: str | None = None  # the mapping's target name, when input_mapping was used
    problem: Problem | None = None


class ChainIndex:
    """Steps, slugs and input fields of a definition, built once and queried many times."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        raw_prompts = get(definition, "prompts")
        prompts = raw_prompts if isinstance(raw_prompts, list | tuple) else []
        ranked = sorted(enumerate(prompts), key=lambda item: (*_rank(item[1]), item[0]))
        self.steps: list[Step] = [_make_step(n, i, p) for n, (i, p) in enumerate(ranked, start=1)]
        self.by_slug: dict[str, list[Step]] = {}
        for step in self.steps:
            self.by_slug.setdefault(step.slug, []).append(step)
        raw_fields = get(definition, "fields")
        self.fields: dict[str, Mapping[str, Any]] = {}
        for item in raw_fields if isinstance(raw_fields, list | tuple) else []:
            name = get(item, "name")
            if isinstance(name, str):
                self.fields.setdefault(name, item)

    def step(self, number: int) -> Step | None:
        return self.steps[number - 1] if 1 <= number <= len(self.steps) else None

    def prompt_named(self, name: str, for_step: Step) -> Step | None:
        """The prompt a slug or prompt_N_output names, ignoring whether it is earlier."""
        match = PROMPT_OUTPUT.fullmatch(name)
        if match:
            return self.step(int(match.group(1)))
        candidates = self.by_slug.get(name)
        if not candidates:
            return None
        earlier = [s for s in candidates if s.position < for_step.position]
        return (earlier or candidates)[0]

    def resolve(self, name: str, step: Step, *, use_mapping: bool = True) -> Resolution:
        if use_mapping and name in step.input_mapping:
            reference = parse_mapping_value(step.input_mapping[name])
            if reference is None:
                return Resolution(name, problem="bad_mapping")
            inner = self.resolve(reference.name, step, use_mapping=False)  # one level only
            return replace(inner, name=name, mapped_to=reference.name)
        if name in self.fields:
            return Resolution(name, source="input", field=name)
        target = self.prompt_named(name, step)
        if target is None:
            missing: Problem = "no_such_prompt" if PROMPT_OUTPUT.fullmatch(name) else "unknown"
            return Resolution(name, problem=missing)
        problem: Problem | None = None
        if target is step:
            problem = "self"
        elif target.position >= step.position:
            problem = "forward"
        return Resolution(name, source="prompt", target=target, problem=problem)


def shorten(text: str, limit: int = 60) -> str:
    """User text as messages quote it: on one line, and short (a name may be 10 MB long)."""
    short = one_line(text[: limit + 1])
    return short if len(short) <= limit else short[: limit - 1] + "…"


def one_line(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def _rank(prompt: object) -> tuple[int, int]:
    return as_int(get(prompt, "position")), as_int(get(prompt, "sort_order"))


def _make_step(number: int, index: int, prompt: object) -> Step:
    fields: Mapping[str, Any] = prompt if isinstance(prompt, Mapping) else {}
    mapping = fields.get("input_mapping")
    system_context = fields.get("system_context")
    name = as_text(fields.get("name"))
    prompt_id = fields.get("id")
    return Step(
        number=number,
        index=index,
        id=prompt_id if isinstance(prompt_id, int) and not isinstance(prompt_id, bool) else None,
        name=name,
        slug=slugify(name, number),
        position=as_int(fields.get("position")),
        content=as_text(fields.get("content")),
        system_context=system_context if isinstance(system_context, str) else None,
        input_mapping={k: v for k, v in mapping.items() if isinstance(k, str)}
        if isinstance(mapping, Mapping)
        else {},
        prompt=fields,
        well_formed=isinstance(prompt, Mapping),
    )
