"""Prompts: the editor page (palette, live lint), and moving, staging and deleting in the list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, request

from app import builder, builder_check
from app.blueprints.builder import bp
from app.blueprints.builder.common import (
    AUTHORS,
    assistant_or_404,
    model_label,
    redirect_to_editor,
    render_editor,
    touched,
)
from app.chain.definition import MAX_PROMPTS
from app.chain.references import Change, references_to
from app.db import database, utcnow
from app.htmx import is_fragment_request, render_page_or_fragment
from app.models import AIModel, Assistant, ChainPrompt
from app.schemas import load_form
from app.schemas.builder import prompt_draft_schema, prompt_schema
from app.security import audit, roles_required

LIMIT_MESSAGE = f"An assistant can have at most {MAX_PROMPTS} prompts. Delete one to add another."
COLUMNS = ("name", "content", "temperature", "max_tokens", "timeout_seconds")


def _prompt_or_404(assistant: Assistant, prompt_id: int) -> ChainPrompt:
    prompt = assistant.prompts.where(ChainPrompt.id == prompt_id).first()
    if prompt is None:
        abort(404)
    return prompt


def _model_choices(prompt: ChainPrompt | None) -> list[AIModel]:
    """Active models, plus a model this prompt already uses that has since been turned off."""
    models = list(AIModel.active())
    known = {m.id for m in models}
    for current in (prompt.model, prompt.fallback_model) if prompt else ():
        if current is not None and current.id not in known:
            models.append(current)
            known.add(current.id)
    return models


def _draft(values: Mapping[str, Any], models: list[AIModel]) -> dict[str, Any]:
    """Form values as the chain engine sees a prompt (for live lint)."""
    by_id = {str(m.id): m for m in models}
    model = by_id.get(str(values.get("model_id") or ""))
    fallback = by_id.get(str(values.get("fallback_model_id") or ""))
    return {
        "name": str(values.get("name") or ""),
        "content": str(values.get("content") or ""),
        "system_context": str(values.get("system_context") or "") or None,
        "model": model.as_ref() if model else None,
        "fallback_model": fallback.as_ref() if fallback else None,
    }


def _editor(
    assistant: Assistant,
    prompt: ChainPrompt | None,
    values: Mapping[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
    fragment: str = "_prompt_form",
) -> Any:
    models = _model_choices(prompt)
    definition = assistant.definition()
    prompt_id = prompt.id if prompt else None
    inputs, earlier = builder.palette(definition, prompt_id)
    return render_page_or_fragment(
        "builder/prompt.html",
        f"builder/_partials/{fragment}.html",
        assistant=assistant,
        prompt=prompt,
        values=values,
        errors=errors or {},
        model_options=[
            (m.id, model_label(m) + ("" if m.is_active else " (turned off)")) for m in models
        ],
        has_models=bool(models),
        inputs=inputs,
        earlier=earlier,
        check=builder_check.check_prompt(definition, prompt_id, _draft(values, models)),
        at_limit=prompt is None and assistant.prompts.count() >= MAX_PROMPTS,
    ), status


def _load(prompt: ChainPrompt | None) -> tuple[dict[str, Any], dict[str, str]]:
    data, errors = load_form(prompt_schema, request.form)
    if errors:
        return data, errors
    allowed = {m.id for m in _model_choices(prompt)}
    if data["model_id"] not in allowed:
        errors["model_id"] = "Choose one of the models in the list."
    if data["fallback_model_id"] is not None and data["fallback_model_id"] not in allowed:
        errors["fallback_model_id"] = "Choose one of the models in the list, or none."
    return data, errors


def _apply(prompt: ChainPrompt, data: Mapping[str, Any]) -> None:
    for column in COLUMNS:
        setattr(prompt, column, data[column])
    prompt.system_context = data["system_context"] or None
    prompt.model = data["model_id"]
    prompt.fallback_model = data["fallback_model_id"]


def _values(prompt: ChainPrompt) -> dict[str, Any]:
    values = {column: getattr(prompt, column) for column in COLUMNS}
    values["system_context"] = prompt.system_context or ""
    values["model_id"], values["fallback_model_id"] = prompt.model_id, prompt.fallback_model_id
    return values


@bp.get("/assistants/<int:assistant_id>/prompts")
@roles_required(*AUTHORS)
def prompts_section(assistant_id: int) -> Any:
    return render_editor(assistant_or_404(assistant_id), "_prompts")


@bp.get("/assistants/<int:assistant_id>/prompts/new")
@roles_required(*AUTHORS)
def new_prompt(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    prompts = assistant.ordered_prompts()
    models = _model_choices(None)
    default = prompts[-1].model_id if prompts else None
    if default not in {m.id for m in models}:
        default = models[0].id if models else None
    values = {"model_id": default}
    errors = {"_form": LIMIT_MESSAGE} if len(prompts) >= MAX_PROMPTS else {}
    return _editor(assistant, None, values, errors)


@bp.post("/assistants/<int:assistant_id>/prompts")
@roles_required(*AUTHORS)
def add_prompt(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    data, errors = _load(None)
    if assistant.prompts.count() >= MAX_PROMPTS:
        errors = {"_form": LIMIT_MESSAGE}
    if errors:
        return _editor(assistant, None, data, errors, 422)
    with database.atomic():
        last = max((p.position for p in assistant.ordered_prompts()), default=-1)
        prompt = ChainPrompt(assistant=assistant, position=last + 1, sort_order=0)
        _apply(prompt, data)
        prompt.save()
        touched(assistant)
        summary = f"Added the prompt {builder.describe_prompt(prompt)}"
        audit("prompt.added", assistant, summary, prompt_id=prompt.id)
    return redirect_to_editor(
        assistant, f"Added the prompt {builder.describe_prompt(prompt)}.", anchor="prompts"
    )


@bp.get("/assistants/<int:assistant_id>/prompts/<int:prompt_id>/edit")
@roles_required(*AUTHORS)
def edit_prompt(assistant_id: int, prompt_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    prompt = _prompt_or_404(assistant, prompt_id)
    return _editor(assistant, prompt, _values(prompt))


@bp.post("/assistants/<int:assistant_id>/prompts/<int:prompt_id>")
@roles_required(*AUTHORS)
def update_prompt(assistant_id: int, prompt_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    prompt = _prompt_or_404(assistant, prompt_id)
    data, errors = _load(prompt)
    if errors:
        return _editor(assistant, prompt, data, errors, 422)
    before = assistant.definition()
    with database.atomic():
        _apply(prompt, data)
        prompt.updated_at = utcnow()
        prompt.save()
        changes = builder.follow_references(assistant, before)
        touched(assistant)
        _audit(
            "prompt.edited",
            assistant,
            f"Edited the prompt {builder.describe_prompt(prompt)}",
            prompt,
            changes,
        )
    message = f"Saved the prompt {builder.describe_prompt(prompt)}."
    return redirect_to_editor(assistant, message, changes, anchor="prompts")


@bp.post("/assistants/<int:assistant_id>/prompts/check")
@bp.post("/assistants/<int:assistant_id>/prompts/<int:prompt_id>/check")
@roles_required(*AUTHORS)
def check_prompt(assistant_id: int, prompt_id: int | None = None) -> Any:
    """Live lint of the unsaved form; without JavaScript, the editor page with the findings."""
    assistant = assistant_or_404(assistant_id)
    prompt = _prompt_or_404(assistant, prompt_id) if prompt_id is not None else None
    values, _ = load_form(prompt_draft_schema, request.form)
    fragment = "_lint" if is_fragment_request() else "_prompt_form"
    return _editor(assistant, prompt, values, fragment=fragment)


def _audit(
    action: str, assistant: Assistant, summary: str, prompt: ChainPrompt, changes: list[Change]
) -> None:
    rewritten = [change.message for change in changes]
    audit(action, assistant, summary, prompt_id=prompt.id, references=rewritten)


def _relayout(
    assistant: Assistant, prompt: ChainPrompt, stages: builder.Layout, action: str, what: str
) -> Any:
    before = assistant.definition()
    with database.atomic():
        builder.save_layout(assistant, stages)
        changes = builder.follow_references(assistant, before)
        touched(assistant)
        _audit(action, assistant, what, prompt, changes)
    return _prompts_done(assistant, what + ".", changes)


def _prompts_done(assistant: Assistant, message: str, changes: list[Change]) -> Any:
    if is_fragment_request():
        notices = [message, *(change.message for change in changes)]
        return render_editor(assistant, "_prompts", prompt_notices=notices)
    return redirect_to_editor(assistant, message, changes, anchor="prompts")


@bp.post("/assistants/<int:assistant_id>/prompts/<int:prompt_id>/move")
@roles_required(*AUTHORS)
def move_prompt(assistant_id: int, prompt_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    prompt = _prompt_or_404(assistant, prompt_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    stages = builder.layout_of(assistant.ordered_prompts())
    if not builder.can_move(stages, prompt.id, direction):  # type: ignore[arg-type]
        return _prompts_done(assistant, "Nothing to move.", [])
    stages = builder.moved(stages, prompt.id, direction)  # type: ignore[arg-type]
    what = f"Moved the prompt {builder.describe_prompt(prompt)} {direction}"
    return _relayout(assistant, prompt, stages, "prompt.moved", what)


@bp.post("/assistants/<int:assistant_id>/prompts/<int:prompt_id>/stage")
@roles_required(*AUTHORS)
def stage_prompt(assistant_id: int, prompt_id: int) -> Any:
    """ "Runs alongside" the previous stage, or back to a stage of its own."""
    assistant = assistant_or_404(assistant_id)
    prompt = _prompt_or_404(assistant, prompt_id)
    stages = builder.layout_of(assistant.ordered_prompts())
    action = request.form.get("action")
    if action == "join" and builder.can_join_previous(stages, prompt.id):
        stages = builder.joined_previous(stages, prompt.id)
        what = f"The prompt {builder.describe_prompt(prompt)} now runs alongside the previous one"
    elif action == "separate" and len(next(s for s in stages if prompt.id in s)) > 1:
        stages = builder.separated(stages, prompt.id)
        what = f"The prompt {builder.describe_prompt(prompt)} now runs on its own"
    elif action in ("join", "separate"):
        return _prompts_done(assistant, "Nothing to change.", [])
    else:
        abort(400)
    return _relayout(assistant, prompt, stages, "prompt.moved", what)


@bp.post("/assistants/<int:assistant_id>/prompts/<int:prompt_id>/delete")
@roles_required(*AUTHORS)
def delete_prompt(assistant_id: int, prompt_id: int) -> Any:
    """Deleting a prompt others refer to first lists them and asks again (confirm=yes)."""
    assistant = assistant_or_404(assistant_id)
    prompt = _prompt_or_404(assistant, prompt_id)
    before = assistant.definition()
    references = references_to(before, prompt.id)
    if references and request.form.get("confirm") != "yes":
        return render_editor(assistant, "_prompts", confirm_delete=prompt, references=references)
    with database.atomic():
        stages = builder.without(builder.layout_of(assistant.ordered_prompts()), prompt.id)
        prompt.delete_instance()  # its run history stays: prompt_results.prompt_id is set null
        builder.save_layout(assistant, stages)
        changes = builder.follow_references(assistant, before)
        touched(assistant)
        what = f"Deleted the prompt {builder.describe_prompt(prompt)}"
        _audit("prompt.deleted", assistant, what, prompt, changes)
    return _prompts_done(assistant, what + ".", changes)
