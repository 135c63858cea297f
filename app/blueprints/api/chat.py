"""Follow-up questions on a run over the API: the same rules and the same queue as the page."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, url_for
from marshmallow import ValidationError

from app.api_auth import api_user, scope_required
from app.blueprints.api import ID, bp, inputs
from app.blueprints.api.problems import ValidationProblem
from app.blueprints.api.routes import EXECUTE, READ, _via_api, execution_or_404
from app.chain.chat import ChatRefused, ask, clean_question, conversation, refusal
from app.models import ExecutionMessage
from app.schemas import flatten_messages
from app.schemas.api import message_create_schema, message_list_schema, messages_asked_schema
from app.security import audit


def message_dict(message: ExecutionMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "model": message.model.name if message.model_id and message.model else None,
        "error": message.error_message,
        "tokens_in": message.tokens_in,
        "tokens_out": message.tokens_out,
        "cost": message.cost,
        "created_at": message.created_at,
        "completed_at": message.completed_at,
    }


# One rule for both methods: with two rules on one path, Werkzeug answers an id beyond the
# converter's maximum with 405 instead of 404.
@bp.route(f"/executions/<{ID}:execution_id>/messages", methods=["GET", "POST"])
def execution_messages(execution_id: int) -> Any:
    if request.method == "POST":
        return ask_question(execution_id)
    return list_messages(execution_id)


@scope_required(READ)
def list_messages(execution_id: int) -> Any:
    found = execution_or_404(execution_id)
    messages = [message_dict(m) for m in conversation(found.id)]
    return jsonify(message_list_schema.dump({"messages": messages}))


@scope_required(EXECUTE)
def ask_question(execution_id: int) -> Any:
    found = execution_or_404(execution_id)
    if found.user_id != api_user().id:
        abort(403, "Only the person who ran it may ask follow-up questions.")
    try:
        body = message_create_schema.load(inputs.json_object())
        clean_question(body["content"])
    except ValidationError as err:
        raise ValidationProblem(flatten_messages(err.messages)) from None
    except ChatRefused as refused:
        raise ValidationProblem({"content": str(refused)}) from None
    reason = refusal(found)
    if reason:
        abort(409, reason)
    try:
        asked = ask(found, api_user(), body["content"])
    except ChatRefused as refused:
        abort(409, str(refused))
    audit(
        "execution.chat",
        found,
        f"Asked a follow-up on run {found.id} (API)",
        message=asked.question.id,
        **_via_api(),
    )
    events = url_for("api.execution_events", execution_id=found.id, after=asked.after_seq)
    response = jsonify(
        messages_asked_schema.dump(
            {
                "question": message_dict(asked.question),
                "answer": message_dict(asked.answer),
                "links": {
                    "events": events,
                    "messages": url_for("api.execution_messages", execution_id=found.id),
                },
            }
        )
    )
    response.status_code = 202
    return response
