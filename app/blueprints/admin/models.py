"""Administration: the models assistants call — list, add, edit, test, deactivate, activate."""

from __future__ import annotations

import os
from typing import Any

from flask import abort, current_app, render_template, request

from app import model_admin
from app.blueprints.admin import bp
from app.htmx import is_fragment_request, render_page_or_fragment
from app.model_admin import ConnectionResult, ModelIdTaken
from app.models import AIModel
from app.schemas.models import PROVIDERS
from app.security import admin_required, audit, flash_and_redirect

TAKEN = "Another model already uses this model name."
FORM_PAGE, FORM_FRAGMENT = "admin/model_form.html", "admin/_partials/_model_form.html"


def _allowlist() -> tuple[str, ...]:
    return tuple(current_app.config.get("API_KEY_ENV_ALLOWLIST") or ())


def _model_or_404(ai_model_id: int) -> AIModel:
    model = AIModel.get_or_none(AIModel.id == ai_model_id)
    if model is None:
        abort(404)
    return model


def _values(model: AIModel) -> dict[str, str]:
    return {name: model_admin.plain(getattr(model, name)) or "" for name in model_admin.EDITABLE}


def _form_context(
    model: AIModel | None,
    values: dict,
    errors: dict | None = None,
    result: ConnectionResult | None = None,
) -> dict[str, Any]:
    row = None
    if model is not None:
        uses = model_admin.assistants_using(model)
        row = model_admin.model_row(model, uses, os.environ, _allowlist())
    return {
        "model": model,
        "row": row,
        "values": values,
        "errors": errors or {},
        "result": result,
        "providers": PROVIDERS,
        "allowlist": _allowlist(),
    }


def _list_context(**extra: Any) -> dict[str, Any]:
    return {"rows": model_admin.model_rows(os.environ, _allowlist()), "confirm": None, **extra}


@bp.get("/admin/models")
@admin_required
def models() -> Any:
    return render_page_or_fragment(
        "admin/models.html", "admin/_partials/_model_table.html", **_list_context()
    )


@bp.get("/admin/models/new")
@admin_required
def new_model() -> Any:
    return render_page_or_fragment(FORM_PAGE, FORM_FRAGMENT, **_form_context(None, {}))


@bp.post("/admin/models/new")
@admin_required
def create_model() -> Any:
    data, errors = model_admin.validate_model(request.form, allowlist=_allowlist())
    if not errors:
        try:
            model = model_admin.create_model(data)
        except ModelIdTaken:
            errors = {"model_id": TAKEN}
    if errors:
        context = _form_context(None, data, errors)
        return render_page_or_fragment(FORM_PAGE, FORM_FRAGMENT, **context), 422
    summary, details = model_admin.created_summary(model)
    audit("model.created", model, summary, **details)
    return flash_and_redirect(f"{model.name} added.", "admin.models")


@bp.get("/admin/models/<int:ai_model_id>/edit")
@admin_required
def edit_model(ai_model_id: int) -> Any:
    model = _model_or_404(ai_model_id)
    return render_page_or_fragment(FORM_PAGE, FORM_FRAGMENT, **_form_context(model, _values(model)))


@bp.post("/admin/models/<int:ai_model_id>/edit")
@admin_required
def update_model(ai_model_id: int) -> Any:
    model = _model_or_404(ai_model_id)
    data, errors = model_admin.validate_model(request.form, current=model, allowlist=_allowlist())
    changes: dict = {}
    if not errors:
        try:
            changes = model_admin.update_model(model, data)
        except ModelIdTaken:
            errors = {"model_id": TAKEN}
    if errors:
        model = _model_or_404(ai_model_id)  # as saved: the page shows the row's real state
        context = _form_context(model, data, errors)
        return render_page_or_fragment(FORM_PAGE, FORM_FRAGMENT, **context), 422
    if not changes:
        return flash_and_redirect(f"{model.name}: nothing to change.", "admin.models", "info")
    summary = model_admin.changes_summary(model, changes)
    audit("model.edited", model, summary, changes=changes)
    return flash_and_redirect(f"{model.name} saved.", "admin.models")


@bp.post("/admin/models/<int:ai_model_id>/test")
@admin_required
def test_model(ai_model_id: int) -> Any:
    """Test connection: htmx gets the result fragment; without JavaScript, the edit page."""
    model = _model_or_404(ai_model_id)
    result = model_admin.check_connection(
        model,
        timeout=float(current_app.config.get("MODEL_TEST_TIMEOUT_SECONDS") or 10),
        allowlist=_allowlist(),
    )
    if is_fragment_request():
        return render_template("admin/_partials/_model_test.html", model=model, result=result)
    return render_template(FORM_PAGE, **_form_context(model, _values(model), result=result))


@bp.get("/admin/models/<int:ai_model_id>/deactivate")
@admin_required
def confirm_deactivate(ai_model_id: int) -> Any:
    """Before deactivating: which assistants use the model (fragment, or the list page)."""
    model = _model_or_404(ai_model_id)
    if not model.is_active:
        return flash_and_redirect(f"{model.name} is already inactive.", "admin.models", "info")
    uses = model_admin.assistants_using(model)
    if is_fragment_request():
        return render_template("admin/_partials/_model_confirm.html", confirm=model, uses=uses)
    return render_template("admin/models.html", **_list_context(confirm=model, uses=uses))


@bp.post("/admin/models/<int:ai_model_id>/deactivate")
@admin_required
def deactivate_model(ai_model_id: int) -> Any:
    model = _model_or_404(ai_model_id)
    uses = model_admin.assistants_using(model)
    if model_admin.set_active(model, False):
        names = ", ".join(use.assistant_name for use in uses) or "no assistant"
        summary = f"Deactivated the model {model.name} ({model.model_id}); used by: {names}"
        audit("model.deactivated", model, summary, assistants=[u.assistant_id for u in uses])
    message = f"{model.name} is inactive."
    if uses:
        count = f"{len(uses)} assistant{'s' if len(uses) != 1 else ''}"
        message += f" {count} still use it: their prompts are flagged until they choose another."
    return flash_and_redirect(message, "admin.models", "warning" if uses else "success")


@bp.post("/admin/models/<int:ai_model_id>/activate")
@admin_required
def activate_model(ai_model_id: int) -> Any:
    model = _model_or_404(ai_model_id)
    if model_admin.set_active(model, True):
        audit("model.activated", model, f"Activated the model {model.name} ({model.model_id})")
    if is_fragment_request():
        uses = model_admin.assistants_using(model)
        row = model_admin.model_row(model, uses, os.environ, _allowlist())
        return render_template("admin/_partials/_model_row.html", row=row)
    return flash_and_redirect(f"{model.name} is active.", "admin.models")
