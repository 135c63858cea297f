"""AI Studio's JSON format v1.0, both ways, without Flask or the database (DESIGN §3 and §8).

- ``read_document(raw) -> list`` checks size, encoding, JSON and version; ``FormatError`` says
  what is wrong with the file as a whole, in plain words.
- ``convert_assistant(item, models, number) -> (Plan | None, Report)`` turns one assistant of the
  file into rows to create, or explains why it cannot: fields and their options in our terms,
  prompts laid out as stages (``parallel_group`` collapsed when safe), ``prompt_N_output``
  renumbered from AI Studio's 0-based to our 1-based form, every model mapped, then lint.
- The way back out is ``app.interchange.aistudio_export``.

Export → import → export is identical except ``exported_at`` and ``status``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError

from app.builder import rename_input
from app.chain.definition import (
    MAX_PROMPTS,
    PROMPT_OUTPUT,
    ChainIndex,
    parse_mapping_value,
    shorten,
)
from app.chain.lint import lint
from app.chain.references import references_to
from app.chain.variables import find_placeholders
from app.interchange.models_map import ModelChoice, describe, match_model
from app.models.assistant import FIELD_TYPES
from app.run_inputs import ACCEPTED
from app.schemas.interchange import FORMAT_VERSION, assistant_file_schema, explain_errors

MAX_BYTES = 10 * 1024 * 1024
EXPORT_SOURCE = "Assistant Architect"
MIB = 1024 * 1024
MAX_FILE_MB = 25  # the builder's ceiling for a file field

FIELD_NAME = re.compile(r"[a-z0-9_]{1,24}")
TYPE_ALIASES = {
    "text": "short_text",
    "textarea": "long_text",
    "dropdown": "select",
    "multiselect": "multi_select",
    "checkboxes": "multi_select",
    "file": "file_upload",
    "upload": "file_upload",
}
_TO_OURS = {"maxLength": "max_length", "minSelections": "min_selections"}
_TO_OURS |= {"maxSelections": "max_selections"}
_TO_AISTUDIO = {ours: theirs for theirs, ours in _TO_OURS.items()}
_MIME = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/csv": ".csv",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
# input_mapping values naming the source system's rows ("prompt_42.output"): not trustworthy here.
_ROW_REFERENCE = re.compile(r"\s*(?:\{\{\s*|\$\{\s*)?prompt_[\w-]+\.output\s*(?:\}\}|\})?\s*")


class FormatError(Exception):
    """The file as a whole cannot be read: nothing in it is imported."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Report:
    """What happened to one assistant of a file — the page and the API show it as it is."""

    number: int  # 1-based, in the file
    name: str
    assistant_id: int | None = None
    errors: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    renumbered: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[dict[str, str]] = field(default_factory=list)

    @property
    def imported(self) -> bool:
        return self.assistant_id is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "imported": self.imported,
            "assistant_id": self.assistant_id,
            "errors": self.errors,
            "models": self.models,
            "renumbered": self.renumbered,
            "notes": self.notes,
            "findings": self.findings,
        }


@dataclass
class Plan:
    """The rows to create for one assistant (status and owner are the importer's business)."""

    values: dict[str, Any]
    fields: list[dict[str, Any]]
    prompts: list[dict[str, Any]]  # each with model_choice_id (or None)


