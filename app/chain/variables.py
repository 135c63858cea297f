"""Placeholders in prompt text and their substitution (DESIGN §3).

Syntax: ``{{name}}`` and ``${name}``, mixed freely; whitespace inside the braces is allowed
(``{{ name }}``). Names use letters (any script), digits, ``_`` and ``-``.

- ``iter_template(text)`` yields ``Placeholder(name, start, end, syntax)`` and ``TemplateProblem``
  (broken braces: ``{{x}``, ``{{ }}``, ``{{a b}}``, ``{{{x}}}``, ``${x``, a ``}}`` that closes
  nothing) in one linear pass. A ``}}`` closing single braces opened before it (JSON such as
  ``{"a": {"b": 1}}``) is ordinary text. ``scan_template(text)`` collects both lists;
  ``find_placeholders(text) -> list[Placeholder]`` only the placeholders.
- ``substitute(text, resolve) -> (text, unresolved_names)``: single pass; text inserted from a value
  is never scanned again; names ``resolve`` returns None for are left verbatim and reported.
- ``render_prompt(definition, step, inputs, outputs) -> RenderedPrompt(content, system_context,
  variables, unresolved)``: ``step`` is 1-based; ``inputs`` maps field names to str, list[str]
  (joined with ", ") or None (→ ""); ``outputs`` maps earlier step numbers to their output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from app.chain.definition import ChainIndex, Step, shorten

Syntax = Literal["braces", "dollar"]
Source = Literal["input", "mapping", "prompt"]

# "${" directly followed by "{" is a dollar sign before a {{placeholder}} ("costs ${{price}}").
_OPEN_RUN = re.compile(r"\{++")
# Possessive quantifiers: a failed match never backtracks, so scanning stays linear.
_BRACES = re.compile(r"\{\{\s*+([\w-]++)\s*+\}\}")
_DOLLAR = re.compile(r"\$\{\s*+([\w-]++)\s*+\}")
_BODY = re.compile(r"[^{}]{0,100}")  # bounded: a lone "{{" never makes us read far ahead
_CLOSE_RUN = re.compile(r"\}++")
_NAME_TAIL = re.compile(r"[ \t]*+[\w-]*+")
_VALID_NAME = re.compile(r"[\w-]++")
_ONE_BRACE = re.compile(r"\{[ \t]*+[\w-]++[ \t]*+\Z")


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    start: int
    end: int
    syntax: Syntax

    def shown(self) -> str:
        """The placeholder as messages show it, in the author's syntax."""
        return _wrap(self.name, self.syntax)


@dataclass(frozen=True)
class TemplateProblem:
    kind: Literal["unbalanced_braces", "malformed_placeholder"]
    start: int
    end: int
    explanation: str  # plain language, quotes the offending text


@dataclass(frozen=True)
class TemplateScan:
    placeholders: list[Placeholder]
    problems: list[TemplateProblem]


def scan_template(text: str) -> TemplateScan:
    items = list(iter_template(text))
    placeholders = [item for item in items if isinstance(item, Placeholder)]
    return TemplateScan(placeholders, [item for item in items if isinstance(item, TemplateProblem)])


def find_placeholders(text: str) -> list[Placeholder]:
    return [item for item in iter_template(text) if isinstance(item, Placeholder)]


def iter_template(text: str) -> Iterator[Placeholder | TemplateProblem]:
    """Placeholders and problems in text order, lazily (substitution keeps none of them alive)."""
    depth = 0  # single "{" still open before here, so a JSON "}}" is not taken as a stray close
    pos = 0
    tokens = _TokenFinder(text)
    while (start := tokens.next_start(pos)) is not None:
        depth = max(0, depth + text.count("{", pos, start) - text.count("}", pos, start))
        if text[start] == "}":
            end = _end_of(_CLOSE_RUN, text, start)
            if depth >= end - start:
                depth -= end - start
            else:
                depth = 0
                yield _stray_close(text, pos, start, end)
            pos = end
            continue
        syntax: Syntax = "dollar" if text[start] == "$" else "braces"
        found = (_DOLLAR if syntax == "dollar" else _BRACES).match(text, start)
        if found:
            yield Placeholder(found.group(1), start, found.end(), syntax)
            pos = found.end()
        else:
            open_len = 2 if syntax == "dollar" else _end_of(_OPEN_RUN, text, start) - start
            problem, pos = _bad_open(text, start, open_len, syntax)
            yield problem


