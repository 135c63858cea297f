"""An assistant's lifecycle in the builder: submit, versions and their diff, clone, disable,
enable, delete, transfer — and telling people what happened (edits after approval, decisions)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, render_template, request

from app import assistant_lifecycle as lifecycle
from app.assistant_lifecycle import LifecycleError
from app.blueprints.builder import bp
from app.blueprints.builder.common import AUTHORS, assistant_or_404, redirect_to_editor
from app.db import database
from app.htmx import is_fragment_request, render_page_or_fragment
from app.models import Assistant, AssistantVersion
from app.security import (
    admin_required,
    audit,
    current_user,
    flash_and_redirect,
    roles_required,
    signed_in_user,
)
from app.versions_diff import diff_versions

BACK_TO_PENDING = (
    "This assistant was approved, so your change sends it back for approval as version {n}. "
    "It is out of the catalog until an administrator approves it again; you and administrators "
    "can still run it."
)
REVIEW_UPDATED = "It is waiting for approval: the reviewer will see this change."
# Pages where a decision on one of your assistants is announced (never a download or stream).
NOTICE_ENDPOINTS = frozenset(
    {"catalog.index", "builder.index", "builder.edit", "builder.versions", "runs.index"}
)


def _fail(assistant: Assistant, error: LifecycleError) -> Any:
    return redirect_to_editor(assistant, error.message, category="error", anchor="lifecycle")


# --- telling people --------------------------------------------------------------------------
@bp.after_request
def _tell_the_editor(response: Any) -> Any:
    """After an edit that changed the review state: htmx fragments get the lifecycle panel out
    of band (status, what happened); whole-page answers get the message flashed."""
    found = g.pop("lifecycle_edit", None)
    if found is None or response.status_code >= 500:
        return response
    assistant, outcome = found
    message = (
        BACK_TO_PENDING.format(n=assistant.version) if outcome == "back_to_pending" else ""
    ) or REVIEW_UPDATED
    fragment = (
        is_fragment_request()
        and response.status_code in (200, 422)
        and "HX-Redirect" not in response.headers
        and response.mimetype == "text/html"
    )
    if not fragment:
        if outcome == "back_to_pending":
            flash(message, "warning")
        return response
    panel = render_template(
        "builder/_partials/_lifecycle.html",
        assistant=assistant,
        lifecycle=lifecycle.panel(assistant, signed_in_user()),
        notice=message,
        oob=True,
    )
    response.set_data(response.get_data(as_text=True) + panel)
    return response


@bp.before_app_request
def _announce_decisions() -> None:
    """The owner hears about approvals and rejections on their next visit."""
    user = current_user()
    if (
        user is None
        or request.method != "GET"
        or request.endpoint not in NOTICE_ENDPOINTS
        or is_fragment_request()
        or not user.can_author
    ):
        return
    decided = lifecycle.unseen_decisions(user)
    for version in decided:
        name = version.assistant.name
        if version.decision == "approved":
            flash(f"“{name}” was approved (version {version.number}): it is in the catalog.")
        else:
            flash(
                f"“{name}” was not approved (version {version.number}). "
                f"The reviewer said: {version.reason}",
                "warning",
            )
    lifecycle.mark_notified(decided)


# --- submit ----------------------------------------------------------------------------------
@bp.post("/assistants/<int:assistant_id>/submit")
@roles_required(*AUTHORS)
def submit(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    try:
        with database.atomic():
            version = lifecycle.submit(assistant, signed_in_user())
            audit(
                "assistant.submitted",
                assistant,
                f"Submitted “{assistant.name}” for approval as version {version.number}",
                version=version.number,
            )
    except LifecycleError as error:
        return _fail(assistant, error)
    return redirect_to_editor(
        assistant,
        f"Submitted for approval as version {version.number}. An administrator will review it; "
        "you will see the decision here and on My assistants.",
        anchor="lifecycle",
    )


# --- versions --------------------------------------------------------------------------------
def _chosen(versions: list[AssistantVersion], key: str, default: int) -> int:
    number = request.args.get(key, type=int)
    known = {v.number for v in versions} | {0}
    return number if number in known else default


@bp.get("/assistants/<int:assistant_id>/versions")
@roles_required(*AUTHORS)
def versions(assistant_id: int) -> Any:
    """Every frozen version, and a side-by-side diff of any two (0 = as it is now)."""
    assistant = assistant_or_404(assistant_id)
    found = lifecycle.versions_of(assistant)
    by_number = {v.number: v.definition for v in found}
    by_number[0] = lifecycle.snapshot(assistant, assistant.version)
    newest = found[0].number if found else 0
    default_old = found[1].number if len(found) > 1 else (newest if found else 0)
    old = _chosen(found, "old", default_old)
    new = _chosen(found, "new", newest if len(found) > 1 else 0)
    sections = diff_versions(by_number[old], by_number[new])
    show_all = request.args.get("all") == "1" or not found
    return render_page_or_fragment(
        "builder/versions.html",
        "builder/_partials/_version_diff.html",
        assistant=assistant,
        versions=found,
        old=old,
        new=new,
        sections=sections,
        show_all=show_all,
    )


# --- clone -----------------------------------------------------------------------------------
@bp.post("/assistants/<int:assistant_id>/clone")
@roles_required(*AUTHORS)
def clone(assistant_id: int) -> Any:
    """Copy any assistant you may see (run or edit) into a draft of your own."""
    user = signed_in_user()
    source = Assistant.get_or_none(Assistant.id == assistant_id)
    if source is None or not (source.can_run(user) or source.can_edit(user)):
        abort(404)
    with database.atomic():
        copy = lifecycle.clone(source, user)
        audit(
            "assistant.cloned",
            copy,
            f"Copied “{source.name}” (#{source.id}) into the draft “{copy.name}”",
            source=source.id,
        )
    return redirect_to_editor(
        copy,
        f"“{copy.name}” is your own draft: change what you like, then submit it for approval.",
        anchor="details",
    )


# --- disable, enable -------------------------------------------------------------------------
@bp.post("/assistants/<int:assistant_id>/disable")
@roles_required(*AUTHORS)
def disable(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    try:
        with database.atomic():
            lifecycle.disable(assistant)
            audit("assistant.disabled", assistant, f"Disabled “{assistant.name}”")
    except LifecycleError as error:
        return _fail(assistant, error)
    return redirect_to_editor(
        assistant,
        "Disabled: it is out of the catalog and nobody can run it. Its runs are kept.",
        anchor="lifecycle",
    )


@bp.post("/assistants/<int:assistant_id>/enable")
@admin_required
def enable(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    try:
        with database.atomic():
            status = lifecycle.enable(assistant)
            audit(
                "assistant.enabled",
                assistant,
                f"Enabled “{assistant.name}” again ({assistant.status_label.lower()})",
                status=status,
            )
    except LifecycleError as error:
        return _fail(assistant, error)
    return redirect_to_editor(
        assistant, f"Enabled again: it is {assistant.status_label.lower()}.", anchor="lifecycle"
    )


# --- delete ----------------------------------------------------------------------------------
@bp.route("/assistants/<int:assistant_id>/delete", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def delete(assistant_id: int) -> Any:
    """A confirmation page that says what goes with it; the POST deletes."""
    assistant = assistant_or_404(assistant_id)
    user = signed_in_user()
    allowed = lifecycle.can_delete(assistant, user)
    runs = lifecycle.run_count(assistant)
    active = lifecycle.active_run_count(assistant)
    if request.method == "POST" and allowed:
        name = assistant.name
        try:
            with database.atomic():
                audit(
                    "assistant.deleted",
                    assistant,
                    f"Deleted “{name}” with {runs} run{'s' if runs != 1 else ''}",
                    name=name,
                    owner=assistant.user_id,
                    runs=runs,
                    versions=lifecycle.versions_query(assistant).count(),
                )
                lifecycle.delete(assistant)
        except LifecycleError as error:
            return _fail(assistant, error)
        return flash_and_redirect(f"Deleted “{name}”.", "builder.index")
    page = render_template(
        "builder/delete.html",
        assistant=assistant,
        allowed=allowed,
        runs=runs,
        active=active,
        versions=lifecycle.versions_query(assistant).count(),
    )
    return page, 200 if allowed else 403


# --- transfer --------------------------------------------------------------------------------
@bp.route("/assistants/<int:assistant_id>/transfer", methods=["GET", "POST"])
@admin_required
def transfer(assistant_id: int) -> Any:
    assistant = assistant_or_404(assistant_id)
    candidates = lifecycle.transfer_candidates(assistant)
    error = None
    if request.method == "POST":
        chosen = request.form.get("owner", type=int)
        new_owner = next((u for u in candidates if u.id == chosen), None)
        if new_owner is None:
            error = "Choose who should own it: an active staff member or administrator."
        else:
            try:
                with database.atomic():
                    previous = lifecycle.transfer(assistant, new_owner)
                    audit(
                        "assistant.transferred",
                        assistant,
                        f"Gave “{assistant.name}” from {previous.email} to {new_owner.email}",
                        previous_owner=previous.id,
                        new_owner=new_owner.id,
                    )
            except LifecycleError as exc:
                error = exc.message
            else:
                return redirect_to_editor(
                    assistant, f"{new_owner.name} now owns “{assistant.name}”.", anchor="lifecycle"
                )
    page = render_template(
        "builder/transfer.html", assistant=assistant, candidates=candidates, error=error
    )
    return page, 422 if error else 200
