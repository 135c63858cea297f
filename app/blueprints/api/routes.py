"""JSON API v1: assistants and their runs, by bearer token, with the pages' rules (DESIGN §8)."""

from __future__ import annotations

from typing import Any

from flask import abort, g, jsonify, url_for

from app.api_auth import api_user, scope_required
from app.blueprints.api import ID, bp, inputs, present
from app.blueprints.api.problems import problem
from app.budgets import BudgetExceeded
from app.chain.queue import request_cancel, start_execution
from app.models import Assistant, Execution, User
from app.rate_limits import check_run_start
from app.schemas.api import (
    assistant_detail_schema,
    assistant_list_schema,
    cancel_schema,
    execution_schema,
    execution_started_schema,
)
from app.security import audit

READ, EXECUTE = "assistants:read", "assistants:execute"


def _via_api() -> dict[str, str]:
    """Audit details: through the API, with which token (its prefix, never the secret)."""
    return {"via": "api", "token": g.api_token.prefix}


def visible_assistants(user: User) -> Any:
    """What the caller may run (the catalog rule) or edit — the same sets the pages show."""
    catalog = Assistant.in_catalog_for(user).select(Assistant.id).order_by()
    editable = Assistant.editable_by(user).select(Assistant.id)
    return (
        Assistant.select()
        .where(Assistant.id.in_(catalog) | Assistant.id.in_(editable))
        .order_by(Assistant.name, Assistant.id)
    )


def visible_assistant_or_404(assistant_id: int) -> Assistant:
    assistant = Assistant.get_or_none(Assistant.id == assistant_id)
    user = api_user()
    if assistant is None or not (assistant.can_run(user) or assistant.can_edit(user)):
        abort(404)
    return assistant


def execution_or_404(execution_id: int) -> Execution:
    execution = Execution.visible_to(api_user()).where(Execution.id == execution_id).first()
    if execution is None:
        abort(404)
    return execution


@bp.get("/assistants")
@scope_required(READ)
def assistants() -> Any:
    user = api_user()
    found = [present.assistant_summary(a, user) for a in visible_assistants(user)]
    return jsonify(assistant_list_schema.dump({"assistants": found}))


@bp.get(f"/assistants/<{ID}:assistant_id>")
@scope_required(READ)
def assistant(assistant_id: int) -> Any:
    found = visible_assistant_or_404(assistant_id)
    return jsonify(assistant_detail_schema.dump(present.assistant_detail(found, api_user())))


@bp.post(f"/assistants/<{ID}:assistant_id>/executions", endpoint="start_execution")
@scope_required(EXECUTE)
def start_execution_view(assistant_id: int) -> Any:
    found = visible_assistant_or_404(assistant_id)
    if not found.can_run(api_user()):
        abort(409, f"“{found.name}” is {found.status_label.lower()}: it cannot be run.")
    body = inputs.json_object()
    fields = found.ordered_fields()
    values = inputs.load_run_inputs(fields, body)
    check_run_start(api_user().id)
    try:
        execution = start_execution(found, api_user(), values, fields)
    except BudgetExceeded as exc:
        return problem(
            429,
            exc.message,
            headers=[("Retry-After", str(exc.retry_after))],
            type_="urn:assistant-architect:problem:budget-exceeded",
            extra={"budget": exc.budget},
        )
    audit(
        "execution.started",
        execution,
        f"Ran “{found.name}” (API)",
        assistant=found.id,
        **_via_api(),
    )
    response = jsonify(execution_started_schema.dump(present.execution_started(execution)))
    response.status_code = 202
    response.headers["Location"] = url_for("api.execution", execution_id=execution.id)
    return response


@bp.get(f"/executions/<{ID}:execution_id>")
@scope_required(READ)
def execution(execution_id: int) -> Any:
    found = execution_or_404(execution_id)
    return jsonify(execution_schema.dump(present.execution_detail(found)))


@bp.post(f"/executions/<{ID}:execution_id>/cancel")
@scope_required(EXECUTE)
def cancel_execution(execution_id: int) -> Any:
    found = execution_or_404(execution_id)
    if found.is_finished or not request_cancel(found):
        abort(409, "This run has already finished.")
    audit("execution.cancelled", found, f"Stopped run {found.id} (API)", **_via_api())
    status = Execution.select(Execution.status).where(Execution.id == found.id).scalar()
    body = {"id": found.id, "status": status, "cancel_requested": True}
    return jsonify(cancel_schema.dump(body)), 202


@bp.get("/openapi.json")
def openapi() -> Any:
    from app.openapi import openapi_document

    return jsonify(openapi_document())
