"""The catalog: approved assistants the signed-in user may run."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from app import oidc
from app.blueprints.catalog import bp
from app.htmx import render_page_or_fragment
from app.models import Assistant, User
from app.security import current_user, login_required, signed_in_user

SEARCH_MAX = 100


@bp.get("/")
def home() -> Any:
    if current_user() is not None:
        return redirect(url_for("catalog.index"))
    if not User.administrators_exist() and oidc.settings() is None:
        return redirect(url_for("auth.setup"))
    return redirect(url_for("auth.sign_in"))


@bp.get("/catalog")
@login_required
def index() -> Any:
    query = request.args.get("q", "").strip()[:SEARCH_MAX]
    assistants = Assistant.in_catalog_for(signed_in_user())
    if query:
        assistants = assistants.where(
            Assistant.name.contains(query) | Assistant.description.contains(query)
        )
    return render_page_or_fragment(
        "catalog/index.html",
        "catalog/_partials/_results.html",
        assistants=list(assistants),
        query=query,
    )
