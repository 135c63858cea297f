"""Every sign-in, by any method, lands in the audit trail: who, how, and why it failed."""

from __future__ import annotations

from typing import Any

from flask import g, request

from app.models import User
from app.models.audit import record
from app.security import audit

METHOD_LABELS = {"password": "password", "oidc": "single sign-on"}


def sign_in_succeeded(user: User, method: str, **details: Any) -> None:
    audit(
        "user.signed_in",
        user,
        f"{user.email} signed in with {METHOD_LABELS[method]}",
        method=method,
        **details,
    )


def sign_in_failed(
    method: str, reason: str, *, user: User | None = None, email: str | None = None, **details: Any
) -> None:
    """No actor: nobody is signed in. The account, when known, is the target."""
    who = user.email if user is not None else (email or "someone")
    record(
        "user.sign_in_failed",
        actor=None,
        target=user,
        summary=f"Sign-in of {who} with {METHOD_LABELS[method]} refused: {reason}",
        details={"method": method, "reason": reason, "email": email, **details},
        ip=request.remote_addr,
        request_id=g.get("request_id"),
    )
