"""Passwords (when PASSWORD_LOGIN is on): change your own, or set one from a reset link."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, render_template, request

from app.blueprints.auth import bp
from app.blueprints.auth.tokens import profile_page
from app.db import database
from app.models.audit import record
from app.models.identity import PasswordResetToken
from app.schemas import load_form
from app.schemas.accounts import new_password_schema, password_change_schema
from app.security import (
    audit,
    current_user,
    flash_and_redirect,
    login_required,
    logout_user,
    reissue_session,
    signed_in_user,
)

NO_STORE = {"Cache-Control": "no-store"}
LINK_GONE = "This reset link has expired or was already used. Ask an administrator for a new one."


def _passwords_on() -> None:
    if not current_app.config["PASSWORD_LOGIN"]:
        abort(404)


@bp.post("/profile/password")
@login_required
def change_password() -> Any:
    _passwords_on()
    user = signed_in_user()
    if not user.password_hash:  # there is no form to show it in: say it on the profile page
        return flash_and_redirect(
            "Your account has no password: you sign in with single sign-on.",
            "auth.profile",
            "error",
        )
    data, errors = load_form(password_change_schema, request.form)
    if not errors and not user.check_password(data["current_password"]):
        errors = {"current_password": "That is not your current password."}
    if errors:
        values = {k: v for k, v in data.items() if "password" not in k}
        return profile_page(
            user,
            422,
            fragment="auth/_partials/_password_form.html",
            password_values=values,
            password_errors=errors,
        )
    user.change_password(data["password"])
    reissue_session(user)  # this browser stays signed in; every other session ends
    audit("user.password_changed", user, f"{user.email} changed their password")
    return flash_and_redirect(
        "Your password is changed. Any other device signed in as you has been signed out.",
        "auth.profile",
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    _passwords_on()
    reset = PasswordResetToken.usable(token[:100])
    if reset is None:
        html = render_template("auth/reset_password.html", gone=LINK_GONE, errors={}, user=None)
        return html, 410, NO_STORE
    user = reset.user
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = load_form(new_password_schema, request.form)
        if not errors:
            with database.atomic():
                if not reset.redeem():  # someone used it a moment ago
                    abort(410)
                user.change_password(data["password"])
            record(
                "user.password_reset",
                actor=user,
                target=user,
                summary=f"{user.email} set a new password with a reset link",
                details={"link_id": reset.id},
                ip=request.remote_addr,
                request_id=g.get("request_id"),
            )
            signed_in = current_user()
            if signed_in is not None and signed_in.id == user.id:
                logout_user()
            return flash_and_redirect("Your new password is set. Sign in with it.", "auth.sign_in")
    html = render_template("auth/reset_password.html", gone=None, errors=errors, user=user)
    return html, 422 if errors else 200, NO_STORE
