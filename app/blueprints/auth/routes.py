"""Sign in, sign out, and the first-run setup of the administrator."""

from __future__ import annotations

import hmac
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for

from app import oidc
from app.blueprints.auth import bp
from app.blueprints.auth.sign_in_audit import sign_in_failed, sign_in_succeeded
from app.db import database
from app.models import User
from app.rate_limits import limit_sign_in
from app.schemas import load_form
from app.schemas.accounts import setup_schema, sign_in_schema
from app.security import (
    audit,
    current_user,
    flash_and_redirect,
    login_user,
    logout_user,
    safe_next,
    setup_needs_token,
    setup_token,
)

GENERIC_FAILURE = "That email and password don't match an active account."
PASSWORDS_OFF = "Password sign-in is turned off here."


def _sign_in_page(values: dict, errors: dict, status: int) -> Any:
    html = render_template(
        "auth/sign_in.html",
        values=values,
        errors=errors,
        sso=oidc.settings(),
        password_login=current_app.config["PASSWORD_LOGIN"],
    )
    return html, status


def _failure(email: str) -> tuple[User | None, str]:
    """For the audit trail only; the person sees one message whatever went wrong."""
    user = User.by_email(email)
    if user is None:
        return None, "unknown_email"
    if not user.is_active:
        return user, "deactivated"
    return user, "wrong_password" if user.password_hash else "sso_only"


@bp.route("/sign-in", methods=["GET", "POST"])
@limit_sign_in
def sign_in() -> Any:
    if oidc.settings() is None and not User.administrators_exist():
        return redirect(url_for("auth.setup"))
    if current_user() is not None and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    values: dict[str, Any] = {"next": request.args.get("next", "")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not current_app.config["PASSWORD_LOGIN"]:
            sign_in_failed("password", "password_login_off", email=request.form.get("email"))
            return _sign_in_page(values, {"_form": PASSWORDS_OFF}, 403)
        data, errors = load_form(sign_in_schema, request.form)
        values = data
        if not errors:
            user = User.authenticate(data["email"], data["password"])
            if user is not None:
                login_user(user)
                sign_in_succeeded(user, "password")
                return redirect(safe_next(data.get("next")), code=303)
            known, reason = _failure(data["email"])
            sign_in_failed(
                "password", reason, user=known, email=User.normalize_email(data["email"])
            )
            errors = {"_form": GENERIC_FAILURE}
    return _sign_in_page(values, errors, 422 if errors else 200)


@bp.post("/sign-out")
def sign_out() -> Any:
    user = current_user()
    if user is not None:
        audit("user.signed_out", user, f"{user.email} signed out")
    logout_user()
    return flash_and_redirect("You are signed out.", "auth.sign_in")


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """With no administrator yet, the first visitor creates one (with the token in production)."""
    if User.administrators_exist() or oidc.settings() is not None:
        abort(404)  # with single sign-on the first administrator comes from the group mapping
    needs_token = setup_needs_token(current_app)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = load_form(setup_schema, request.form)
        values = data
        expected = setup_token(current_app.config["SECRET_KEY"])
        if needs_token and not hmac.compare_digest(str(data.get("setup_token") or ""), expected):
            errors["setup_token"] = "That setup token is not right. Find it in the server's log."
        if not errors and User.by_email(data["email"]) is not None:
            errors["email"] = "An account with this email already exists."
        if not errors:
            with database.atomic():
                if User.administrators_exist():  # someone was faster
                    abort(404)
                user = User(email=User.normalize_email(data["email"]), name=data["name"])
                user.set_password(data["password"])
                user.save()
                user.set_roles(["administrator", "staff"])
            login_user(user)
            audit("user.created", user, f"First administrator {user.email} created at setup")
            return flash_and_redirect(
                "Welcome! Your administrator account is ready.", "catalog.index"
            )
    status = 422 if errors else 200
    return (
        render_template("auth/setup.html", values=values, errors=errors, needs_token=needs_token),
        status,
    )
