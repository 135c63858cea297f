"""The builder's forms: an assistant's details, an input field, a prompt, the list's search."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from app.chain.definition import MAX_CONTENT_CHARS
from app.models.assistant import FIELD_TYPES, STATUSES, InputField
from app.models.user import ROLES
from app.templating import ASSISTANT_ICONS

FIELD_NAME = re.compile(r"[a-z0-9_]{1,24}")
FIELD_NAME_RULE = "Use 1 to 24 lowercase letters, digits or _ (for example: user_input)."
ACCEPT_KINDS = (".txt", ".md", ".csv", ".pdf", ".docx")
DEFAULT_MAX_SIZE_MB = 10
MAX_CHOICES = 200
TEXT_TYPES = ("short_text", "long_text")
CHOICE_TYPES = ("select", "multi_select")
# Options this form owns; any other key (kept from an import) survives an edit.
OPTION_KEYS = frozenset(
    {
        "required",
        "help",
        "default",
        "placeholder",
        "max_length",
        "pattern",
        "choices",
        "min_selections",
        "max_selections",
        "accept",
        "max_size_mb",
    }
)


def _text(max_len: int, message: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=max_len, error=message), **kwargs)


def _number(kind: type[fields.Number], low: float, high: float, message: str) -> fields.Number:
    return kind(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=low, max=high, error=message),
        error_messages={"invalid": message},
    )


class _Form(Schema):
    """Strips text (not prompt texts), and reads empty optional inputs as "not given"."""

    class Meta:
        unknown = EXCLUDE

    KEEP_SPACES: tuple[str, ...] = ()
    EMPTY_IS_NONE: tuple[str, ...] = ()

    @pre_load
    def clean(self, data: dict, **_: Any) -> dict:
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str) and key not in self.KEEP_SPACES:
                value = value.strip()
            if key in self.EMPTY_IS_NONE and value == "":
                value = None
            cleaned[key] = value
        return cleaned


class DetailsSchema(_Form):
    EMPTY_IS_NONE = ("timeout_seconds", "icon")

    name = fields.String(
        required=True,
        validate=validate.Length(min=3, max=255, error="Use 3 to 255 characters."),
        error_messages={"required": "Give the assistant a name (3 to 255 characters)."},
    )
    description = _text(5000, "Keep the description under 5,000 characters.", load_default="")
    icon = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(ASSISTANT_ICONS, error="Pick one of the icons."),
    )
    audience = fields.List(
        fields.String(validate=validate.OneOf(ROLES, error="Unknown role.")),
        load_default=list,
        validate=validate.Length(min=1, error="Choose at least one role that may run it."),
    )
    timeout_seconds = _number(
        fields.Integer, 10, 3600, "Enter a whole number of seconds from 10 to 3600, or leave empty."
    )


def parse_choices(text: str) -> list[dict[str, str]]:
    """One choice per line, "value | label" (or just one text for both); blank lines skipped."""
    choices = []
    for line in text.splitlines():
        if not line.strip():
            continue
        value, _, label = line.partition("|")
        value, label = value.strip(), label.strip()
        if not value:
            raise ValidationError(f"“{line.strip()[:40]}” has no value before the |.")
        if len(value) > 255 or len(label) > 255:
            raise ValidationError("Keep each value and label under 255 characters.")
        choices.append({"value": value, "label": label or value})
    if len(choices) > MAX_CHOICES:
        raise ValidationError(f"Use at most {MAX_CHOICES} choices.")
    seen: set[str] = set()
    for choice in choices:
        if choice["value"] in seen:
            raise ValidationError(f"The value “{choice['value'][:40]}” is used twice.")
        seen.add(choice["value"])
    return choices


def choices_text(choices: list[dict[str, Any]] | None) -> str:
    return "\n".join(f"{c.get('value', '')} | {c.get('label', '')}" for c in choices or [])


class FieldSchema(_Form):
    KEEP_SPACES = ("choices",)
    EMPTY_IS_NONE = ("max_length", "min_selections", "max_selections", "max_size_mb")

    label = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255, error="Write the question people will see."),
        error_messages={"required": "Write the question people will see."},
    )
    name = fields.String(load_default="")
    field_type = fields.String(
        load_default="short_text",
        validate=validate.OneOf(FIELD_TYPES, error="Choose a type from the list."),
    )
    help = _text(1000, "Keep the help text under 1,000 characters.", load_default="")
    placeholder = _text(255, "Keep the placeholder under 255 characters.", load_default="")
    default = _text(10000, "Keep the default under 10,000 characters.", load_default="")
    required = fields.Boolean(load_default=False)
    max_length = _number(fields.Integer, 1, 100_000, "Enter a number from 1 to 100,000.")
    pattern = _text(500, "Keep the pattern under 500 characters.", load_default="")
    choices = fields.String(load_default="")
    min_selections = _number(fields.Integer, 0, MAX_CHOICES, "Enter a number from 0 to 200.")
    max_selections = _number(fields.Integer, 1, MAX_CHOICES, "Enter a number from 1 to 200.")
    accept = fields.List(
        fields.String(validate=validate.OneOf(ACCEPT_KINDS, error="Unknown kind of file.")),
        load_default=list,
    )
    max_size_mb = _number(fields.Integer, 1, 25, "Enter a size from 1 to 25 MB.")
    update_prompts = fields.Boolean(load_default=False)

    @validates_schema
    def check(self, data: dict, **_: Any) -> None:
        errors: dict[str, str] = {}
        if data["name"] and not FIELD_NAME.fullmatch(data["name"]):
            errors["name"] = FIELD_NAME_RULE
        kind = data["field_type"]
        if kind in TEXT_TYPES:
            self._check_text(data, errors)
        elif kind in CHOICE_TYPES:
            self._check_choices(data, errors)
        elif not data["accept"]:
            errors["accept"] = "Tick at least one kind of file."
        if errors:
            raise ValidationError(errors)  # type: ignore[arg-type]

    @staticmethod
    def _check_text(data: dict, errors: dict[str, str]) -> None:
        if data["pattern"]:
            try:
                re.compile(data["pattern"])
            except re.error as exc:
                errors["pattern"] = f"This pattern cannot be read ({exc.msg})."
        if data["max_length"] and len(data["default"]) > data["max_length"]:
            errors["default"] = "The default is longer than the maximum length."

    @staticmethod
    def _check_choices(data: dict, errors: dict[str, str]) -> None:
        try:
            choices = parse_choices(data["choices"])
        except ValidationError as exc:
            errors["choices"] = str(exc.messages[0])  # type: ignore[index]
            return
        if not choices:
            errors["choices"] = "Add at least one choice, one per line."
            return
        values = {c["value"] for c in choices}
        defaults = _split_default(data["default"]) if data["field_type"] == "multi_select" else []
        if data["field_type"] == "select" and data["default"]:
            defaults = [data["default"]]
        if any(d not in values for d in defaults):
            errors["default"] = "The default must be one of the choices' values."
        low, high = data["min_selections"], data["max_selections"]
        if data["field_type"] != "multi_select":
            return
        if high is not None and high > len(choices):
            errors["max_selections"] = f"There are only {len(choices)} choices."
        if low is not None and high is not None and low > high:
            errors["min_selections"] = "The minimum is larger than the maximum."

    @post_load
    def to_row(self, data: dict, **_: Any) -> dict:
        kind = data["field_type"]
        options: dict[str, Any] = {"required": data["required"], "help": data["help"]}
        if kind != "file_upload":
            options["placeholder"] = data["placeholder"]
            options["default"] = data["default"]
        if kind in TEXT_TYPES:
            options["max_length"] = data["max_length"]
            options["pattern"] = data["pattern"]
        elif kind in CHOICE_TYPES:
            options["choices"] = parse_choices(data["choices"])
        if kind == "multi_select":
            options["default"] = _split_default(data["default"])
            options["min_selections"] = data["min_selections"]
            options["max_selections"] = data["max_selections"]
        if kind == "file_upload":
            options["accept"] = [k for k in ACCEPT_KINDS if k in data["accept"]]
            options["max_size_mb"] = data["max_size_mb"] or DEFAULT_MAX_SIZE_MB
        return {
            "name": data["name"],
            "label": data["label"],
            "field_type": kind,
            "options": options,
            "update_prompts": data["update_prompts"],
        }


def _split_default(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def field_values(field: InputField) -> dict[str, Any]:
    """A saved field as its form shows it."""
    options = dict(field.options or {})
    default = options.get("default", "")
    return {
        "name": field.name,
        "label": field.label,
        "field_type": field.field_type,
        "help": options.get("help", ""),
        "placeholder": options.get("placeholder", ""),
        "default": ", ".join(default) if isinstance(default, list) else default or "",
        "required": bool(options.get("required")),
        "max_length": options.get("max_length"),
        "pattern": options.get("pattern", ""),
        "choices": choices_text(options.get("choices")),
        "min_selections": options.get("min_selections"),
        "max_selections": options.get("max_selections"),
        "accept": options.get("accept", list(ACCEPT_KINDS)),
        "max_size_mb": options.get("max_size_mb", DEFAULT_MAX_SIZE_MB),
    }


class PromptSchema(_Form):
    KEEP_SPACES = ("content", "system_context")
    EMPTY_IS_NONE: tuple[str, ...] = ("model_id", "fallback_model_id", "temperature")
    EMPTY_IS_NONE += ("max_tokens", "timeout_seconds")

    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255, error="Give the prompt a short name."),
        error_messages={"required": "Give the prompt a short name."},
    )
    model_id = fields.Integer(
        required=True, error_messages={"required": "Choose a model.", "null": "Choose a model."}
    )
    fallback_model_id = fields.Integer(allow_none=True, load_default=None)
    system_context = _text(MAX_CONTENT_CHARS, "This is too long.", load_default="")
    content = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_CONTENT_CHARS, error="Write the prompt's text."),
        error_messages={"required": "Write the prompt's text."},
    )
    temperature = _number(fields.Float, 0, 2, "Enter a number from 0 to 2 (for example 0.7).")
    max_tokens = _number(fields.Integer, 1, 200_000, "Enter a whole number from 1 to 200,000.")
    timeout_seconds = _number(fields.Integer, 1, 3600, "Enter a whole number from 1 to 3600.")

    @validates_schema
    def content_not_blank(self, data: dict, **_: Any) -> None:
        if not data.get("content", "").strip():
            raise ValidationError("Write the prompt's text.", "content")


class PromptDraftSchema(_Form):
    """What live lint reads: anything typed so far, never an error."""

    KEEP_SPACES = ("content", "system_context")

    name = fields.String(load_default="")
    content = fields.String(load_default="")
    system_context = fields.String(load_default="")
    model_id = fields.String(load_default="")
    fallback_model_id = fields.String(load_default="")


class SearchSchema(_Form):
    q = fields.String(load_default="")
    status = fields.String(load_default="", validate=validate.OneOf(("", *STATUSES)))

    @pre_load
    def shorten_query(self, data: dict, **_: Any) -> dict:
        return {**data, "q": str(data.get("q") or "")[:100]}


details_schema = DetailsSchema()
field_schema = FieldSchema()
prompt_schema = PromptSchema()
prompt_draft_schema = PromptDraftSchema()
search_schema = SearchSchema()
