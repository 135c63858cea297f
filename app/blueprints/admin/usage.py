"""The usage report for administrators: /admin/usage (page, htmx fragment) and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from flask import Response, request

from app.blueprints.admin import bp
from app.date_filters import read_date_range
from app.db import utcnow
from app.htmx import render_page_or_fragment
from app.security import admin_required, audit
from app.usage import (
    CSV_HEADER,
    DEFAULT_WEEKS,
    MAX_WEEKS,
    WEEK_CHOICES,
    csv_rows,
    usage_report,
    week_range,
)


@dataclass
class UsageFilters:
    weeks: int = DEFAULT_WEEKS
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Any) -> UsageFilters:
        found = cls()
        weeks = args.get("weeks", "")
        if weeks:
            if weeks.isdigit() and 1 <= int(weeks) <= MAX_WEEKS:
                found.weeks = int(weeks)
            else:
                found.errors["weeks"] = f"Choose between 1 and {MAX_WEEKS} weeks."
        read_date_range(args, found)
        return found

    def range(self) -> tuple[dt.date, dt.date]:
        start, end = week_range(self.weeks, utcnow().date(), self.date_from, self.date_to)
        if (end - start).days // 7 + 1 > MAX_WEEKS:
            start = end - dt.timedelta(weeks=MAX_WEEKS) + dt.timedelta(days=1)
        return start, end

    def args(self) -> dict[str, Any]:
        values = {
            "weeks": self.weeks if self.weeks != DEFAULT_WEEKS else None,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {k: v for k, v in values.items() if v is not None}


@bp.get("/admin/usage")
@admin_required
def usage() -> Any:
    filters = UsageFilters.from_args(request.args)
    report = None if filters.errors else usage_report(*filters.range())
    html = render_page_or_fragment(
        "admin/usage.html",
        "admin/_partials/_usage_report.html",
        report=report,
        filters=filters,
        week_choices=WEEK_CHOICES,
    )
    return html, 422 if filters.errors else 200


@bp.get("/admin/usage.csv")
@admin_required
def usage_csv() -> Any:
    filters = UsageFilters.from_args(request.args)
    if filters.errors:
        return Response(
            "\n".join(filters.errors.values()) + "\n", status=400, mimetype="text/plain"
        )
    report = usage_report(*filters.range())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(report))
    audit(
        "usage.exported",
        None,
        f"Downloaded the usage report {report.start}..{report.end}",
        start=report.start.isoformat(),
        end=report.end.isoformat(),
    )
    name = f"usage-{report.start.isoformat()}-to-{report.end.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
