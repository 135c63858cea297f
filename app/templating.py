"""What every template can use: the signed-in user, navigation, labels and the htmx config."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app, request

from app.assistant_lifecycle import pending_count
from app.models.assistant import STATUS_LABELS
from app.models.execution import RUN_STATUS_LABELS
from app.models.user import ROLE_LABELS, ROLES
from app.security import current_user
from app.streaming.render import queue_place_text, render_markdown

HTMX_VERSION_FILE = "vendor/htmx-2.0.11.min.js"
HTMX_SSE_FILE = "vendor/htmx-ext-sse-2.2.4.min.js"

# htmx 2, configured by a meta tag (no inline script): no eval, no inline-style indicators,
# and 422 answers are swapped so forms show their messages.
HTMX_CONFIG = json.dumps(
    {
        "allowEval": False,
        "allowScriptTags": False,
        "includeIndicatorStyles": False,
        "selfRequestsOnly": True,
        "historyCacheSize": 0,
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "[23]..", "swap": True},
            {"code": "422", "swap": True, "error": False},
            {"code": "[45]..", "swap": False, "error": True},
        ],
    },
    separators=(",", ":"),
)

# The icons an author can pick for an assistant (symbols in static/icons/sprite.svg).
ASSISTANT_ICONS = (
    "sparkles",
    "book",
    "pencil",
    "lightbulb",
    "chat",
    "clipboard",
    "calculator",
    "globe",
    "flask",
    "music",
    "palette",
    "graduation-cap",
    "puzzle",
    "compass",
    "heart",
    "star",
)

BADGE_CLASSES = {
    "draft": "draft",
    "pending_approval": "pending",
    "approved": "approved",
    "rejected": "rejected",
    "disabled": "disabled",
    "pending": "queued",
    "running": "running",
    "completed": "done",
    "failed": "failed",
    "cancelled": "stopped",
    None: "notrun",
}


def _nav_items() -> list[dict[str, Any]]:
    user = current_user()
    if user is None:
        return []
    items: list[dict[str, Any]] = [{"label": "Catalog", "endpoint": "catalog.index"}]
    if user.can_author:
        items.append({"label": "My assistants", "endpoint": "builder.index"})
    items.append({"label": "My runs", "endpoint": "runs.index"})
    if user.is_admin:
        items.append({"label": "Admin", "endpoint": "admin.users"})
        items.append(
            {"label": "Approvals", "endpoint": "admin.approvals", "count": pending_count()}
        )
    return items


APPROVAL_ENDPOINTS = frozenset({"admin.approvals", "admin.approve", "admin.reject"})


def _is_current(endpoint: str) -> bool:
    current = request.endpoint or ""
    if current == endpoint:
        return True
    if current.split(".")[0] == endpoint.split(".")[0] == "admin":
        return (endpoint in APPROVAL_ENDPOINTS) == (current in APPROVAL_ENDPOINTS)
    return False


# The admin area's tabs: (label, endpoint, the admin view modules that belong to it).
ADMIN_TABS: list[tuple[str, str, frozenset[str]]] = [
    ("People", "admin.users", frozenset({"routes", "reset_links"})),
    ("Approvals", "admin.approvals", frozenset({"approvals"})),
    ("Models", "admin.models", frozenset({"models"})),
    ("Import and export", "admin.interchange", frozenset({"interchange"})),
    ("Budgets", "admin.budgets_page", frozenset({"budgets"})),
    ("Usage", "admin.usage", frozenset({"usage"})),
    ("Audit trail", "admin.audit_trail", frozenset({"audit"})),
    ("Settings", "admin.settings", frozenset({"settings"})),
]


def _admin_section() -> str:
    """The admin view module that answered this request ("models", "audit" …)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return (getattr(view, "__module__", "") or "").rsplit(".", 1)[-1]


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        htmx_config=HTMX_CONFIG,
        htmx_file=HTMX_VERSION_FILE,
        htmx_sse_file=HTMX_SSE_FILE,
        nav_items=_nav_items,
        is_current=_is_current,
        ADMIN_TABS=ADMIN_TABS,
        admin_section=_admin_section,
        current_user=current_user,
        render_markdown=render_markdown,
        queue_place_text=queue_place_text,
        ROLES=ROLES,
        ASSISTANT_ICONS=ASSISTANT_ICONS,
        ROLE_LABELS=ROLE_LABELS,
    )

    @app.template_filter("status_label")
    def status_label(status: str | None, kind: str = "run") -> str:
        labels: dict[Any, str] = STATUS_LABELS if kind == "assistant" else RUN_STATUS_LABELS
        return labels.get(status, str(status))

    @app.template_filter("badge_class")
    def badge_class(status: str | None) -> str:
        return "badge--" + BADGE_CLASSES.get(status, "notrun")
