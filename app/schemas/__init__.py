"""marshmallow schemas, one module per area. `load_form` turns a posted form into (data, errors)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict


def load_form(schema: Schema, form: MultiDict, lists: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Validate a form; on failure return the raw values (to re-fill the form) and the messages."""
    raw: dict[str, Any] = {k: form.get(k) for k in form if k not in lists and k != "csrf_token"}
    for key in lists:
        raw[key] = form.getlist(key)
    try:
        return schema.load(raw), {}
    except ValidationError as err:
        return raw, flatten_messages(err.messages)


def flatten_messages(messages: Any) -> dict[str, str]:
    """One plain-language message per field (the first), ready to show beside it."""
    if not isinstance(messages, dict):
        return {"_schema": str(messages)}
    flat = {}
    for key, value in messages.items():
        while isinstance(value, list | dict):
            if isinstance(value, list):
                value = value[0] if value else ""
            else:
                value = next(iter(value.values()), "")
        flat[key] = str(value)
    return flat
