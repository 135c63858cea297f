"""Follow-up questions on a completed run: ask (POST/redirect/GET, or htmx), see them on the page.

The answer is written by the runner pool (app.chain.chat) and streams through the run's SSE
stream; without JavaScript the page refreshes itself until it is there.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for

from app.blueprints.runs import bp
from app.blueprints.runs.routes import execution_or_404, run_view
from app.chain.chat import (
    MAX_QUESTION_CHARS,
    OPEN_STATUSES,
    ChatRefused,
    answer_models,
    ask,
    conversation,
    refusal,
)
from app.htmx import htmx
from app.models import Execution
from app.security import (
    audit,
    current_user,
    flash_and_redirect,
    login_required,
    signed_in_user,
)
from app.streaming.state import RunView


def chat_panel(
    execution: Execution, view: RunView, error: str | None = None, question: str = ""
) -> dict[str, Any]:
    """What the chat section shows: the conversation, the form (owner only), what is open."""
    messages = conversation(execution.id) if execution.is_finished else []
    user = current_user()
    owner = user is not None and user.id == execution.user_id
    answers = [m for m in messages if m.role == "assistant"]
    retry_question = None
    if answers and answers[-1].status == "failed":
        before = [m for m in messages if m.role == "user" and m.id < answers[-1].id]
        retry_question = before[-1].content if before else None
    models = answer_models(execution.definition) if execution.status == "completed" else []
    return {
        "visible": execution.is_finished,
        "messages": messages,
        "answers": view.chat,
        "owner": owner,
        "can_ask": owner and execution.status == "completed",
        "reason": refusal(execution),
        "open": any(m.status in OPEN_STATUSES for m in answers),
        "after": view.last_seq,
        "error": error,
        "question": question,
        "limit": MAX_QUESTION_CHARS,
        "model_name": models[0].name if models else None,
        "retry_for": answers[-1].id if retry_question else None,
        "retry_question": retry_question,
    }


@bp.post("/runs/<int:execution_id>/messages")
@login_required
def ask_question(execution_id: int) -> Any:
    execution = execution_or_404(execution_id)
    if execution.user_id != signed_in_user().id:
        abort(403)  # an administrator may read the conversation; asking is the owner's
    raw = request.form.get("question", "")
    reason = refusal(execution)
    if reason:
        return flash_and_redirect(reason, "runs.show", "error", execution_id=execution.id)
    try:
        asked = ask(execution, signed_in_user(), raw)
    except ChatRefused as refused:
        kept = raw.replace("\x00", "")  # the typed question comes back, never lost
        return _render(execution, str(refused), kept, status=422)
    audit(
        "execution.chat",
        execution,
        f"Asked a follow-up on run {execution.id}",
        message=asked.question.id,
    )
    if htmx:
        return _render(execution)
    return redirect(url_for("runs.show", execution_id=execution.id) + "#run-chat", code=303)


def _render(
    execution: Execution, error: str | None = None, question: str = "", status: int = 200
) -> Any:
    view = run_view(execution)
    chat = chat_panel(execution, view, error, question)
    if htmx:
        return render_template(
            "runs/_partials/_chat.html", execution=execution, view=view, chat=chat
        ), status
    return render_template(
        "runs/show.html",
        execution=execution,
        view=view,
        chat=chat,
        queue_place=None,
        assistant=execution.assistant,
    ), status
