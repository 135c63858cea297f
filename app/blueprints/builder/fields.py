"""Input fields, edited inline in the edit page's "Input fields" section."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request

from app import builder
from app.blueprints.builder import bp
from app.blueprints.builder.common import (
    AUTHORS,
    assistant_or_404,
    redirect_to_editor,
    render_editor,
    touched,
)
from app.db import database
from app.htmx import is_fragment_request
from app.models import Assistant, InputField
from app.schemas import load_form
from app.schemas.builder import FIELD_NAME, FIELD_NAME_RULE, OPTION_KEYS, field_schema, field_values
from app.security import audit, roles_required

SECTION = "_fields_response"  # the fields section, and the prompts section out of band


def _field_or_404(assistant: Assistant, field_id: int) -> InputField:
    field = assistant.fields.where(InputField.id == field_id).first()
    if field is None:
        abort(404)
    return field


def _name_problem(assistant: Assistant, data: dict, field_id: int | None) -> dict[str, str]:
    """Fill an empty name from the label; a name already used is a problem."""
    if not data["name"]:
        data["name"] = builder.suggest_field_name(assistant, data["label"], field_id)
    elif builder.field_name_taken(assistant, data["name"], field_id):
        return {"name": f"Another field is already called “{data['name']}”. Pick another name."}
    return {}


def _done(assistant: Assistant, notices: list[str]) -> Any:
    if is_fragment_request():
        return render_editor(assistant, SECTION, field_notices=notices)
    return redirect_to_editor(assistant, notices[0], notices[1:], anchor="fields")


@bp.get("/assistants/<int:assistant_id>/fields")
@roles_required(*AUTHORS)
def fields_section(assistant_id: int) -> Any:
    return render_editor(assistant_or_404(assistant_id), "_fields")


@bp.post("/assistants/<int:assistant_id>/fields")
@roles_required(*AUTHORS)
def add_field(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    data, errors = load_form(field_schema, request.form, lists=("accept",))
    errors = errors or _name_problem(assistant, data, None)
    if errors:
        return render_editor(assistant, SECTION, 422, field_values=data, field_errors=errors)
    with database.atomic():
        field = InputField.create(
            assistant=assistant,
            name=data["name"],
            label=data["label"],
            field_type=data["field_type"],
            options=data["options"],
            position=assistant.fields.count(),
        )
        touched(assistant)
        summary = f"Added the input field “{field.label}” ({{{{{field.name}}}}})"
        audit("field.added", assistant, summary, field_id=field.id, name=field.name)
    return _done(
        assistant, [f"Added the field “{field.label}”. Use it in a prompt as {{{{{field.name}}}}}."]
    )


@bp.get("/assistants/<int:assistant_id>/fields/<int:field_id>/edit")
@roles_required(*AUTHORS)
def edit_field(assistant_id: int, field_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    field = _field_or_404(assistant, field_id)
    return render_editor(
        assistant, "_fields", editing_field=field.id, field_values=field_values(field)
    )


@bp.post("/assistants/<int:assistant_id>/fields/<int:field_id>")
@roles_required(*AUTHORS)
def update_field(assistant_id: int, field_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    field = _field_or_404(assistant, field_id)
    data, errors = load_form(field_schema, request.form, lists=("accept",))
    errors = errors or _name_problem(assistant, data, field.id)
    if errors:
        return render_editor(
            assistant, SECTION, 422, editing_field=field.id, field_values=data, field_errors=errors
        )
    old_name = field.name
    notices = [f"Saved the field “{data['label']}”."]
    with database.atomic():
        kept = {k: v for k, v in (field.options or {}).items() if k not in OPTION_KEYS}
        field.name, field.label = data["name"], data["label"]
        field.field_type, field.options = data["field_type"], {**kept, **data["options"]}
        field.save()
        if old_name != field.name:
            notices += _after_rename(assistant, old_name, field.name, data["update_prompts"])
        touched(assistant)
        audit(
            "field.edited",
            assistant,
            f"Edited the input field “{field.label}” ({{{{{field.name}}}}})",
            field_id=field.id,
            renamed_from=old_name if old_name != field.name else None,
            notices=notices[1:],
        )
    return _done(assistant, notices)


def _after_rename(assistant: Assistant, old: str, new: str, update_prompts: bool) -> list[str]:
    users = builder.input_users(assistant.definition(), old)
    if not users:
        return []
    if update_prompts:
        return builder.rename_input_in_prompts(assistant, old, new)
    verb = "uses" if len(users) == 1 else "use"
    return [f"{_who(users)} still {verb} {{{{{old}}}}}: change it to {{{{{new}}}}}."]


def _who(users: list[str]) -> str:
    """ "prompt “A”, prompt “B”" as the start of a sentence."""
    text = ", ".join(users)
    return text[:1].upper() + text[1:]


@bp.post("/assistants/<int:assistant_id>/fields/<int:field_id>/delete")
@roles_required(*AUTHORS)
def delete_field(assistant_id: int, field_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    field = _field_or_404(assistant, field_id)
    users = builder.input_users(assistant.definition(), field.name)
    with database.atomic():
        field.delete_instance()
        builder.renumber_fields(assistant)
        touched(assistant)
        summary = f"Deleted the input field “{field.label}” ({{{{{field.name}}}}})"
        audit("field.deleted", assistant, summary, field_id=field_id, name=field.name)
    notices = [f"Deleted the field “{field.label}”."]
    if users:
        verb = "uses" if len(users) == 1 else "use"
        notices.append(f"{_who(users)} still {verb} {{{{{field.name}}}}}: change or remove it.")
    return _done(assistant, notices)


@bp.post("/assistants/<int:assistant_id>/fields/<int:field_id>/move")
@roles_required(*AUTHORS)
def move_field(assistant_id: int, field_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    field = _field_or_404(assistant, field_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    with database.atomic():
        moved = builder.move_field(assistant, field.id, direction)  # type: ignore[arg-type]
        if moved:
            touched(assistant)
            summary = f"Moved the input field “{field.label}” {direction}"
            audit("field.moved", assistant, summary, field_id=field.id, direction=direction)
    return _done(
        assistant, [f"Moved “{field.label}” {direction}." if moved else "Nothing to move."]
    )


@bp.post("/assistants/<int:assistant_id>/fields/check-name")
@roles_required(*AUTHORS)
def check_field_name(assistant_id: int) -> Any:
    """Live check of the name box: answers the message shown under it."""
    assistant = assistant_or_404(assistant_id)
    field_id = request.args.get("field", type=int)
    name = (request.form.get("name") or "").strip()
    if not name:
        message, ok = "Left empty, a name is made from the label.", True
    elif not FIELD_NAME.fullmatch(name):
        message, ok = FIELD_NAME_RULE, False
    elif builder.field_name_taken(assistant, name, field_id):
        message, ok = f"Another field is already called “{name}”.", False
    else:
        message, ok = f"Prompts will use it as {{{{{name}}}}}.", True
    prefix = f"field-{field_id}" if field_id else "field-new"
    return render_template(
        "builder/_partials/_field_name_message.html", prefix=prefix, message=message, ok=ok
    )
