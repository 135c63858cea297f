"""Check a definition before it runs, and live in the builder while the author types.

``lint(definition) -> list[Finding]`` never raises, whatever it is given. Errors block a run (the
runner fails it with ``format_findings(findings)`` as the error message) and block submission;
warnings do not. Each finding names the prompt (``step`` is its 1-based step number) and, when it
is about text, the ``field`` and the ``start``/``end`` span to underline.

Error kinds: invalid_definition, invalid_prompt, no_prompts, too_many_prompts, empty_content,
content_too_long, unbalanced_braces, malformed_placeholder, too_many_placeholders,
unknown_variable, forward_reference (same or later stage, or the prompt's own output),
invalid_mapping, unknown_mapping_target, duplicate_slug, model_missing, model_inactive.
Warning kinds: fallback_model_inactive, fallback_same_as_model, unused_mapping, unused_field,
slug_shadowed (a field has the prompt's slug, so the slug means the field).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from app.chain.definition import (
    MAX_CONTENT_CHARS,
    MAX_PLACEHOLDERS,
    MAX_PROMPTS,
    PROMPT_OUTPUT,
    ChainIndex,
    Resolution,
    Step,
    get,
    one_line,
    shorten,
    slugify,
)
from app.chain.variables import TemplateProblem, iter_template

Severity = Literal["error", "warning"]
TextField = Literal["content", "system_context"]
MAX_PROBLEMS_PER_TEXT = 20  # enough to fix; a pasted blob must not produce thousands


@dataclass(frozen=True)
class Finding:
    step: int | None
    prompt_name: str | None
    kind: str
    severity: Severity
    message: str
    field: TextField | None = None
    start: int | None = None
    end: int | None = None
    mapping_key: str | None = None  # set for findings about one input_mapping entry


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(finding.severity == "error" for finding in findings)


def format_findings(findings: Iterable[Finding]) -> str:
    """One line per distinct error, each naming its prompt (tool_executions.error_message)."""
    errors = (one_line(finding.message) for finding in findings if finding.severity == "error")
    return "\n".join(dict.fromkeys(errors))


def lint(definition: object) -> list[Finding]:
    if not isinstance(definition, Mapping):
        return [_general("invalid_definition", "This assistant definition cannot be read.")]
    index = ChainIndex(definition)
    findings: list[Finding] = []
    if get(definition, "prompts") is not None and not isinstance(
        definition["prompts"], list | tuple
    ):
        findings.append(_general("invalid_definition", "This assistant's prompts cannot be read."))
    if not index.steps:
        findings.append(_general("no_prompts", "This assistant has no prompts yet. Add one."))
    elif len(index.steps) > MAX_PROMPTS:
        message = f"This assistant has {len(index.steps)} prompts; the limit is {MAX_PROMPTS}."
        findings.append(_general("too_many_prompts", message))
    used_fields: set[str] = set()
    for step in index.steps:
        findings += _PromptLint(index, step, used_fields).run()
    for name, field in index.fields.items():
        if name not in used_fields:
            label = get(field, "label")
            shown = (
                f"“{shorten(str(label))}” ({{{{{shorten(name)}}}}})"
                if label
                else f"“{shorten(name)}”"
            )
            message = f"The input field {shown} is not used by any prompt."
            findings.append(_general("unused_field", message, "warning"))
    return findings


def _general(kind: str, message: str, severity: Severity = "error") -> Finding:
    return Finding(None, None, kind, severity, message)


def _model_name(model: Mapping[str, Any]) -> str:
    return shorten(str(get(model, "name") or get(model, "model_id") or "unnamed"))


class _PromptLint:
    """The findings for one prompt; records which input fields it uses."""

    def __init__(self, index: ChainIndex, step: Step, used_fields: set[str]) -> None:
        self.index, self.step, self.used_fields = index, step, used_fields
        self.label = f"Prompt {step.label}"
        self.findings: list[Finding] = []

    def add(
        self,
        kind: str,
        message: str,
        severity: Severity = "error",
        *,
        span: tuple[TextField, int | None, int | None] | None = None,
        mapping_key: str | None = None,
    ) -> None:
        field, start, end = span or (None, None, None)
        step = self.step
        where = (field, start, end, mapping_key)
        self.findings.append(Finding(step.number, step.name, kind, severity, message, *where))

    def run(self) -> list[Finding]:
        step = self.step
        if not step.well_formed:
            self.add("invalid_prompt", f"Prompt {step.number} cannot be read.")
            return self.findings
        if not step.content or step.content.isspace():
            self.add("empty_content", f"{self.label} has no text.", span=("content", None, None))
        used_keys = self.check_texts()
        self.check_mapping(used_keys)
        self.check_slug()
        self.check_models()
        return self.findings

    def check_texts(self) -> set[str]:
        used_keys: set[str] = set()
        count = 0
        texts: tuple[tuple[TextField, str], ...] = (
            ("content", self.step.content),
            ("system_context", self.step.system_context or ""),
        )
        for field, text in texts:
            where = " in its system context" if field == "system_context" else ""
            if len(text) > MAX_CONTENT_CHARS:
                message = f"{self.label}{where} is {len(text):,} characters long; "
                message += f"the limit is {MAX_CONTENT_CHARS:,}."
                self.add("content_too_long", message, span=(field, MAX_CONTENT_CHARS, len(text)))
            problems = 0
            for item in iter_template(text):
                if isinstance(item, TemplateProblem):
                    problems += 1
                    if problems > MAX_PROBLEMS_PER_TEXT:
                        break
                    message = f"{self.label}{where}: {item.explanation}."
                    self.add(item.kind, message, span=(field, item.start, item.end))
                    continue
                count += 1
                placeholder = item
                span = (field, placeholder.start, placeholder.end)
                if count == MAX_PLACEHOLDERS + 1:
                    message = f"{self.label} uses more than {MAX_PLACEHOLDERS} placeholders; "
                    message += f"the limit is {MAX_PLACEHOLDERS} per prompt."
                    self.add("too_many_placeholders", message, span=span)
                elif count > MAX_PLACEHOLDERS + 1:
                    break  # the rest cannot change the verdict; a 10 MB blob stays fast
                resolution = self.index.resolve(placeholder.name, self.step)
                if resolution.field is not None:
                    self.used_fields.add(resolution.field)
                if placeholder.name in self.step.input_mapping:
                    used_keys.add(placeholder.name)  # reported once, at the mapping
                elif resolution.problem is not None:
                    intro = f"{self.label} uses {placeholder.shown()}{where}"
                    kind, message = self.explain(intro, resolution)
                    self.add(kind, message, span=span)
        return used_keys

    def check_mapping(self, used_keys: set[str]) -> None:
        for key, value in self.step.input_mapping.items():
            resolution = self.index.resolve(key, self.step)
            shown_key = f"{{{{{shorten(key, 40)}}}}}"
            if key not in used_keys:
                message = f"{self.label} has an input mapping for {shown_key}, but never uses it."
                self.add("unused_mapping", message, "warning", mapping_key=key)
                continue
            intro = f"{self.label} maps {shown_key} to “{shorten(str(value), 40)}”"
            if resolution.problem == "bad_mapping":
                message = f"{intro}, which is not a variable name (such as prompt_1_output)."
                self.add("invalid_mapping", message, mapping_key=key)
            elif resolution.problem is not None:
                kind, message = self.explain(intro, resolution)
                if kind == "unknown_variable":
                    kind = "unknown_mapping_target"
                self.add(kind, message, mapping_key=key)

    def explain(self, intro: str, resolution: Resolution) -> tuple[str, str]:
        """(kind, message) for a name that cannot be used; ``intro`` says where it is used."""
        name = resolution.mapped_to if resolution.mapped_to is not None else resolution.name
        target = resolution.target
        if resolution.problem == "self":
            return "forward_reference", f"{intro}, which is its own output."
        if resolution.problem == "forward" and target is not None:
            if target.position == self.step.position:
                message = f"{intro}, but prompt {target.label} is in the same stage "
                message += f"(stage {target.stage}). Prompts of one stage run at the same time, "
                message += f"so its output is not ready yet: move prompt {target.label} to an "
                message += "earlier stage."
            else:
                message = f"{intro}, but prompt {target.label} runs later, in stage "
                message += f"{target.stage} (this prompt is in stage {self.step.stage}). A prompt "
                message += "can only use the output of prompts in earlier stages."
            return "forward_reference", message
        match = PROMPT_OUTPUT.fullmatch(name)
        if match:
            message = f"{intro}, but there is no prompt {int(match.group(1))}."
            if int(match.group(1)) == 0:
                message += " Prompts are numbered from 1."
            return "unknown_variable", message
        message = (
            f"{intro}, but there is no input field or earlier prompt called “{shorten(name)}”."
        )
        suggestion = self.suggest(name)
        if suggestion:
            message += f" Did you mean {{{{{suggestion}}}}}?"
        return "unknown_variable", message

    def suggest(self, name: str) -> str | None:
        if len(name) > 60:
            return None
        earlier = [s for s in self.index.steps if s.position < self.step.position]
        known = [*self.index.fields, *(s.slug for s in earlier)]
        known += [f"prompt_{s.number}_output" for s in earlier]
        for candidate in (name.lower(), slugify(name, 0)):
            if candidate in known:
                return candidate
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        return close[0] if close else None

    def check_slug(self) -> None:
        step, slug = self.step, self.step.slug
        first = self.index.by_slug[slug][0]
        if first is not step:
            message = f"Prompts {first.label} (step {first.number}) and {step.label} (step "
            message += f"{step.number}) have the same variable name “{shorten(slug)}”, so "
            message += f"{{{{{shorten(slug)}}}}} is ambiguous. Rename one of them."
            self.add("duplicate_slug", message)
        if slug in self.index.fields:
            message = f"{self.label}'s output cannot be used as {{{{{shorten(slug)}}}}}: that is "
            message += f"an input field's name. Use {{{{prompt_{step.number}_output}}}} instead."
            self.add("slug_shadowed", message, "warning")

    def check_models(self) -> None:
        model = get(self.step.prompt, "model")
        if not isinstance(model, Mapping) or not get(model, "model_id"):
            self.add("model_missing", f"{self.label} has no model. Choose one.")
        elif "is_active" in model and not model["is_active"]:
            message = f"{self.label} uses the model “{_model_name(model)}”, which is turned off. "
            self.add("model_inactive", message + "Choose an active model.")
        fallback = get(self.step.prompt, "fallback_model")
        if not isinstance(fallback, Mapping):
            return
        if "is_active" in fallback and not fallback["is_active"]:
            message = f"{self.label}'s fallback model “{_model_name(fallback)}” is turned off, "
            self.add("fallback_model_inactive", message + "so it will not be used.", "warning")
        elif get(fallback, "id") is not None and get(fallback, "id") == get(model, "id"):
            message = f"{self.label}'s fallback model is the same as its model, so it adds nothing."
            self.add("fallback_same_as_model", message, "warning")
