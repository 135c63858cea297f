"""The profile page: the account, its password, and personal API tokens — create (the secret
shown once), list, revoke."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, render_template, request

from app.blueprints.auth import bp
from app.htmx import is_fragment_request, render_page_or_fragment
from app.models import User
from app.models.token import SCOPE_LABELS, ApiToken, ScopeNotAllowed, allowed_scopes
from app.schemas import load_form
from app.schemas.api import token_create_schema
from app.security import audit, flash_and_redirect, login_required, signed_in_user

DEFAULT_SCOPES = ["assistants:read", "assistants:execute"]


def _context(user: User, **extra: Any) -> dict[str, Any]:
    return {
        "tokens": list(ApiToken.of(user)),
        "scope_choices": [(s, SCOPE_LABELS[s]) for s in allowed_scopes(user)],
        "values": {"scopes": DEFAULT_SCOPES},
        "errors": {},
        "new_secret": None,
        "min_expiry": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat(),
        "password_login": current_app.config["PASSWORD_LOGIN"],
        "password_values": {},
        "password_errors": {},
        **extra,
    }


def profile_page(
    user: User, status: int = 200, fragment: str = "auth/_partials/_tokens.html", **extra: Any
) -> Any:
    html = render_page_or_fragment(
        "auth/profile.html", fragment, user=user, **_context(user, **extra)
    )
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/profile")
@login_required
def profile() -> Any:
    return profile_page(signed_in_user())


@bp.post("/profile/tokens")
@login_required
def create_token() -> Any:
    user = signed_in_user()
    data, errors = load_form(token_create_schema, request.form, lists=("scopes",))
    if not errors:
        expires = data["expires_on"]
        expires_at = dt.datetime.combine(expires, dt.time.min) if expires else None
        try:
            token, secret = ApiToken.issue(user, data["name"], data["scopes"], expires_at)
        except ScopeNotAllowed as exc:
            errors = {"scopes": str(exc)}
    if errors:
        return profile_page(user, 422, values=data, errors=errors)
    audit(
        "api_token.created",
        token,
        f"Created API token “{token.name}” ({token.prefix}…)",
        scopes=token.scopes,
        prefix=token.prefix,
        expires_at=token.expires_at.isoformat() if token.expires_at else None,
    )
    # The one and only time the secret is shown: in this response, never stored or flashed.
    return profile_page(user, 201, new_secret=secret, new_token=token)


@bp.post("/profile/tokens/<int(max=2147483647):token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    user = signed_in_user()
    token = ApiToken.of(user).where(ApiToken.id == token_id).first()
    if token is None:
        abort(404)
    if token.revoke():
        audit("api_token.revoked", token, f"Revoked API token “{token.name}” ({token.prefix}…)")
    if is_fragment_request():
        return render_template("auth/_partials/_token_row.html", token=token)
    return flash_and_redirect(f"Token “{token.name}” revoked.", "auth.profile")
