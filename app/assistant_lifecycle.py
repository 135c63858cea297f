"""An assistant's life: submit, approve or reject, edits after approval, versions, clone,
disable and enable, delete, transfer. No Flask: views call these inside a transaction and write
the audit trail themselves.

Statuses (DESIGN §8): draft → pending_approval → approved | rejected; disabled = retired.

- Each submission freezes a version (``AssistantVersion``, numbered from 1 per assistant) whose
  ``definition`` is ``Assistant.definition()`` plus a ``details`` block (description, icon,
  audience). ``Assistant.version`` is the latest number: runs record it.
- Editing an approved assistant sends it back to review: a new version is frozen and the
  assistant is pending approval (out of the catalog; its owner and administrators still run it).
- Editing an assistant that is waiting for review refreshes the undecided version, so the
  reviewer decides on what would run. A decided version never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app.chain.lint import Finding, lint
from app.db import database, utcnow
from app.models import (
    Assistant,
    AssistantVersion,
    ChainPrompt,
    Execution,
    ExecutionEvent,
    ExecutionMessage,
    InputField,
    PromptResult,
    Role,
    User,
    UserRole,
)

MAX_REASON = 2000
EditOutcome = Literal["back_to_pending", "review_updated"]


class LifecycleError(Exception):
    """A transition that is not allowed now; the message says why, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckItem:
    label: str
    ok: bool
    detail: str = ""


# --- versions --------------------------------------------------------------------------------
def snapshot(assistant: Assistant, number: int) -> dict[str, Any]:
    """What a version freezes: the engine's definition plus the details people see."""
    definition = assistant.definition()
    definition["assistant"]["version"] = number
    definition["details"] = {
        "description": assistant.description or "",
        "image_path": assistant.image_path,
        "audience": sorted(assistant.audience or []),
    }
    return definition


def versions_query(assistant: Assistant) -> Any:
    return AssistantVersion.select().where(AssistantVersion.assistant == assistant)


def versions_of(assistant: Assistant) -> list[AssistantVersion]:
    return list(versions_query(assistant).order_by(AssistantVersion.number.desc()))


def undecided_version(assistant: Assistant) -> AssistantVersion | None:
    return (
        versions_query(assistant)
        .where(AssistantVersion.decision.is_null())
        .order_by(AssistantVersion.number.desc())
        .first()
    )


def last_approved(assistant: Assistant, before: int | None = None) -> AssistantVersion | None:
    query = versions_query(assistant).where(AssistantVersion.decision == "approved")
    if before is not None:
        query = query.where(AssistantVersion.number < before)
    return query.order_by(AssistantVersion.number.desc()).first()


def _freeze(assistant: Assistant, actor: User) -> AssistantVersion:
    latest = versions_query(assistant).order_by(AssistantVersion.number.desc()).first()
    number = max(assistant.version or 0, latest.number if latest else 0) + 1
    version = AssistantVersion.create(
        assistant=assistant,
        number=number,
        definition=snapshot(assistant, number),
        submitted_by=actor,
    )
    assistant.version = number
    return version


# --- submit, approve, reject -----------------------------------------------------------------
def checklist(assistant: Assistant, findings: list[Finding] | None = None) -> list[CheckItem]:
    """What must be true before an assistant can be submitted (and approved)."""
    if findings is None:
        findings = lint(assistant.definition())
    errors = [f for f in findings if f.severity == "error"]
    prompts = assistant.prompts.count()
    detail = "; ".join(f.message for f in errors[:3])
    if len(errors) > 3:
        detail += f"; and {len(errors) - 3} more"
    return [
        CheckItem("It has a name", bool((assistant.name or "").strip())),
        CheckItem(
            "It has a description",
            bool((assistant.description or "").strip()),
            "Say in a sentence what it does: people choose from the catalog by it.",
        ),
        CheckItem(
            "It has at least one prompt",
            prompts > 0,
            "" if prompts else "Add a prompt in the Prompts section.",
        ),
        CheckItem(
            "The check finds no problems",
            not errors,
            detail if errors else "",
        ),
    ]


def ready(items: list[CheckItem]) -> bool:
    return all(item.ok for item in items)


@dataclass(frozen=True)
class Panel:
    """What the edit page's "Approval and versions" section shows to this user."""

    checklist: list[CheckItem]
    ready: bool
    can_submit: bool
    can_delete: bool
    versions: int
    runs: int


def panel(assistant: Assistant, user: User, findings: list[Finding] | None = None) -> Panel:
    items = checklist(assistant, findings)
    return Panel(
        checklist=items,
        ready=ready(items),
        can_submit=assistant.status in ("draft", "rejected"),
        can_delete=can_delete(assistant, user),
        versions=versions_query(assistant).count(),
        runs=run_count(assistant),
    )