# --- the file ----------------------------------------------------------------------------------
def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def read_document(raw: bytes | str) -> list[Any]:
    """The file's assistants (each still unchecked), else FormatError."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_BYTES:
        raise FormatError(
            f"The file is {size / MIB:.1f} MiB; the limit is {MAX_BYTES // MIB} MiB. "
            "Split it into several files."
        )
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FormatError("The file is not text in UTF-8: is it an AI Studio export?") from None
    if not raw.strip():
        raise FormatError("The file is empty.")
    try:
        root = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except (ValueError, RecursionError) as exc:
        message = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise FormatError(f"The file is not valid JSON: {message}.") from None
    if not isinstance(root, dict):
        raise FormatError(
            "The file is JSON but not an AI Studio export: it should be an object with "
            '"version": "1.0" and a list of "assistants".'
        )
    version = root.get("version")
    if version is None:
        raise FormatError(
            'The file has no "version". AI Studio exports say "version": "1.0"; is this one?'
        )
    if version != FORMAT_VERSION:
        shown = shorten(json.dumps(version, ensure_ascii=False), 40)
        raise FormatError(
            f"The file's version is {shown}; only AI Studio's format version "
            f'"{FORMAT_VERSION}" can be imported.'
        )
    assistants = root.get("assistants")
    if not isinstance(assistants, list):
        raise FormatError('The file has no list of "assistants".')
    if not assistants:
        raise FormatError("The file's list of assistants is empty: there is nothing to import.")
    return assistants


# --- one assistant in -------------------------------------------------------------------------
def convert_assistant(
    item: Any, models: Sequence[ModelChoice], number: int
) -> tuple[Plan | None, Report]:
    name = item.get("name") if isinstance(item, dict) else None
    report = Report(number, shorten(name, 120) if isinstance(name, str) else f"Assistant {number}")
    if not isinstance(item, dict):
        report.errors.append("This entry is not an assistant (an object with a name and prompts).")
        return None, report
    prompts = item.get("prompts")
    if isinstance(prompts, list) and len(prompts) > MAX_PROMPTS:
        report.errors.append(
            f"It has {len(prompts)} prompts; the limit is {MAX_PROMPTS}. "
            "Split it into smaller assistants."
        )
        return None, report
    try:
        data = assistant_file_schema.load(item)
    except ValidationError as err:
        report.errors.extend(explain_errors(err.messages, item))
        return None, report
    fields, renames = _fields_in(data["input_fields"], report)
    if report.errors:
        return None, report
    prompts = _prompts_in(data["prompts"], fields, renames, report)
    choices: dict[str, Any] = {}
    for prompt in prompts:
        wanted = prompt.pop("model_name")
        match = match_model(wanted, models)
        prompt["model_choice_id"] = match.model.id if match.model else None
        prompt["model"] = _model_ref(match.model)
        choices.setdefault(describe(wanted, match), []).append(prompt["name"])
    for message, names in choices.items():
        users = _names(names) if len(names) <= 3 else f"{len(names)} prompts"
        report.models.append(f"{message} Used by {users}.")
    definition = {
        "assistant": {"id": None, "name": data["name"], "version": 0},
        "fields": fields,
        "prompts": prompts,
    }
    report.findings = [{"severity": f.severity, "message": f.message} for f in lint(definition)]
    for prompt in prompts:
        del prompt["id"], prompt["model"]
    values = {
        key: data[key]
        for key in ("name", "description", "image_path", "is_parallel", "timeout_seconds")
    }
    return Plan(values, fields, prompts), report


def _names(names: list[str]) -> str:
    quoted = [f"“{shorten(n, 40)}”" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _model_ref(model: ModelChoice | None) -> dict[str, Any] | None:
    if model is None:
        return None
    return {
        "id": model.id,
        "name": model.name,
        "model_id": model.model_id,
        "provider": model.provider,
        "is_active": model.is_active,
        "max_tokens": None,
    }


def _fields_in(items: list[dict[str, Any]], report: Report) -> tuple[list[dict], dict[str, str]]:
    ordered = sorted(enumerate(items), key=lambda t: (_position(t[1], t[0]), t[0]))
    taken = {f["name"] for _, f in ordered if FIELD_NAME.fullmatch(f["name"])}
    assigned: set[str] = set()
    fields: list[dict[str, Any]] = []
    renames: dict[str, str] = {}
    for position, (index, item) in enumerate(ordered):
        label = f"Input field {index + 1} “{shorten(item['name'], 40)}”"
        kind = _field_type(item["field_type"])
        if kind is None:
            report.errors.append(
                f"{label} has the type “{shorten(item['field_type'], 40)}”, which this system "
                f"does not have. Use one of: {', '.join(FIELD_TYPES)}."
            )
            continue
        name = item["name"]
        if not FIELD_NAME.fullmatch(name) or name in assigned:
            new = _free_name(name, taken | assigned)
            if name in assigned:
                report.notes.append(
                    f"{label}: a second field with this name is now {new} "
                    f"({{{{{name}}}}} still means the first)."
                )
            else:
                renames[name] = new
                report.notes.append(
                    f"{label}: renamed {new}, since variable names here use 1 to 24 lowercase "
                    "letters, digits or _; the prompts' references follow."
                )
            name = new
        assigned.add(name)
        if kind != item["field_type"]:
            report.notes.append(f"{label}: the type “{item['field_type']}” is {kind} here.")
        fields.append(
            {
                "name": name,
                "label": item["label"],
                "field_type": kind,
                "position": position,
                "options": options_in(item["options"], label, report.notes),
            }
        )
    return fields, renames


def _position(item: Mapping[str, Any], index: int) -> int:
    position = item.get("position")
    return position if isinstance(position, int) else index


def _field_type(value: str) -> str | None:
    kind = value.strip().lower().replace("-", "_").replace(" ", "_")
    if kind in FIELD_TYPES:
        return kind
    return TYPE_ALIASES.get(kind.replace("_", ""))


def _free_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:24] or "field"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        suffix = f"_{n}"
        candidate = base[: 24 - len(suffix)] + suffix
    return candidate


def options_in(options: Mapping[str, Any], label: str, notes: list[str]) -> dict[str, Any]:
    """AI Studio's option keys → ours; keys we do not know are kept as they are."""
    result: dict[str, Any] = {}
    for key, value in options.items():
        if key in _TO_OURS:
            result[_TO_OURS[key]] = value
        elif key == "accept":
            result["accept"] = _accept_in(value, label, notes)
        elif key == "maxSize":
            size = _size_in(value, label, notes)
            if size is not None:
                result["max_size_mb"] = size
        elif key == "choices":
            result["choices"] = _choices_in(value, label, notes)
        elif key in _TO_AISTUDIO and any(k in options for k, v in _TO_OURS.items() if v == key):
            notes.append(
                f"{label}: both {key} and its AI Studio spelling are set; kept the latter."
            )
        elif not (key == "max_size_mb" and "maxSize" in options):
            result[key] = value
    return result


