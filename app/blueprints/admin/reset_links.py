"""Password reset links: an administrator issues one and passes it on (there is no email)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, render_template, url_for

from app.blueprints.admin import bp
from app.blueprints.admin.routes import _user_or_404, _users
from app.htmx import is_fragment_request
from app.models.identity import PasswordResetToken
from app.security import admin_required, audit, signed_in_user

NO_STORE = {"Cache-Control": "no-store"}


@bp.post("/admin/users/<int:user_id>/reset-link")
@admin_required
def issue_reset_link(user_id: int) -> Any:
    if not current_app.config["PASSWORD_LOGIN"]:
        abort(404)
    user = _user_or_404(user_id)
    errors: dict[str, str] = {}
    link = None
    if not user.is_active:
        errors["reset"] = "Reactivate the account first."
    else:
        minutes = current_app.config["PASSWORD_RESET_MINUTES"]
        secret, expires_at = PasswordResetToken.issue(
            user, signed_in_user(), dt.timedelta(minutes=minutes)
        )
        link = {
            "user_id": user.id,
            "url": url_for("auth.reset_password", token=secret, _external=True),
            "expires_at": expires_at,
        }
        audit(
            "user.reset_link_issued",
            user,
            f"Password reset link for {user.email} issued (valid {minutes} minutes)",
            expires_at=expires_at.isoformat(),
        )
    status = 422 if errors else 201
    # The link is shown in this response only: never flashed (the session cookie is not secret).
    if is_fragment_request():
        html = render_template(
            "admin/_partials/_user_row.html", user=user, errors=errors, row_reset_link=link
        )
        return html, status, NO_STORE
    html = render_template(
        "admin/users.html",
        users=_users(),
        values={},
        errors={},
        row_errors={user.id: errors},
        reset_link=link,
    )
    return html, status, NO_STORE
