"""After the run: My runs, failed runs, run detail, feedback, downloads and the CSV export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import Response, abort, g, redirect, render_template, request, url_for

from app.blueprints.runs import bp
from app.blueprints.runs.routes import execution_or_404
from app.chain.chat import conversation
from app.chain.definition import ChainIndex
from app.date_filters import read_date_range
from app.db import database
from app.htmx import htmx, render_page_or_fragment
from app.models import Assistant, Execution, PromptResult, User
from app.models.execution import RUN_STATUSES
from app.run_exports import (
    csv_header,
    csv_row,
    csv_text,
    run_document,
    run_json,
    run_markdown,
    safe_filename,
)
from app.security import admin_required, audit, login_required, signed_in_user

PAGE_SIZE = 50
FEEDBACK_VALUES = {"up": "up", "down": "down", "clear": None}


@dataclass
class RunFilters:
    """My runs' GET parameters, validated: bad values become messages, never a 500."""

    status: str = ""
    assistant_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    everyone: bool = False
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Any, is_admin: bool) -> RunFilters:
        found = cls(everyone=is_admin and args.get("all") == "1")
        status = args.get("status", "")
        if status in RUN_STATUSES:
            found.status = status
        elif status:
            found.errors["status"] = "Choose a status from the list."
        found.assistant_id = args.get("assistant", type=int)
        found.page = max(args.get("page", 1, type=int), 1)
        read_date_range(args, found)
        return found

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query parameters that keep these filters (for the Newer/Older links)."""
        values: dict[str, Any] = {
            "status": self.status or None,
            "assistant": self.assistant_id,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "all": "1" if self.everyone else None,
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None and (k != "page" or v > 1)}

    def apply(self, query: Any) -> Any:
        if self.status:
            query = query.where(Execution.status == self.status)
        if self.assistant_id:
            query = query.where(Execution.assistant == self.assistant_id)
        if self.date_from:
            query = query.where(
                Execution.started_at >= dt.datetime.combine(self.date_from, dt.time())
            )
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time())
            query = query.where(Execution.started_at < end)
        return query


def _runs_query(user: User, everyone: bool) -> Any:
    query = (
        Execution.select(Execution, Assistant, User).join(Assistant).switch(Execution).join(User)
    )
    return query if everyone else query.where(Execution.user == user)


def _page(query: Any, page: int) -> tuple[list[Execution], bool]:
    ordered = query.order_by(Execution.id.desc())
    rows = list(ordered.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


@bp.get("/runs")
@login_required
def index() -> Any:
    user = signed_in_user()
    filters = RunFilters.from_args(request.args, user.is_admin)
    base = _runs_query(user, filters.everyone)
    runs, has_older = ([], False) if filters.errors else _page(filters.apply(base), filters.page)
    ran = Execution.select(Execution.assistant).distinct()
    if not filters.everyone:
        ran = ran.where(Execution.user == user)
    assistants = Assistant.select(Assistant.id, Assistant.name).where(Assistant.id.in_(ran))
    html = render_page_or_fragment(
        "runs/index.html",
        "runs/_partials/_history_table.html",
        runs=runs,
        filters=filters,
        has_older=has_older,
        assistants=list(assistants.order_by(Assistant.name)),
        statuses=RUN_STATUSES,
    )
    return html, 422 if filters.errors else 200


@bp.get("/admin/runs/failed")
@admin_required
def failed() -> Any:
    """The seed's "failed executions" query as a page: everyone's failed runs, with errors."""
    return redirect(url_for("runs.index", status="failed", all="1"))


def _results(execution: Execution) -> list[PromptResult]:
    return list(
        PromptResult.select().where(PromptResult.execution == execution).order_by(PromptResult.step)
    )


@bp.get("/runs/<int:execution_id>/detail")
@login_required
def detail(execution_id: int) -> Any:
    execution = execution_or_404(execution_id)
    results = {result.step: result for result in _results(execution)}
    steps = [(step, results.get(step.number)) for step in ChainIndex(execution.definition).steps]
    messages = conversation(execution.id)
    return render_template(
        "runs/detail.html",
        execution=execution,
        assistant=execution.assistant,
        steps=steps,
        messages=messages,
    )


@bp.app_template_global()
def result_actions(execution_id: int, step: int) -> dict[str, Any]:
    """Feedback state for a step's action buttons; also called while a run page streams."""

    def load() -> dict[str, Any]:
        row = (
            PromptResult.select(PromptResult.user_feedback, Execution.user)
            .join(Execution)
            .where(PromptResult.execution == execution_id, PromptResult.step == step)
            .objects()
            .first()
        )
        user = g.get("user")
        can_rate = row is not None and user is not None and row.user == user.id
        return {"feedback": row.user_feedback if row else None, "can_rate": can_rate}

    if database.is_closed():
        with database.connection_context():
            return load()
    return load()


