"""Running an assistant: the generated form, the live run page, cancel, retry."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for

from app.blueprints.runs import bp
from app.budgets import BudgetExceeded
from app.chain.events import events_after
from app.chain.queue import queue_position, request_cancel, retry_from, start_execution
from app.htmx import htmx
from app.models import Assistant, Execution
from app.rate_limits import RunStartLimited, check_run_start
from app.run_inputs import InputErrors, parse_inputs
from app.security import audit, flash_and_redirect, login_required, signed_in_user
from app.streaming.state import RunView


def runnable_assistant_or_404(assistant_id: int) -> Assistant:
    assistant = Assistant.get_or_none(Assistant.id == assistant_id)
    if assistant is None or not assistant.can_run(signed_in_user()):
        abort(404)
    return assistant


def execution_or_404(execution_id: int) -> Execution:
    execution = Execution.visible_to(signed_in_user()).where(Execution.id == execution_id).first()
    if execution is None:
        abort(404)
    return execution


def run_view(execution: Execution) -> RunView:
    """What has happened so far, folded from the stored events (the truth)."""
    view = RunView.from_definition(execution.definition, execution.status)
    for event in events_after(execution.id, 0, limit=100_000):
        view.apply(event.event_type, event.event_data, event.seq)
    view.status = execution.status
    if execution.status == "failed" and view.error is None:
        view.error = execution.error_message
    return view


@bp.route("/assistants/<int:assistant_id>/run", methods=["GET", "POST"])
@login_required
def start(assistant_id: int) -> Any:
    assistant = runnable_assistant_or_404(assistant_id)
    fields = assistant.ordered_fields()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    headers: dict[str, str] = {}
    if request.method == "GET" and request.args.get("again"):
        previous = (
            Execution.visible_to(signed_in_user())
            .where(Execution.id == request.args.get("again", type=int))
            .first()
        )
        values = dict(previous.input_data) if previous else {}
    if request.method == "POST":
        try:
            inputs = parse_inputs(fields, request.form, request.files)
        except InputErrors as exc:
            errors, values = exc.errors, exc.values
        else:
            try:  # refused: the form comes back with what was typed, and why
                check_run_start(signed_in_user().id)
                execution = start_execution(assistant, signed_in_user(), inputs, fields)
            except RunStartLimited as exc:
                errors, values = {"_form": str(exc.description)}, inputs
                headers = {"Retry-After": str(exc.wait)}
            except BudgetExceeded as exc:
                errors, values = {"_form": exc.message}, inputs
            else:
                audit(
                    "execution.started",
                    execution,
                    f"Ran “{assistant.name}”",
                    assistant=assistant.id,
                )
                target = url_for("runs.show", execution_id=execution.id)
                if htmx:
                    return "", 200, {"HX-Redirect": target}
                return redirect(target, code=303)
    return (
        render_template(
            "runs/start.html", assistant=assistant, fields=fields, values=values, errors=errors
        ),
        (429 if headers else 422) if errors else 200,
        headers,
    )


@bp.get("/runs/<int:execution_id>")
@login_required
def show(execution_id: int) -> Any:
    from app.blueprints.runs.chat import chat_panel

    execution = execution_or_404(execution_id)
    view = run_view(execution)
    place = queue_position(execution) if execution.status == "pending" else None
    return render_template(
        "runs/show.html",
        execution=execution,
        view=view,
        chat=chat_panel(execution, view),
        queue_place=place,
        assistant=execution.assistant,
    )


@bp.post("/runs/<int:execution_id>/cancel")
@login_required
def cancel(execution_id: int) -> Any:
    execution = execution_or_404(execution_id)
    if request_cancel(execution):
        audit("execution.cancelled", execution, f"Stopped run {execution.id}")
        return flash_and_redirect(
            "Stopping the run…", "runs.show", "info", execution_id=execution.id
        )
    return flash_and_redirect(
        "This run had already finished.", "runs.show", "info", execution_id=execution.id
    )


@bp.post("/runs/<int:execution_id>/retry")
@login_required
def retry(execution_id: int) -> Any:
    execution = execution_or_404(execution_id)
    step = request.form.get("step", type=int)
    if execution.status != "failed" or not step or step < 1:
        return flash_and_redirect(
            "Only a failed run can be retried from a prompt.",
            "runs.show",
            "error",
            execution_id=execution.id,
        )
    assistant = Assistant.get_or_none(Assistant.id == execution.assistant_id)
    if assistant is None or not assistant.can_run(signed_in_user()):
        abort(404)
    check_run_start(signed_in_user().id)
    try:
        new = retry_from(execution, step, signed_in_user())
    except BudgetExceeded as exc:
        return flash_and_redirect(exc.message, "runs.show", "error", execution_id=execution.id)
    audit(
        "execution.retried", new, f"Retried run {execution.id} from prompt {step}", of=execution.id
    )
    return flash_and_redirect(
        f"Retrying from prompt {step}; earlier results are reused.",
        "runs.show",
        "info",
        execution_id=new.id,
    )
