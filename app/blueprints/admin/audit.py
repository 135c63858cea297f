"""The audit trail for administrators: newest first, filters, pages, and CSV of what is filtered."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Response, render_template, request, url_for

from app.blueprints.admin import bp
from app.date_filters import read_date_range
from app.db import database, utcnow
from app.htmx import render_page_or_fragment
from app.models import AuditEvent
from app.run_exports import safe_cell
from app.security import admin_required, audit

PAGE_SIZE = 50
CSV_BATCH = 1000
TEXT_MAX = 200
TARGET_LABELS = {
    "users": "Person",
    "assistant_architects": "Assistant",
    "tool_executions": "Run",
    "ai_models": "Model",
    "api_tokens": "API token",
    "app_settings": "Setting",
}
NEWEST_FIRST = (AuditEvent.at.desc(), AuditEvent.id.desc())
CSV_COLUMNS = [
    "time_utc",
    "actor",
    "action",
    "target_type",
    "target_id",
    "summary",
    "details",
    "ip",
    "request_id",
]


@dataclass
class AuditFilters:
    """The page's GET parameters, validated: bad values become messages, never a 500."""

    actor: str = ""
    action: str = ""
    target_type: str = ""
    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Any) -> AuditFilters:
        found = cls(
            actor=args.get("actor", "").strip()[:TEXT_MAX],
            action=args.get("action", "").strip()[:64],
            target_type=args.get("target_type", "").strip()[:64],
            q=args.get("q", "").strip()[:TEXT_MAX],
            page=max(args.get("page", 1, type=int), 1),
        )
        read_date_range(args, found)
        return found

    @property
    def active(self) -> bool:
        return any(
            (self.actor, self.action, self.target_type, self.q, self.date_from, self.date_to)
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query parameters that keep these filters (pages, the CSV link)."""
        values: dict[str, Any] = {
            "actor": self.actor or None,
            "action": self.action or None,
            "target_type": self.target_type or None,
            "q": self.q or None,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None and (k != "page" or v > 1)}

    def apply(self, query: Any) -> Any:
        if self.actor:
            if self.actor.lower() == "system":  # the CLI and background work
                query = query.where(AuditEvent.actor_email.is_null() & AuditEvent.ip.is_null())
            elif self.actor.lower() == "anonymous":  # from the web, not signed in
                query = query.where(AuditEvent.actor_email.is_null() & AuditEvent.ip.is_null(False))
            else:
                query = query.where(AuditEvent.actor_email.contains(self.actor.lower()))
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.target_type:
            query = query.where(AuditEvent.target_type == self.target_type)
        if self.q:
            query = query.where(AuditEvent.summary.contains(self.q))
        if self.date_from:
            query = query.where(AuditEvent.at >= dt.datetime.combine(self.date_from, dt.time()))
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time())
            query = query.where(AuditEvent.at < end)
        return query


def actor_label(event: AuditEvent) -> str:
    """Who, when no account did it: someone on the web not signed in, or the system (CLI, jobs)."""
    if event.actor_email:
        return event.actor_email
    return "anonymous" if event.ip else "system"


TARGET_PAGES = {
    "assistant_architects": ("builder.edit", "assistant_id"),
    "tool_executions": ("runs.show", "execution_id"),
    "ai_models": ("admin.edit_model", "ai_model_id"),
}


def target_link(event: AuditEvent) -> str | None:
    page = TARGET_PAGES.get(event.target_type or "")
    if page is None or not (event.target_id or "").isdigit():
        return None
    endpoint, argument = page
    values: dict[str, Any] = {argument: int(event.target_id or 0)}
    return url_for(endpoint, **values)


def _distinct(column: Any) -> list[str]:
    rows: Any = AuditEvent.select(column).where(column.is_null(False)).distinct().order_by(column)
    return [row[0] for row in rows.tuples()]


@bp.get("/admin/audit")
@admin_required
def audit_trail() -> Any:
    filters = AuditFilters.from_args(request.args)
    events: list[AuditEvent] = []
    has_older = False
    if not filters.errors:
        query = filters.apply(AuditEvent.select()).order_by(*NEWEST_FIRST)
        rows = list(query.offset((filters.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
        events, has_older = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    html = render_page_or_fragment(
        "admin/audit.html",
        "admin/_partials/_audit_table.html",
        events=events,
        has_older=has_older,
        filters=filters,
        actions=_distinct(AuditEvent.action),
        target_types=_distinct(AuditEvent.target_type),
        target_labels=TARGET_LABELS,
        actor_label=actor_label,
        target_link=target_link,
    )
    return html, 422 if filters.errors else 200


@bp.get("/admin/audit.csv")
@admin_required
def audit_csv() -> Any:
    filters = AuditFilters.from_args(request.args)
    if filters.errors:
        return render_template(
            "admin/audit.html",
            events=[],
            has_older=False,
            filters=filters,
            actions=_distinct(AuditEvent.action),
            target_types=_distinct(AuditEvent.target_type),
            target_labels=TARGET_LABELS,
        ), 422
    audit(
        "audit.exported",
        summary="Exported the audit trail as CSV" + (" (filtered)" if filters.active else ""),
        filters=filters.args(page=1),
    )
    name = f"audit-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        _csv_lines(filters),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv_lines(filters: AuditFilters) -> Iterator[str]:
    """Every filtered row, newest first, read in batches (no connection held between them)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(cell) for cell in cells])
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    last: AuditEvent | None = None
    while True:
        with database.connection_context():
            query = filters.apply(AuditEvent.select())
            if last is not None:  # keyset: after the last row sent, in the same order
                query = query.where(
                    (AuditEvent.at < last.at)
                    | ((AuditEvent.at == last.at) & (AuditEvent.id < last.id))
                )
            batch = list(query.order_by(*NEWEST_FIRST).limit(CSV_BATCH))
        for event in batch:
            yield line(
                [
                    event.at.isoformat(timespec="seconds") + "Z",
                    actor_label(event),
                    event.action,
                    event.target_type or "",
                    event.target_id or "",
                    event.summary,
                    json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True),
                    event.ip or "",
                    event.request_id or "",
                ]
            )
        if len(batch) < CSV_BATCH:
            return
        last = batch[-1]