def _accept_in(value: Any, label: str, notes: list[str]) -> Any:
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = list(value)
    else:
        notes.append(f"{label}: accept is not a list of file kinds; every kind we read is allowed.")
        return []
    kept: list[str] = []
    unreadable: list[str] = []
    for part in parts:
        kind = part.strip().lower()
        if not kind:
            continue
        kind = _MIME.get(kind, kind if kind.startswith(".") or "/" in kind else f".{kind}")
        if kind in ACCEPTED:
            if kind not in kept:
                kept.append(kind)
        else:
            unreadable.append(part.strip())
    if unreadable:
        notes.append(
            f"{label}: text cannot be read from {', '.join(unreadable)}; "
            + (f"it accepts {', '.join(kept)}." if kept else "every kind we read is allowed.")
        )
    return kept


def _size_in(value: Any, label: str, notes: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        notes.append(f"{label}: maxSize is not a size in bytes; the default 10 MB applies.")
        return None
    megabytes = max(1, math.ceil(value / MIB))
    if megabytes > MAX_FILE_MB:
        notes.append(f"{label}: files up to {MAX_FILE_MB} MB here (the file said {value:,} bytes).")
        return MAX_FILE_MB
    if value != megabytes * MIB:
        notes.append(f"{label}: maxSize {value:,} bytes is {megabytes} MB here.")
    return megabytes


def _choices_in(value: Any, label: str, notes: list[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        notes.append(f"{label}: choices is not a list; add the choices in the builder.")
        return []
    choices: list[dict[str, Any]] = []
    for choice in value:
        if isinstance(choice, dict) and choice.get("value") is not None:
            text = str(choice["value"])
            shown = choice.get("label")
            choices.append({**choice, "value": text, "label": str(shown) if shown else text})
        elif isinstance(choice, str | int | float) and not isinstance(choice, bool):
            choices.append({"value": str(choice), "label": str(choice)})
        else:
            notes.append(f"{label}: a choice without a value was left out.")
    return choices


# --- prompts: stages, parallel groups, references ------------------------------------------------
def _prompts_in(
    items: list[dict[str, Any]], fields: list[dict], renames: dict[str, str], report: Report
) -> list[dict[str, Any]]:
    ordered = sorted(enumerate(items), key=lambda t: (_position(t[1], t[0]), t[0]))
    stages = sorted({_position(item, index) for index, item in ordered})
    stage_of = {position: stage for stage, position in enumerate(stages)}
    prompts: list[dict[str, Any]] = []
    for step, (index, item) in enumerate(ordered, start=1):
        mapping = {k: v for k, v in item["input_mapping"].items()}
        for key, value in list(mapping.items()):
            if isinstance(value, str) and _ROW_REFERENCE.fullmatch(value):
                del mapping[key]
                report.notes.append(
                    f"Prompt {index + 1} “{shorten(item['name'], 40)}”: the input mapping "
                    f"{key} → {shorten(value, 40)} named a row of the source system, which means "
                    "nothing here; it was dropped. Use {{prompt_N_output}} instead."
                )
        prompts.append(
            {
                "id": step,  # the step in the file's order, while the layout is decided
                "name": item["name"],
                "content": item["content"],
                "system_context": item["system_context"],
                "position": stage_of[_position(item, index)],
                "sort_order": 0,
                "parallel_group": item["parallel_group"],
                "input_mapping": mapping,
                "timeout_seconds": item["timeout_seconds"],
                "model_name": item["model_name"],
            }
        )
    _note_shared_positions(prompts, report)
    definition: dict[str, Any] = {"fields": fields, "prompts": prompts}
    for old, new in renames.items():
        definition, _ = rename_input(definition, old, new)
    prompts = definition["prompts"]
    field_names = {f["name"] for f in fields}
    shifted = copy.deepcopy(prompts)
    renumber_outputs(shifted, lambda n: n + 1, field_names)
    positions = _collapse_groups(shifted, field_names, report)
    closed = {p: i for i, p in enumerate(sorted(set(positions.values())))}
    final_order = sorted(prompts, key=lambda p: (closed[positions[p["id"]]], p["id"]))
    new_step = {p["id"]: n for n, p in enumerate(final_order, start=1)}
    report.renumbered.extend(
        renumber_outputs(prompts, lambda k: new_step.get(k + 1, k + 1), field_names)
    )
    last_stage, sort_order = -1, 0
    for prompt in final_order:
        stage = closed[positions[prompt["id"]]]
        sort_order = sort_order + 1 if stage == last_stage else 0
        prompt["position"], prompt["sort_order"], last_stage = stage, sort_order, stage
    return final_order


def _note_shared_positions(prompts: list[dict[str, Any]], report: Report) -> None:
    by_stage: dict[int, list[str]] = {}
    for prompt in prompts:
        by_stage.setdefault(prompt["position"], []).append(prompt["name"])
    for stage, names in by_stage.items():
        if len(names) > 1:
            report.notes.append(
                f"{_names(names)} share a position: they run side by side (stage {stage + 1})."
            )


def _collapse_groups(
    prompts: list[dict[str, Any]], field_names: set[str], report: Report
) -> dict[int, int]:
    """Positions by prompt id after parallel groups collapse where that is safe (DESIGN §8)."""
    positions = {p["id"]: p["position"] for p in prompts}
    name = {p["id"]: p["name"] for p in prompts}
    groups: dict[int, list[int]] = {}
    for prompt in prompts:
        if prompt["parallel_group"] is not None:
            groups.setdefault(prompt["parallel_group"], []).append(prompt["id"])
    if all(len({positions[m] for m in members}) < 2 for members in groups.values()):
        return positions  # nothing to collapse: spare the who-uses-whom graph
    uses = _uses(prompts, field_names)
    for group, members in sorted(groups.items(), key=lambda g: min(positions[m] for m in g[1])):
        spots = sorted({positions[m] for m in members})
        if len(spots) < 2:
            continue
        lowest = spots[0]
        why = _why_not_collapse(members, uses, positions, name, lowest)
        label = f"Parallel group {group} ({_names([name[m] for m in members])})"
        if why:
            report.notes.append(f"{label} keeps its positions: {why}.")
            continue
        for member in members:
            positions[member] = lowest
        report.notes.append(
            f"{label} runs together in one stage (the file had them at positions "
            f"{', '.join(str(s) for s in spots)}); later prompts move up."
        )
    return positions


def _uses(prompts: list[dict[str, Any]], field_names: set[str]) -> dict[int, set[int]]:
    """Prompt id → the ids of the prompts whose output it uses (valid or not)."""
    definition = {"fields": [{"name": n} for n in field_names], "prompts": prompts}
    index = ChainIndex(definition)
    id_of_step = {step.number: int(step.prompt["id"]) for step in index.steps}
    uses: dict[int, set[int]] = {p["id"]: set() for p in prompts}
    for prompt in prompts:
        for reference in references_to(definition, prompt["id"]):
            uses[id_of_step[reference.step]].add(prompt["id"])
    return uses


def _why_not_collapse(
    members: list[int],
    uses: dict[int, set[int]],
    positions: dict[int, int],
    name: dict[int, str],
    lowest: int,
) -> str | None:
    for member in members:
        for used in sorted(uses[member]):
            if used in members:
                return (
                    f"“{shorten(name[member], 40)}” uses the output of “{shorten(name[used], 40)}”"
                )
            if lowest <= positions[used] < positions[member]:
                return (
                    f"moving “{shorten(name[member], 40)}” up would run it before "
                    f"“{shorten(name[used], 40)}”, whose output it uses"
                )
    return None


def renumber_outputs(
    prompts: list[dict[str, Any]], renumber: Callable[[int], int | None], field_names: set[str]
) -> list[str]:
    """Rewrite every ``prompt_N_output`` (texts and mapping values) to ``renumber(N)``, in place.

    Names that are an input field, or a placeholder that the prompt's input_mapping redirects,
    are not prompt references and stay. ``renumber`` returning None leaves a reference as is.
    Returns one message per distinct change per prompt.
    """
    messages: dict[str, None] = {}

    def new_name(name: str) -> str | None:
        match = PROMPT_OUTPUT.fullmatch(name)
        if match is None or name in field_names:
            return None
        number = renumber(int(match.group(1)))
        return None if number is None or number < 0 else f"prompt_{number}_output"

    for prompt in prompts:
        mapping = prompt.get("input_mapping") or {}
        where = f"In “{shorten(str(prompt.get('name') or ''), 40)}”"
        for key in ("content", "system_context"):
            text = prompt.get(key)
            if not isinstance(text, str):
                continue
            edits: list[tuple[int, int, str]] = []
            for placeholder in find_placeholders(text):
                if placeholder.name in mapping or not (new := new_name(placeholder.name)):
                    continue
                start = text.index(placeholder.name, placeholder.start)
                edits.append((start, start + len(placeholder.name), new))
                shown_new = placeholder.shown().replace(placeholder.name, new)
                if new != placeholder.name:
                    messages[f"{where}: {placeholder.shown()} → {shown_new}"] = None
            for start, end, new in reversed(edits):
                text = text[:start] + new + text[end:]
            prompt[key] = text
        for key, value in mapping.items():
            reference = parse_mapping_value(value)
            if reference is None or not (new := new_name(reference.name)):
                continue
            mapping[key] = value[: reference.start] + new + value[reference.end :]
            if mapping[key] != value:
                change = f"{value.strip()} → {mapping[key].strip()}"
                messages[f"{where} (input mapping {key}): {change}"] = None
    return list(messages)
