"""Administration: the approval queue — review a pending assistant, approve it or reject it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, render_template, request

from app import assistant_lifecycle as lifecycle
from app.assistant_lifecycle import LifecycleError
from app.blueprints.admin import bp
from app.chain.lint import Finding, lint
from app.db import database
from app.models import Assistant, AssistantVersion, User
from app.security import admin_required, audit, flash_and_redirect, signed_in_user
from app.versions_diff import DiffSection, diff_versions


@dataclass(frozen=True)
class Review:
    assistant: Assistant
    findings: list[Finding]
    version: AssistantVersion | None
    base: AssistantVersion | None  # the last approved version before this one
    sections: list[DiffSection]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def _review(assistant: Assistant) -> Review:
    definition = assistant.definition()
    version = lifecycle.undecided_version(assistant)
    number = version.number if version else assistant.version
    base = lifecycle.last_approved(assistant, before=number)
    sections: list[DiffSection] = []
    if base is not None:
        current = lifecycle.snapshot(assistant, number)
        sections = [s for s in diff_versions(base.definition, current) if s.kind != "same"]
    return Review(assistant, lint(definition), version, base, sections)


def _queue() -> list[Review]:
    pending = (
        Assistant.select(Assistant, User)
        .join(User)
        .where(Assistant.status == "pending_approval")
        .order_by(Assistant.updated_at, Assistant.id)
    )
    return [_review(assistant) for assistant in pending]


def _pending_or_404(assistant_id: int) -> Assistant:
    assistant = Assistant.get_or_none(Assistant.id == assistant_id)
    if assistant is None:
        abort(404)
    return assistant


@bp.get("/admin/approvals")
@admin_required
def approvals() -> Any:
    return render_template("admin/approvals.html", reviews=_queue(), errors={}, values={})


@bp.post("/admin/approvals/<int:assistant_id>/approve")
@admin_required
def approve(assistant_id: int) -> Any:
    assistant = _pending_or_404(assistant_id)
    try:
        with database.atomic():
            version = lifecycle.approve(assistant, signed_in_user())
            audit(
                "assistant.approved",
                assistant,
                f"Approved “{assistant.name}” (version {version.number})",
                version=version.number,
            )
    except LifecycleError as error:
        message = f"“{assistant.name}”: {error.message}"
        return flash_and_redirect(message, "admin.approvals", "error")
    return flash_and_redirect(
        f"Approved “{assistant.name}” (version {version.number}): it is in the catalog now.",
        "admin.approvals",
    )


@bp.post("/admin/approvals/<int:assistant_id>/reject")
@admin_required
def reject(assistant_id: int) -> Any:
    assistant = _pending_or_404(assistant_id)
    reason = request.form.get("reason", "")
    try:
        with database.atomic():
            version = lifecycle.reject(assistant, signed_in_user(), reason)
            audit(
                "assistant.rejected",
                assistant,
                f"Rejected “{assistant.name}” (version {version.number}): {reason.strip()}",
                version=version.number,
                reason=reason.strip(),
            )
    except LifecycleError as error:
        if assistant.status != "pending_approval":
            return flash_and_redirect(
                f"“{assistant.name}”: {error.message}", "admin.approvals", "error"
            )
        page = render_template(
            "admin/approvals.html",
            reviews=_queue(),
            errors={assistant.id: error.message},
            values={assistant.id: reason},
        )
        return page, 422
    return flash_and_redirect(
        f"Rejected “{assistant.name}” (version {version.number}). Its owner will see your reason.",
        "admin.approvals",
    )
