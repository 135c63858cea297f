"""Every sign-in, by any method, lands in the audit trail: who, how, and why it failed."""

from __future__ import annotations

from typing import Any

from flask import g, request

from app.models import User
from app.models.audit import record
from app.oidc_accounts import SignInResult
from app.security import audit

METHOD_LABELS = {"password": "password", "oidc": "single sign-on"}
# Reasons a password sign-in fails, in words for the audit page (the codes stay in details).
REASON_TEXT = {
    "unknown_email": "no such account",
    "wrong_password": "wrong password",
    "deactivated": "account deactivated",
    "sso_only": "account signs in with SSO only",
}


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
        summary=f"Sign-in of {who} with {METHOD_LABELS[method]} refused: "
        f"{REASON_TEXT.get(reason, reason)}",
        details={"method": method, "reason": reason, "email": email, **details},
        ip=request.remote_addr,
        request_id=g.get("request_id"),
    )


def account_changes(provider_name: str, result: SignInResult) -> None:
    """What this sign-in changed, with the person as the actor (no one else is signed in)."""
    user = result.user

    def write(action: str, summary: str, **details: Any) -> None:
        record(
            action,
            actor=user,
            target=user,
            summary=summary,
            details=details,
            ip=request.remote_addr,
            request_id=g.get("request_id"),
        )

    if result.created:
        write("user.created", f"{user.email} created at first sign-in with {provider_name}")
    if result.linked:
        write(
            "user.identity_linked",
            f"{user.email} linked to their {provider_name} account",
            new_account=result.created,
        )
    if result.roles_added or result.roles_removed:
        write(
            "user.roles_synced",
            f"Roles of {user.email} from {provider_name} groups: "
            f"+{', '.join(sorted(result.roles_added)) or 'none'} "
            f"−{', '.join(sorted(result.roles_removed)) or 'none'}",
            added=sorted(result.roles_added),
            removed=sorted(result.roles_removed),
            roles=sorted(user.role_names),
        )
