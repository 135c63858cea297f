"""A JSON body → the run inputs, validated by the very code the run form uses (app.run_inputs).

`inputs` maps field names to text; multi-select fields take a list of strings (or one string);
file fields take the document's text (an API client sends text, not a file upload).
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

from flask import request
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import BadRequest

from app.blueprints.api.problems import ValidationProblem
from app.run_inputs import InputErrors, parse_inputs
from app.schemas import flatten_messages
from app.schemas.api import execution_create_schema


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, else 400 (a 413 above the 1 MiB limit comes first)."""
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw, parse_constant=_refuse_constant) if raw else None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"The body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(body, dict):
        raise BadRequest('The body must be a JSON object, e.g. {"inputs": {"name": "value"}}.')
    return body


def load_run_inputs(fields: list[Any], body: dict[str, Any]) -> dict[str, Any]:
    """Validated inputs for the assistant's fields, else ValidationProblem (a message per field)."""
    try:
        inputs = execution_create_schema.load(body)["inputs"]
    except ValidationError as err:
        raise ValidationProblem(flatten_messages(err.messages)) from None
    form, files, errors = _as_form(fields, inputs)
    if errors:
        raise ValidationProblem(errors)
    try:
        return parse_inputs([_for_api(f) for f in fields], form, files)
    except InputErrors as exc:
        raise ValidationProblem(exc.errors) from None


def _as_form(fields: list[Any], inputs: dict[str, Any]) -> tuple[MultiDict, MultiDict, dict]:
    by_name = {f.name: f for f in fields}
    form: MultiDict = MultiDict()
    files: MultiDict = MultiDict()
    errors: dict[str, str] = {}
    for name, value in inputs.items():
        field = by_name.get(name)
        if field is None:
            errors[name] = "Unknown field: this assistant has no input with this name."
        elif field.field_type == "multi_select":
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                errors[name] = "Send a list of strings (the chosen options)."
            elif message := _text_problem(values):
                errors[name] = message
            else:
                form.setlist(name, values)
        elif not isinstance(value, str):
            errors[name] = "Send a string."
        elif message := _text_problem([value]):
            errors[name] = message
        elif field.field_type == "file_upload":
            if value:
                stream = io.BytesIO(value.encode())
                files[name] = FileStorage(stream, filename=f"{name}.txt")
        else:
            form[name] = value
    return form, files, errors


def _for_api(field: Any) -> Any:
    """File fields receive their text directly: accept it as a .txt whatever the form allows."""
    if field.field_type != "file_upload":
        return field
    options = {**(field.options or {}), "accept": [".txt"]}
    return SimpleNamespace(
        name=field.name, label=field.label, field_type=field.field_type, options=options
    )


def _text_problem(values: list[str]) -> str | None:
    """Text our databases cannot store: NUL characters, unpaired surrogates."""
    for value in values:
        if "\x00" in value:
            return "Text cannot contain NUL characters."
        try:
            value.encode()
        except UnicodeEncodeError:
            return "Text must be valid Unicode (unpaired surrogate)."
    return None
