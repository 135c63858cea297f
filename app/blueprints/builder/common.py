"""What builder views share: the assistant you may edit, "it changed", the editor context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, g, make_response, redirect, url_for

from app import assistant_lifecycle, builder
from app.chain.definition import slugify
from app.chain.lint import Finding, lint
from app.chain.references import Change, references_to
from app.htmx import htmx, render_page_or_fragment
from app.models import AIModel, Assistant, ChainPrompt
from app.models.ai_model import DEMO_PROVIDER
from app.security import audit, signed_in_user

AUTHORS = ("administrator", "staff")
DEMO_LABEL = "Offline demo — no AI"


def assistant_or_404(assistant_id: int) -> Assistant:
    """The assistant if the signed-in user may edit it; anyone else's id does not exist (404)."""
    assistant = Assistant.editable_by(signed_in_user()).where(Assistant.id == assistant_id).first()
    if assistant is None:
        abort(404)
    return assistant


def touched(assistant: Assistant) -> None:
    """Every builder change ends here: updated_at, and an approved assistant back to review."""
    assistant.touch()
    assistant.save(only=[Assistant.updated_at])
    after_edit(assistant)


def after_edit(assistant: Assistant) -> None:
    """An edit of an approved assistant sends it back for approval (audited, and the editor is
    told: app.blueprints.builder.lifecycle adds the notice to the response)."""
    user = signed_in_user()
    outcome = assistant_lifecycle.after_edit(assistant, user)
    if outcome is not None:
        g.lifecycle_edit = (assistant, outcome)
    if outcome == "back_to_pending":
        audit(
            "assistant.edited_back_to_pending",
            assistant,
            f"“{assistant.name}” was edited after approval: back to pending approval "
            f"as version {assistant.version}",
            version=assistant.version,
        )


def model_label(model: AIModel) -> str:
    if model.provider == DEMO_PROVIDER:
        return DEMO_LABEL if model.name == DEMO_LABEL else f"{model.name} ({DEMO_LABEL})"
    return model.name


def redirect_to_editor(
    assistant: Assistant,
    message: str,
    changes: Sequence[Change | str] = (),
    anchor: str | None = None,
    category: str = "success",
) -> Any:
    """POST/redirect/GET to the edit page: the message, then what was rewritten, flashed."""
    flash(message, category)
    for change in changes:
        flash(change if isinstance(change, str) else change.message, "info")
    target = url_for("builder.edit", assistant_id=assistant.id, _anchor=anchor)
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def details_values(assistant: Assistant) -> dict[str, Any]:
    return {
        "name": assistant.name,
        "description": assistant.description,
        "icon": assistant.image_path,
        "audience": list(assistant.audience or []),
        "timeout_seconds": assistant.timeout_seconds,
    }


@dataclass(frozen=True)
class PromptItem:
    prompt: ChainPrompt
    number: int
    slug: str
    errors: int
    warnings: int
    can_up: bool
    can_down: bool
    can_join: bool
    can_separate: bool
    referenced: bool


def prompt_stages(
    assistant: Assistant, definition: Mapping[str, Any], findings: list[Finding]
) -> list[list[PromptItem]]:
    prompts = assistant.ordered_prompts()
    stages = builder.layout_of(prompts)
    by_id = {p.id: p for p in prompts}
    numbers = {pid: n for n, pid in enumerate((p for s in stages for p in s), start=1)}
    result = []
    for stage in stages:
        items = []
        for pid in stage:
            n = numbers[pid]
            mine = [f for f in findings if f.step == n]
            items.append(
                PromptItem(
                    prompt=by_id[pid],
                    number=n,
                    slug=slugify(by_id[pid].name, n),
                    errors=sum(f.severity == "error" for f in mine),
                    warnings=sum(f.severity == "warning" for f in mine),
                    can_up=builder.can_move(stages, pid, "up"),
                    can_down=builder.can_move(stages, pid, "down"),
                    can_join=builder.can_join_previous(stages, pid),
                    can_separate=len(stage) > 1,
                    referenced=bool(references_to(definition, pid)),
                )
            )
        result.append(items)
    return result


def editor_context(assistant: Assistant, **overrides: Any) -> dict[str, Any]:
    """Everything the edit page's sections render; a view overrides what it is answering."""
    definition = assistant.definition()
    findings = lint(definition)
    context: dict[str, Any] = {
        "assistant": assistant,
        "lifecycle": assistant_lifecycle.panel(assistant, signed_in_user(), findings),
        "fields": assistant.ordered_fields(),
        "stages": prompt_stages(assistant, definition, findings),
        "prompt_count": len(definition["prompts"]),
        "general_findings": [f for f in findings if f.step is None],
        "values": details_values(assistant),
        "errors": {},
        "field_values": {},
        "field_errors": {},
        "editing_field": None,
        "field_notices": [],
        "prompt_notices": [],
        "confirm_delete": None,
        "references": [],
        "samples": {},
        "preview_steps": None,
        "saved": False,
        "model_label": model_label,
    }
    context.update(overrides)
    return context


def render_editor(
    assistant: Assistant, fragment: str, status: int = 200, **overrides: Any
) -> tuple[str, int]:
    """The edit page, or (to htmx) the one section `fragment` names."""
    return render_page_or_fragment(
        "builder/edit.html",
        f"builder/_partials/{fragment}.html",
        **editor_context(assistant, **overrides),
    ), status