@bp.post("/runs/<int:execution_id>/results/<int:step>/feedback")
@login_required
def feedback(execution_id: int, step: int) -> Any:
    execution = execution_or_404(execution_id)
    if execution.user_id != signed_in_user().id:
        abort(403)  # an administrator may read the run; the thumbs are its owner's
    value = request.form.get("value", "")
    result = PromptResult.get_or_none(
        PromptResult.execution == execution, PromptResult.step == step
    )
    if result is None or result.status != "completed" or value not in FEEDBACK_VALUES:
        abort(404 if result is None else 400)
    result.user_feedback = FEEDBACK_VALUES[value]
    result.save(only=[PromptResult.user_feedback])
    audit("execution.feedback", execution, f"Rated prompt {step}: {value}", step=step)
    if htmx:
        return render_template(
            "runs/_partials/_results_actions.html",
            execution_id=execution.id,
            actions_step=step,
            actions_output=result.output_data or "",
        )
    if request.form.get("back") == "detail":
        target = url_for("runs.detail", execution_id=execution.id) + f"#detail-step-{step}"
    else:
        target = url_for("runs.show", execution_id=execution.id) + f"#step-{step}"
    return redirect(target, code=303)


def _download(execution: Execution, body: str, suffix: str, mimetype: str) -> Response:
    audit("execution.exported", execution, f"Downloaded run {execution.id} as {suffix}")
    name = safe_filename(execution.assistant.name, "run", execution.id, suffix=suffix)
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/runs/<int:execution_id>/export.md")
@login_required
def export_markdown(execution_id: int) -> Response:
    execution = execution_or_404(execution_id)
    body = run_markdown(run_document(execution, _results(execution), conversation(execution.id)))
    return _download(execution, body, "md", "text/markdown")


@bp.get("/runs/<int:execution_id>/export.json")
@login_required
def export_json(execution_id: int) -> Response:
    execution = execution_or_404(execution_id)
    body = run_json(run_document(execution, _results(execution), conversation(execution.id)))
    return _download(execution, body, "json", "application/json")


@bp.get("/assistants/<int:assistant_id>/runs.csv")
@login_required
def assistant_csv(assistant_id: int) -> Response:
    user = signed_in_user()
    assistant = Assistant.get_or_none(Assistant.id == assistant_id)
    if assistant is None or not (user.is_admin or assistant.user_id == user.id):
        abort(404)
    field_names = [f.name for f in assistant.ordered_fields()]
    prompt_names = [p.name for p in assistant.ordered_prompts()]
    runs = list(
        Execution.select(Execution, User)
        .join(User)
        .where(Execution.assistant == assistant)
        .order_by(Execution.id)
    )
    outputs: dict[int, dict[str, str]] = {run.id: {} for run in runs}
    results: Any = (
        PromptResult.select(
            PromptResult.execution, PromptResult.prompt_name, PromptResult.output_data
        )
        .join(Execution)
        .where(Execution.assistant == assistant)
        .order_by(PromptResult.step)
        .tuples()
    )
    for execution_id, prompt_name, output in results:
        outputs[execution_id].setdefault(prompt_name, output or "")
    rows = (csv_row(run, outputs[run.id], field_names, prompt_names) for run in runs)
    body = csv_text(csv_header(field_names, prompt_names), rows)
    audit("execution.exported", assistant, f"Exported {len(runs)} runs as CSV", runs=len(runs))
    name = safe_filename(assistant.name, "runs", suffix="csv")
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
