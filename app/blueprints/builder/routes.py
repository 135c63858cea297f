"""My assistants, creating one, its edit page, its details and its preview."""

from __future__ import annotations

from typing import Any

from flask import request

from app.blueprints.builder import bp
from app.blueprints.builder.common import (
    AUTHORS,
    after_edit,
    assistant_or_404,
    editor_context,
    redirect_to_editor,
    render_editor,
)
from app.chain.preview import preview
from app.db import database
from app.htmx import is_fragment_request, render_page_or_fragment
from app.models import Assistant, InputField, User
from app.models.assistant import DEFAULT_AUDIENCE
from app.schemas import load_form
from app.schemas.builder import details_schema, search_schema
from app.security import audit, roles_required, signed_in_user

DETAIL_COLUMNS = {
    "name": "name",
    "description": "description",
    "image_path": "icon",
    "audience": "audience",
    "timeout_seconds": "timeout_seconds",
}


@bp.get("/assistants")
@roles_required(*AUTHORS)
def index() -> Any:
    user = signed_in_user()
    search, errors = load_form(search_schema, request.args)
    query, status = ("", "") if errors else (search["q"], search["status"])
    assistants = Assistant.editable_by(user).select_extend(User).join(User).switch(Assistant)
    if query:
        found = Assistant.name.contains(query) | Assistant.description.contains(query)
        if user.is_admin:
            found |= User.name.contains(query) | User.email.contains(query)
        assistants = assistants.where(found)
    if status:
        assistants = assistants.where(Assistant.status == status)
    return render_page_or_fragment(
        "builder/index.html",
        "builder/_partials/_list.html",
        assistants=list(assistants.order_by(Assistant.updated_at.desc(), Assistant.id.desc())),
        query=query,
        status=status,
        show_owner=user.is_admin,
    )


@bp.get("/assistants/new")
@roles_required(*AUTHORS)
def new() -> Any:
    values = {"audience": list(DEFAULT_AUDIENCE), "icon": "sparkles"}
    return render_page_or_fragment(
        "builder/new.html",
        "builder/_partials/_details_form.html",
        assistant=None,
        values=values,
        errors={},
    )


@bp.post("/assistants/new")
@roles_required(*AUTHORS)
def create() -> Any:
    data, errors = load_form(details_schema, request.form, lists=("audience",))
    if errors:
        return render_page_or_fragment(
            "builder/new.html",
            "builder/_partials/_details_form.html",
            assistant=None,
            values=data,
            errors=errors,
        ), 422
    with database.atomic():
        assistant = Assistant.create(
            user=signed_in_user(),
            name=data["name"],
            description=data["description"],
            image_path=data["icon"] or "sparkles",
            audience=data["audience"],
            timeout_seconds=data["timeout_seconds"],
        )
        audit("assistant.created", assistant, f"Created the assistant “{assistant.name}”")
    message = f"“{assistant.name}” is created. Now add its input fields and prompts."
    return redirect_to_editor(assistant, message, anchor="fields")


@bp.get("/assistants/<int:assistant_id>/edit")
@roles_required(*AUTHORS)
def edit(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    return render_page_or_fragment(
        "builder/edit.html", "builder/_partials/_editor.html", **editor_context(assistant)
    )


@bp.post("/assistants/<int:assistant_id>/details")
@roles_required(*AUTHORS)
def update_details(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    data, errors = load_form(details_schema, request.form, lists=("audience",))
    if errors:
        return render_editor(assistant, "_details", 422, values=data, errors=errors)
    if data["icon"] is None:
        data["icon"] = assistant.image_path  # none picked: keep (an imported path stays verbatim)
    changed = [
        column for column, key in DETAIL_COLUMNS.items() if getattr(assistant, column) != data[key]
    ]
    if changed:
        with database.atomic():
            for column in changed:
                setattr(assistant, column, data[DETAIL_COLUMNS[column]])
            assistant.touch()
            assistant.save()
            after_edit(assistant)
            shown = ", ".join(c.replace("image_path", "icon").replace("_", " ") for c in changed)
            audit(
                "assistant.edited",
                assistant,
                f"Edited “{assistant.name}”: {shown}",
                changed=changed,
            )
    if is_fragment_request():
        return render_editor(assistant, "_details_response", saved=True)
    return redirect_to_editor(assistant, "Details saved.", anchor="details")


def _samples(fields: list[InputField]) -> dict[str, str | list[str]]:
    """The preview's sample inputs (``in_<name>``); an empty box stays out, shown «Label»."""
    samples: dict[str, str | list[str]] = {}
    for field in fields:
        key = f"in_{field.name}"
        if field.field_type == "multi_select":
            chosen = [value for value in request.form.getlist(key) if value]
            if chosen:
                samples[field.name] = chosen
        elif (request.form.get(key) or "").strip():
            samples[field.name] = request.form[key]
    return samples


@bp.get("/assistants/<int:assistant_id>/preview")
@roles_required(*AUTHORS)
def preview_page(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    return render_page_or_fragment(
        "builder/preview.html",
        "builder/_partials/_preview.html",
        assistant=assistant,
        fields=assistant.ordered_fields(),
        samples={},
        preview_steps=None,
    )


@bp.post("/assistants/<int:assistant_id>/preview")
@roles_required(*AUTHORS)
def run_preview(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    fields = assistant.ordered_fields()
    samples = _samples(fields)
    return render_page_or_fragment(
        "builder/preview.html",
        "builder/_partials/_preview_results.html",
        assistant=assistant,
        fields=fields,
        samples=samples,
        preview_steps=preview(assistant.definition(), samples),
    )
