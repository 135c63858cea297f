"""One URL serves the page or its fragment: the page includes the very partial htmx asks for."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_htmx import HTMX

htmx = HTMX()


def is_fragment_request() -> bool:
    """htmx asked (not boosted, not a history restore, which needs the whole page)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page_or_fragment(page: str, fragment: str, **context: Any) -> str:
    return render_template(fragment if is_fragment_request() else page, **context)


def add_vary_header(response: Any) -> Any:
    response.vary.add("HX-Request")
    return response
