"""Administration: people and their roles."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template, request

from app.blueprints.admin import bp
from app.db import database
from app.demo import EXAMPLES_EMAIL
from app.htmx import is_fragment_request, render_page_or_fragment
from app.models import User
from app.models.user import ROLE_LABELS
from app.schemas import load_form
from app.schemas.accounts import roles_schema, sso_user_create_schema, user_create_schema
from app.security import admin_required, audit, flash_and_redirect, signed_in_user

_SYSTEM_EMAILS = [EXAMPLES_EMAIL]


def _users() -> list[User]:
    return list(User.select().where(User.email.not_in(_SYSTEM_EMAILS)).order_by(User.name))


def _names(roles: list[str]) -> str:
    return ", ".join(roles) or "none"


def _user_or_404(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None or user.email in _SYSTEM_EMAILS:
        abort(404)
    return user


def _row(user: User, errors: dict | None = None, status: int = 200) -> Any:
    return render_template("admin/_partials/_user_row.html", user=user, errors=errors or {}), status


@bp.get("/admin")
@bp.get("/admin/users")
@admin_required
def users() -> Any:
    return render_template("admin/users.html", users=_users(), values={}, errors={})


@bp.post("/admin/users")
@admin_required
def create_user() -> Any:
    with_password = current_app.config["PASSWORD_LOGIN"]
    schema = user_create_schema if with_password else sso_user_create_schema
    data, errors = load_form(schema, request.form, lists=("roles",))
    if not errors and User.by_email(data["email"]) is not None:
        errors = {"email": "An account with this email already exists."}
    if errors:
        return render_page_or_fragment(
            "admin/users.html",
            "admin/_partials/_user_form.html",
            users=_users(),
            values=data,
            errors=errors,
        ), 422
    with database.atomic():
        user = User(email=User.normalize_email(data["email"]), name=data["name"])
        if with_password:
            user.set_password(data["password"])
        user.save()
        user.set_roles(data["roles"])
        audit("user.created", user, f"Created {user.email} with roles {', '.join(data['roles'])}")
    return flash_and_redirect(f"Account for {user.email} created.", "admin.users")


@bp.post("/admin/users/<int:user_id>/roles")
@admin_required
def change_roles(user_id: int) -> Any:
    user = _user_or_404(user_id)
    data, errors = load_form(roles_schema, request.form, lists=("roles",))
    if not errors and user.id == signed_in_user().id and "administrator" not in data["roles"]:
        errors = {"roles": "You can't remove your own administrator role."}
    if errors:
        if is_fragment_request():
            return _row(user, errors, 422)
        return flash_and_redirect(errors["roles"], "admin.users", "error")
    before = sorted(user.role_names)
    with database.atomic():
        user.set_roles(data["roles"])
        after = sorted(user.role_names)
        if before != after:
            audit(
                "user.roles_changed",
                user,
                f"Roles of {user.email}: {_names(before)} → {_names(after)}",
                before=before,
                after=after,
            )
    if is_fragment_request():
        return _row(user)
    labels = ", ".join(ROLE_LABELS[r] for r in after) or "no role"
    return flash_and_redirect(f"{user.name} now has: {labels}.", "admin.users")


@bp.post("/admin/users/<int:user_id>/active")
@admin_required
def set_active(user_id: int) -> Any:
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    if user.id == signed_in_user().id and not active:
        if is_fragment_request():
            return _row(user, {"active": "You can't deactivate your own account."}, 422)
        return flash_and_redirect("You can't deactivate your own account.", "admin.users", "error")
    if user.is_active != active:
        user.is_active = active
        user.session_epoch += 1  # ends every session of the account
        user.save(only=[User.is_active, User.session_epoch])
        verb = "reactivated" if active else "deactivated"
        audit(f"user.{verb}", user, f"{user.email} {verb}")
    if is_fragment_request():
        return _row(user)
    state = "active" if active else "deactivated"
    return flash_and_redirect(f"{user.name}'s account is {state}.", "admin.users")