class _TokenFinder:
    """Finds the next "{{", "${" or "}}" with str.find, several times faster than a regex search.

    Each marker's next position is cached and only searched again once passed, so a whole scan
    reads the text a bounded number of times.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.next_at = {"{{": -1, "${": -1, "}}": -1}

    def next_start(self, pos: int) -> int | None:
        best = len(self.text)
        for marker, at in self.next_at.items():
            if at < pos:
                at = self.next_at[marker] = self._find(marker, pos)
            best = min(best, at)
        return best if best < len(self.text) else None

    def _find(self, marker: str, pos: int) -> int:
        at = self.text.find(marker, pos)
        while marker == "${" and at != -1 and self.text.startswith("{", at + 2):
            at = self.text.find(marker, at + 1)  # "${{name}}": a dollar sign, then a placeholder
        return len(self.text) if at == -1 else at


def substitute(text: str, resolve: Callable[[str], str | None]) -> tuple[str, list[str]]:
    parts: list[str] = []
    unresolved: dict[str, None] = {}  # an ordered set: first use first
    last = 0
    for placeholder in iter_template(text):
        if not isinstance(placeholder, Placeholder):
            continue
        value = resolve(placeholder.name)
        if value is None:
            unresolved[placeholder.name] = None
            continue
        parts += (text[last : placeholder.start], value)
        last = placeholder.end
    if not parts:
        return text, list(unresolved)
    parts.append(text[last:])
    return "".join(parts), list(unresolved)


@dataclass(frozen=True)
class VariableUse:
    name: str  # as written in the prompt
    source: Source
    value_chars: int
    step: int | None  # the prompt whose output was used, if any
    mapped_to: str | None = None  # the input_mapping target, when source == "mapping"


@dataclass(frozen=True)
class RenderedPrompt:
    content: str
    system_context: str | None
    variables: list[VariableUse]
    unresolved: list[str]


def format_input_value(value: object) -> str:
    """A form value as text: multi-select lists join with ", "; a missing value is ""."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(format_input_value(item) for item in value if item is not None)
    return value if isinstance(value, str) else str(value)


def render_prompt(
    definition: Mapping[str, Any],
    step: int,
    inputs: Mapping[str, str | list[str] | None],
    outputs: Mapping[int, str],
) -> RenderedPrompt:
    """Substitute the prompt at ``step`` (1-based); ValueError for a step that is not there."""
    index = ChainIndex(definition)
    target = index.step(step)
    if target is None:
        raise ValueError(f"There is no prompt {step} in this definition.")
    return render_step(
        index, target, lambda name: format_input_value(inputs.get(name)), outputs.get
    )


def render_step(
    index: ChainIndex,
    step: Step,
    input_value: Callable[[str], str | None],
    output_value: Callable[[int], str | None],
) -> RenderedPrompt:
    """Render one step with caller-supplied values (the runner's outputs, or preview's labels)."""
    uses: dict[str, VariableUse] = {}

    def resolve(name: str) -> str | None:
        resolution = index.resolve(name, step)
        if resolution.problem is not None:
            return None
        if resolution.field is not None:
            value = input_value(resolution.field)
        else:
            assert resolution.target is not None  # a prompt reference without problem has one
            value = output_value(resolution.target.number)
        if value is None:
            return None
        if name not in uses:
            target = resolution.target.number if resolution.target else None
            source: Source = "input" if target is None else "prompt"
            if resolution.mapped_to is not None:
                source = "mapping"
            uses[name] = VariableUse(name, source, len(value), target, resolution.mapped_to)
        return value

    content, unresolved = substitute(step.content, resolve)
    system_context = step.system_context
    if system_context is not None:
        system_context, more = substitute(system_context, resolve)
        unresolved = list(dict.fromkeys(unresolved + more))
    return RenderedPrompt(content, system_context, list(uses.values()), unresolved)


def _quote(snippet: str) -> str:
    return f"“{shorten(snippet, 40)}”"


def _wrap(name: str, syntax: Syntax) -> str:
    name = shorten(name, 40)
    return f"${{{name}}}" if syntax == "dollar" else f"{{{{{name}}}}}"


def _end_of(pattern: re.Pattern[str], text: str, pos: int) -> int:
    found = pattern.match(text, pos)
    return found.end() if found else pos


def _bad_open(text: str, start: int, open_len: int, syntax: Syntax) -> tuple[TemplateProblem, int]:
    """Explain an opening that is not a placeholder; return the problem and where to go on."""
    body_end = _end_of(_BODY, text, start + open_len)
    if body_end < len(text) and text[body_end] == "}":
        close_len = _end_of(_CLOSE_RUN, text, body_end) - body_end
        name = text[start + open_len : body_end].strip()
        if syntax == "braces" and close_len == 1:
            end = body_end + 1
            why = f"{_quote(text[start:end])} is missing a closing brace"
            if _VALID_NAME.fullmatch(name):
                why += f" — write {_wrap(name, syntax)}"
            return TemplateProblem("unbalanced_braces", start, end, why), end
        end = body_end + min(close_len, 1 if syntax == "dollar" else open_len)
        shown = _quote(text[start:end])
        if not name:
            why = f"{shown} has no variable name inside"
        elif _VALID_NAME.fullmatch(name):  # only reachable with three or more "{"
            why = f"{shown} has too many braces — write {_wrap(name, syntax)}"
        else:
            why = f"{shown} is not a valid placeholder: names use only letters, digits, _ and -"
        return TemplateProblem("malformed_placeholder", start, end, why), end
    end = _end_of(_NAME_TAIL, text, start + open_len)
    name = text[start + open_len : end].strip()
    why = f"{_quote(text[start:end])} is never closed"
    if name:
        why += f" — write {_wrap(name, syntax)}"
    return TemplateProblem("unbalanced_braces", start, end, why), end


def _stray_close(text: str, after: int, start: int, end: int) -> TemplateProblem:
    one_brace = _ONE_BRACE.search(text, max(after, start - 64), start)
    if one_brace:
        name = text[one_brace.start() + 1 : start].strip()
        why = f"{_quote(text[one_brace.start() : end])} has only one opening brace"
        why += f" — write {_wrap(name, 'braces')}"
        return TemplateProblem("malformed_placeholder", one_brace.start(), end, why)
    why = f"{_quote(text[start:end])} closes nothing — is an opening {{{{ missing?"
    return TemplateProblem("unbalanced_braces", start, end, why)
