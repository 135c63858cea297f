"""Administration: budgets — runs per person per day, runs at once, spending per assistant."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import render_template, request

from app import budgets
from app.blueprints.admin import bp
from app.db import database, utcnow
from app.htmx import render_page_or_fragment
from app.models import Assistant, Budget
from app.models.budget import BUDGET_SCOPES
from app.schemas import load_form
from app.schemas.budgets import budgets_schema, field_name
from app.security import admin_required, audit, flash_and_redirect, signed_in_user

RUN_LIMITS = ("runs_per_day", "concurrent_runs")
SCOPE_LABELS = {
    "default": "Everyone",
    "administrator": "Administrators",
    "staff": "Staff",
    "student": "Students",
}


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def _current_values() -> dict[str, str]:
    rows = budgets.budget_rows()
    values = {
        field_name(scope, limit): _plain(getattr(rows.get(scope), limit, None))
        for scope in BUDGET_SCOPES
        for limit in RUN_LIMITS
    }
    default = rows.get("default")
    cost = getattr(default, "assistant_cost_per_month", None)
    values["assistant_cost_per_month"] = "" if cost is None else f"{Decimal(cost):.2f}"
    return values


def _spending() -> dict[str, Any]:
    now = utcnow()
    spent = budgets.spend_this_month(now)
    names = {
        a.id: a.name
        for a in Assistant.select(Assistant.id, Assistant.name).where(
            Assistant.id.in_([s.assistant_id for s in spent])
        )
    }
    default = budgets.budget_rows().get("default")
    limit = getattr(default, "assistant_cost_per_month", None)
    return {
        "spending": [(s, names.get(s.assistant_id, f"#{s.assistant_id}")) for s in spent],
        "cost_limit": limit,
        "month": f"{now:%B %Y}",
        "resets": budgets.next_month(now),
        "money": budgets.money,
    }


def _context(values: dict, errors: dict | None = None) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors or {},
        "scopes": [(scope, SCOPE_LABELS[scope]) for scope in BUDGET_SCOPES],
        "field_name": field_name,
        **_spending(),
    }


@bp.get("/admin/budgets")
@admin_required
def budgets_page() -> Any:
    return render_template("admin/budgets.html", **_context(_current_values()))


def _form_fields() -> list[tuple[str, str, str]]:
    """(scope, limit, form field name) for every value the form sets."""
    found = [(s, limit, field_name(s, limit)) for s in BUDGET_SCOPES for limit in RUN_LIMITS]
    return [*found, ("default", "assistant_cost_per_month", "assistant_cost_per_month")]


def _changes(data: dict) -> dict[str, dict[str, list[str]]]:
    """{scope: {limit: [before, after]}} for the values that differ (the audit's details)."""
    before = _current_values()
    changes: dict[str, dict[str, list[str]]] = {}
    for scope, limit, name in _form_fields():
        old, new = before[name], _plain(data.get(name))
        if old != new and not (old and new and Decimal(old) == Decimal(new)):
            changes.setdefault(scope, {})[limit] = [old or "no limit", new or "no limit"]
    return changes


@bp.post("/admin/budgets")
@admin_required
def save_budgets() -> Any:
    data, errors = load_form(budgets_schema, request.form)
    if errors:
        return render_page_or_fragment(
            "admin/budgets.html", "admin/_partials/_budgets_form.html", **_context(data, errors)
        ), 422
    changes = _changes(data)
    if not changes:
        return flash_and_redirect("Nothing changed.", "admin.budgets_page", "info")
    with database.atomic():
        for scope in changes:
            row, _ = Budget.get_or_create(scope=scope)
            for row_scope, limit, name in _form_fields():
                if row_scope == scope:
                    setattr(row, limit, data.get(name))
            row.updated_at = utcnow()
            row.updated_by = signed_in_user()
            row.save()
        summary = "; ".join(
            f"{SCOPE_LABELS[scope]}: "
            + ", ".join(f"{budgets.BUDGET_LABELS[k]} {v[0]} → {v[1]}" for k, v in limits.items())
            for scope, limits in changes.items()
        )
        audit("budgets.changed", None, f"Budgets changed — {summary}", changes=changes)
    return flash_and_redirect(
        "Budgets saved. They apply to the next run started.", "admin.budgets_page"
    )
