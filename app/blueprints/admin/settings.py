"""Administrators' settings: how long runs are kept (DESIGN §8; runs hold personal data)."""

from __future__ import annotations

from typing import Any

from flask import request

from app.blueprints.admin import bp
from app.htmx import is_fragment_request, render_page_or_fragment
from app.models import AppSetting, AuditEvent
from app.retention import (
    MAX_RETENTION_DAYS,
    RETENTION_KEY,
    count_old_runs,
    cutoff_for,
    retention_days,
    set_retention_days,
)
from app.security import admin_required, audit, flash_and_redirect, signed_in_user


def _context(days: int | None, **extra: Any) -> dict[str, Any]:
    last_purge = (
        AuditEvent.select()
        .where(AuditEvent.action == "runs.purged")
        .order_by(AuditEvent.id.desc())
        .first()
    )
    return {
        "days": days,
        "pending": count_old_runs(cutoff_for(days)) if days else None,
        "last_purge": last_purge,
        "setting": AppSetting.get_or_none(AppSetting.key == RETENTION_KEY),
        "values": {"retention_days": "" if days is None else str(days)},
        "errors": {},
        "max_days": MAX_RETENTION_DAYS,
        **extra,
    }


def _parse_days(raw: str) -> tuple[int | None, str | None]:
    raw = raw.strip()
    if not raw:
        return None, None
    if not raw.isdigit():
        return None, "Enter a whole number of days, or leave it empty to keep runs forever."
    days = int(raw)
    if not 1 <= days <= MAX_RETENTION_DAYS:
        return None, f"Enter between 1 and {MAX_RETENTION_DAYS:,} days, or leave it empty."
    return days, None


@bp.get("/admin/settings")
@admin_required
def settings() -> Any:
    return render_page_or_fragment(
        "admin/settings.html", "admin/_partials/_retention.html", **_context(retention_days())
    )


@bp.post("/admin/settings/retention")
@admin_required
def update_retention() -> Any:
    raw = request.form.get("retention_days", "")
    days, error = _parse_days(raw)
    before = retention_days()
    if error:
        context = _context(before, values={"retention_days": raw[:20]})
        context["errors"] = {"retention_days": error}
        return render_page_or_fragment(
            "admin/settings.html", "admin/_partials/_retention.html", **context
        ), 422
    if days != before:
        set_retention_days(days, signed_in_user())
        audit(
            "settings.retention_changed",
            AppSetting.get(AppSetting.key == RETENTION_KEY),
            f"Runs kept: {_describe(before)} → {_describe(days)}",
            before=before,
            after=days,
        )
    message = f"Runs are now kept {_describe(days)}."
    if is_fragment_request():
        return render_page_or_fragment(
            "admin/settings.html",
            "admin/_partials/_retention.html",
            **_context(days, saved=message),
        )
    return flash_and_redirect(message, "admin.settings")


def _describe(days: int | None) -> str:
    if days is None:
        return "forever"
    return f"{days} day{'' if days == 1 else 's'}"
