"""The "From" and "To" dates of the list pages' filters (My runs, the audit trail, usage)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def read_date_range(args: Any, found: Any) -> None:
    """Set `found.date_from` / `found.date_to` from ISO dates in the query, or say what is wrong
    in `found.errors` (a dict of field → message), as a person would read it beside the field."""
    for name, label in (("date_from", "From"), ("date_to", "To")):
        raw = args.get(name, "").strip()
        if not raw:
            continue
        try:
            setattr(found, name, dt.date.fromisoformat(raw))
        except ValueError:
            found.errors[name] = f"“{label}” must be a date like 2026-01-31."
    if found.date_from and found.date_to and found.date_from > found.date_to:
        found.errors["date_to"] = "“To” must be on or after “From”."
