"""AI Studio's JSON format v1.0 as it is read on import, and the export request (marshmallow 4).

Each assistant of a file is loaded on its own (``assistant_file_schema``), so one bad assistant
never hides the others; ``explain_errors`` turns marshmallow's nested messages into plain lines
that name the prompt or the field (“Prompt 3 “Summarize”: position must be a whole number …”).
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate

from app.chain.definition import MAX_CONTENT_CHARS, MAX_PROMPTS, shorten
from app.schemas.api import ProblemSchema

FORMAT_VERSION = "1.0"
MAX_TIMEOUT_SECONDS = 3600
MAX_EXPORT_IDS = 500

_TEXT = "must be text"
_WHOLE = "must be a whole number"


def _text(*, required: bool = False, max_len: int = 255, min_len: int = 0, **kwargs: Any) -> Any:
    messages: dict[str, Any] = {"invalid": _TEXT, "required": "is missing", "null": "is missing"}
    rule = validate.Length(
        min=min_len,
        max=max_len,
        error=f"must be {min_len} to {max_len:,} characters long"
        if min_len
        else f"must be at most {max_len:,} characters long",
    )
    return fields.String(required=required, validate=rule, error_messages=messages, **kwargs)


def _whole(low: int, high: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(
            min=low, max=high, error=f"must be a whole number from {low} to {high:,}"
        ),
        error_messages={"invalid": _WHOLE},
        **kwargs,
    )


class _Lenient(Schema):
    """Unknown keys are ignored (newer exports may carry more); null reads as “not given”."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": "must be an object"}
    NULL_IS_MISSING: tuple[str, ...] = ()

    @pre_load
    def _drop_nulls(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (v is None and k in self.NULL_IS_MISSING)}


class PromptFileSchema(_Lenient):
    NULL_IS_MISSING = ("system_context", "input_mapping", "model_name")

    name = _text(required=True, min_len=1)
    content = fields.String(
        required=True,
        validate=validate.Length(
            max=MAX_CONTENT_CHARS, error="is longer than 10,000,000 characters"
        ),
        error_messages={"invalid": _TEXT, "required": "is missing", "null": "is missing"},
    )
    system_context = fields.String(
        load_default=None,
        validate=validate.Length(max=MAX_CONTENT_CHARS, error="is too long"),
        error_messages={"invalid": _TEXT},
    )
    model_name = _text(max_len=255, load_default=None)
    position = _whole(0, 1_000_000)
    parallel_group = _whole(-(2**31), 2**31 - 1)
    input_mapping = fields.Dict(
        keys=fields.String(), load_default=dict, error_messages={"invalid": "must be an object"}
    )
    timeout_seconds = _whole(1, MAX_TIMEOUT_SECONDS)


class FieldFileSchema(_Lenient):
    NULL_IS_MISSING = ("options",)

    name = _text(required=True, min_len=1)
    label = _text(required=True, min_len=1)
    field_type = _text(required=True, min_len=1, max_len=64)
    position = _whole(0, 1_000_000)
    options = fields.Dict(
        keys=fields.String(), load_default=dict, error_messages={"invalid": "must be an object"}
    )


class AssistantFileSchema(_Lenient):
    NULL_IS_MISSING = ("description", "input_fields", "is_parallel", "status")

    name = _text(required=True, min_len=3, max_len=255)
    description = _text(max_len=100_000, load_default="")
    status = fields.Raw(load_default=None)  # ignored: imports always arrive pending approval
    image_path = _text(max_len=1024, allow_none=True, load_default=None)
    is_parallel = fields.Boolean(
        load_default=False, error_messages={"invalid": "must be true or false"}
    )
    timeout_seconds = _whole(1, MAX_TIMEOUT_SECONDS)
    prompts = fields.List(
        fields.Nested(PromptFileSchema),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_PROMPTS, error=f"must hold 1 to {MAX_PROMPTS} prompts"
        ),
        error_messages={
            "invalid": "must be a list",
            "required": "is missing",
            "null": "is missing",
        },
    )
    input_fields = fields.List(
        fields.Nested(FieldFileSchema),
        load_default=list,
        error_messages={"invalid": "must be a list"},
    )


class ExportRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    assistant_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_EXPORT_IDS, error=f"Choose 1 to {MAX_EXPORT_IDS} assistants."
        ),
        metadata={"description": "The assistants to export, in this order.", "example": [1, 2]},
    )


# --- API responses (documented in app/openapi.py) ---------------------------------------------
class ImportLinksSchema(Schema):
    self = fields.String(required=True, metadata={"description": "The assistant in this API."})
    page = fields.String(required=True, metadata={"description": "Its page in the builder."})


class ImportReportSchema(Schema):
    number = fields.Integer(
        required=True, metadata={"description": "Its place in the file, from 1."}
    )
    name = fields.String(required=True)
    imported = fields.Boolean(required=True)
    assistant_id = fields.Integer(allow_none=True, required=True)
    errors = fields.List(
        fields.String(), required=True, metadata={"description": "Why it was not imported."}
    )
    models = fields.List(
        fields.String(), required=True, metadata={"description": "How each model name mapped."}
    )
    renumbered = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "prompt_N_output references rewritten (0-based → 1-based)."},
    )
    notes = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Renamed fields, converted options, parallel groups …"},
    )
    findings = fields.List(
        fields.Dict(keys=fields.String(), values=fields.String()),
        required=True,
        metadata={"description": "The builder's checks: {severity, message}."},
    )
    links = fields.Nested(ImportLinksSchema)


class ImportResultSchema(Schema):
    imported = fields.Integer(required=True, metadata={"description": "How many were created."})
    assistants = fields.List(
        fields.Nested(ImportReportSchema),
        required=True,
        metadata={"description": "A report per assistant of the file, in its order."},
    )


class ImportProblemSchema(ProblemSchema):
    """The 422 of an import: problem details, plus why each assistant failed."""

    imported = fields.Integer(required=True, metadata={"description": "0: nothing was imported."})
    assistants = fields.List(
        fields.Nested(ImportReportSchema),
        required=True,
        metadata={"description": "A report per assistant; empty when the file is unreadable."},
    )


class AIStudioDocumentSchema(Schema):
    """AI Studio's JSON format v1.0 (as exported; the import reads the same)."""

    version = fields.String(required=True, metadata={"enum": [FORMAT_VERSION]})
    exported_at = fields.String(required=True, metadata={"format": "date-time"})
    export_source = fields.String(required=True)
    assistants = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "Each: name, description, status, image_path, is_parallel, "
            "timeout_seconds, prompts[] (name, content, system_context, model_name, position, "
            "parallel_group, input_mapping, timeout_seconds; prompt_N_output counted from 0) "
            "and input_fields[] (name, label, field_type, position, options)."
        },
    )


def explain_errors(messages: Any, raw: Any) -> list[str]:
    """marshmallow's nested messages as plain lines naming the prompt or field they are about."""
    lines: list[str] = []
    if not isinstance(messages, dict):
        return [str(messages)]
    for key, value in messages.items():
        if key in ("prompts", "input_fields") and isinstance(value, dict):
            items = raw.get(key) if isinstance(raw, dict) else None
            for index, inner in value.items():
                if not isinstance(index, int):
                    lines.append(f"{key} {_first(inner)}.")
                    continue
                where = _item_label(key, index, items)
                for line in explain_errors(inner, None):
                    lines.append(f"{where}: {line}")
            continue
        if key == "_schema":
            lines.append(f"{_first(value)}.")
            continue
        lines.append(f"{key} {_first(value)}.")
    return lines


def _first(value: Any) -> str:
    while isinstance(value, list | dict):
        if isinstance(value, list):
            value = value[0] if value else ""
        else:
            value = next(iter(value.values()), "")
    text = str(value)
    return text[:-1] if text.endswith(".") else text


def _item_label(key: str, index: int, items: Any) -> str:
    kind = "Prompt" if key == "prompts" else "Input field"
    label = f"{kind} {index + 1}"
    item = items[index] if isinstance(items, list) and index < len(items) else None
    name = item.get("name") if isinstance(item, dict) else None
    if isinstance(name, str) and name.strip():
        label += f" “{shorten(name, 40)}”"
    return label


assistant_file_schema = AssistantFileSchema()
export_request_schema = ExportRequestSchema()
import_result_schema = ImportResultSchema()
__all__ = ["FORMAT_VERSION", "ValidationError", "assistant_file_schema", "explain_errors"]