def submit(assistant: Assistant, actor: User) -> AssistantVersion:
    if assistant.status not in ("draft", "rejected"):
        raise LifecycleError(
            f"Only a draft or a rejected assistant can be submitted; this one is "
            f"{assistant.status_label.lower()}."
        )
    items = checklist(assistant)
    if not ready(items):
        missing = "; ".join(item.label.lower() for item in items if not item.ok)
        raise LifecycleError(f"Not ready to submit. Still needed: {missing}.")
    with database.atomic():
        version = _freeze(assistant, actor)
        assistant.status = "pending_approval"
        assistant.touch()
        assistant.save(only=[Assistant.status, Assistant.version, Assistant.updated_at])
    return version


def _pending(assistant: Assistant, actor: User) -> AssistantVersion:
    _require_pending(assistant)
    return undecided_version(assistant) or _freeze(assistant, actor)


def _decide(
    assistant: Assistant, version: AssistantVersion, actor: User, decision: str, reason: str | None
) -> None:
    """Record the decision on the version, and the assistant's new status (and reason)."""
    now = utcnow()
    version.decision, version.decided_by, version.decided_at = decision, actor, now
    version.reason = reason
    # The owner is told on their next visit, unless they decided it themselves.
    version.owner_notified_at = now if version.assistant.user_id == actor.id else None
    version.save()
    assistant.status, assistant.rejection_reason = decision, reason
    assistant.touch()
    assistant.save(
        only=[Assistant.status, Assistant.rejection_reason, Assistant.version, Assistant.updated_at]
    )


def _require_pending(assistant: Assistant) -> None:
    if assistant.status != "pending_approval":
        raise LifecycleError(
            f"Only an assistant waiting for approval can be decided; this one is "
            f"{assistant.status_label.lower()}."
        )


def approve(assistant: Assistant, actor: User) -> AssistantVersion:
    _require_pending(assistant)
    if any(f.severity == "error" for f in lint(assistant.definition())):
        raise LifecycleError("The check finds problems: it can't be approved until they are fixed.")
    with database.atomic():
        version = _pending(assistant, actor)
        version.definition = snapshot(assistant, version.number)  # exactly what was approved
        _decide(assistant, version, actor, "approved", None)
    return version


def reject(assistant: Assistant, actor: User, reason: str) -> AssistantVersion:
    reason = (reason or "").strip()
    if not reason:
        raise LifecycleError("Say why it is rejected: the owner reads this to fix it.")
    if len(reason) > MAX_REASON:
        raise LifecycleError(f"Keep the reason under {MAX_REASON:,} characters.")
    with database.atomic():
        version = _pending(assistant, actor)
        _decide(assistant, version, actor, "rejected", reason)
    return version


def after_edit(assistant: Assistant, actor: User) -> EditOutcome | None:
    """Call after any builder change, inside its transaction. An approved assistant goes back
    to review (a new version is frozen); one waiting for review has its undecided version
    refreshed. Other statuses are unaffected."""
    if assistant.status == "approved":
        _freeze(assistant, actor)
        assistant.status = "pending_approval"
        assistant.save(only=[Assistant.status, Assistant.version])
        return "back_to_pending"
    if assistant.status == "pending_approval":
        version = undecided_version(assistant)
        if version is None:
            _freeze(assistant, actor)
            assistant.save(only=[Assistant.version])
        else:
            version.definition = snapshot(assistant, version.number)
            version.save(only=[AssistantVersion.definition])
        return "review_updated"
    return None


def pending_count() -> int:
    return Assistant.select().where(Assistant.status == "pending_approval").count()


def unseen_decisions(user: User) -> list[AssistantVersion]:
    """Decisions on the user's assistants they have not been told about yet."""
    return list(
        AssistantVersion.select(AssistantVersion, Assistant)
        .join(Assistant)
        .where(
            (Assistant.user == user)
            & AssistantVersion.decision.is_null(False)
            & AssistantVersion.owner_notified_at.is_null()
        )
        .order_by(AssistantVersion.decided_at)
    )


def mark_notified(versions: list[AssistantVersion]) -> None:
    if versions:
        AssistantVersion.update(owner_notified_at=utcnow()).where(
            AssistantVersion.id.in_([v.id for v in versions])
        ).execute()


# --- clone, disable, enable ------------------------------------------------------------------
def clone(assistant: Assistant, owner: User) -> Assistant:
    """A new draft of ``owner``'s with the same details, fields and prompts. References stay
    intact: they name fields, prompt slugs and step numbers, never row ids."""
    with database.atomic():
        copy = Assistant.create(
            user=owner,
            name=f"Copy of {assistant.name}"[:255],
            description=assistant.description,
            status="draft",
            image_path=assistant.image_path,
            audience=list(assistant.audience or []),
            is_parallel=assistant.is_parallel,
            timeout_seconds=assistant.timeout_seconds,
            version=0,
        )
        for field in assistant.ordered_fields():
            InputField.create(
                assistant=copy,
                name=field.name,
                label=field.label,
                field_type=field.field_type,
                position=field.position,
                options=dict(field.options or {}),
            )
        for prompt in assistant.ordered_prompts():
            ChainPrompt.create(
                assistant=copy,
                name=prompt.name,
                content=prompt.content,
                system_context=prompt.system_context,
                model=prompt.model_id,
                position=prompt.position,
                sort_order=prompt.sort_order,
                parallel_group=prompt.parallel_group,
                input_mapping=dict(prompt.input_mapping or {}),
                timeout_seconds=prompt.timeout_seconds,
                temperature=prompt.temperature,
                max_tokens=prompt.max_tokens,
                fallback_model=prompt.fallback_model_id,
            )
    return copy


def disable(assistant: Assistant) -> None:
    if assistant.status == "disabled":
        raise LifecycleError("It is already disabled.")
    assistant.status = "disabled"
    assistant.touch()
    assistant.save(only=[Assistant.status, Assistant.updated_at])


def status_after_enable(assistant: Assistant) -> str:
    """Back to where its versions say it was: approved, waiting, rejected, or a draft."""
    latest = versions_query(assistant).order_by(AssistantVersion.number.desc()).first()
    if latest is None:
        return "approved" if assistant.version else "draft"  # e.g. demo data, approved as loaded
    return {"approved": "approved", "rejected": "rejected", None: "pending_approval"}[
        latest.decision
    ]


def enable(assistant: Assistant) -> str:
    if assistant.status != "disabled":
        raise LifecycleError("Only a disabled assistant can be enabled.")
    assistant.status = status_after_enable(assistant)
    assistant.touch()
    assistant.save(only=[Assistant.status, Assistant.updated_at])
    return assistant.status


# --- delete ----------------------------------------------------------------------------------
def can_delete(assistant: Assistant, user: User) -> bool:
    """Administrators delete any; owners their drafts and rejected ones (DESIGN §8)."""
    if user.is_admin:
        return True
    return assistant.user_id == user.id and assistant.status in ("draft", "rejected")


def run_count(assistant: Assistant) -> int:
    return assistant.executions.count()


def active_run_count(assistant: Assistant) -> int:
    return assistant.executions.where(Execution.status.in_(("pending", "running"))).count()


def delete(assistant: Assistant) -> int:
    """Delete the assistant with its runs (results, events, chat), versions, fields and prompts,
    in one transaction. Refused while a run is queued or running. Returns the runs deleted."""
    if active_run_count(assistant):
        raise LifecycleError(
            "A run of this assistant is queued or running. Wait for it to finish, or stop it, "
            "then delete."
        )
    runs = Execution.select(Execution.id).where(Execution.assistant == assistant)
    with database.atomic():
        count = runs.count()
        ExecutionMessage.delete().where(ExecutionMessage.execution.in_(runs)).execute()
        ExecutionEvent.delete().where(ExecutionEvent.execution.in_(runs)).execute()
        PromptResult.delete().where(PromptResult.execution.in_(runs)).execute()
        Execution.delete().where(Execution.assistant == assistant).execute()
        AssistantVersion.delete().where(AssistantVersion.assistant == assistant).execute()
        ChainPrompt.delete().where(ChainPrompt.assistant == assistant).execute()
        InputField.delete().where(InputField.assistant == assistant).execute()
        Assistant.delete().where(Assistant.id == assistant.id).execute()
    return count


# --- transfer --------------------------------------------------------------------------------
def transfer_candidates(assistant: Assistant) -> list[User]:
    """Active staff and administrators other than the current owner."""
    authors = (
        UserRole.select(UserRole.user).join(Role).where(Role.name.in_(("staff", "administrator")))
    )
    return list(
        User.select()
        .where(
            User.id.in_(authors)
            & (User.is_active == True)  # noqa: E712
            & (User.id != assistant.user_id)
        )
        .order_by(User.name, User.email)
    )


def transfer(assistant: Assistant, new_owner: User) -> User:
    """Give the assistant to another author; returns the previous owner."""
    if new_owner.id == assistant.user_id:
        raise LifecycleError(f"{new_owner.name} already owns it.")
    if not new_owner.is_active or not new_owner.can_author:
        raise LifecycleError("Choose an active staff member or administrator.")
    previous = assistant.user
    assistant.user = new_owner
    assistant.touch()
    assistant.save(only=[Assistant.user, Assistant.updated_at])
    return previous
