"""Who a verified ID token is: the linked account, a linked-by-email one, or a new one.

Rules (issue 16):
- an identity is issuer + subject; once linked, the email no longer matters;
- first sign-in links an existing account with the same email only when the provider says the
  email is verified (`email_verified`, or OIDC_TRUST_EMAIL for providers that never send it);
- an unverified email is neither linked nor used for a new account: the address is the account's
  unique name here (password sign-in, audit, the people list), so an unverified one could squat
  a colleague's address. The person is told why and asked to verify it or see an administrator;
- a new account is made only when the groups give it a role; roles from groups are synced at
  every sign-in (only the roles the mapping manages; roles an administrator set by hand stay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.db import database, utcnow
from app.models import User
from app.models.identity import UserIdentity
from app.oidc import OidcSettings


class SignInRefused(Exception):
    """The provider vouched for the person, but we don't let them in; `message` says why."""

    def __init__(self, reason: str, message: str, user: User | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.user = user


@dataclass
class SignInResult:
    user: User
    created: bool
    linked: bool
    roles_added: set[str]
    roles_removed: set[str]


def _display_name(claims: dict[str, Any], email: str) -> str:
    name = claims.get("name") or " ".join(
        part for part in (claims.get("given_name"), claims.get("family_name")) if part
    )
    return (str(name).strip() or email.split("@")[0])[:255]


def account_for(conf: OidcSettings, claims: dict[str, Any]) -> SignInResult:
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    email = User.normalize_email(str(claims.get("email") or ""))
    granted = conf.roles_for(conf.groups_in(claims))
    created = linked = False
    with database.atomic():
        identity = UserIdentity.find(issuer, subject)
        if identity is None:
            if not email:
                raise SignInRefused(
                    "no_email",
                    f"{conf.provider_name} did not share your email address, so we can't "
                    "find or create your account. Ask your administrator.",
                )
            if not conf.email_verified(claims):
                raise SignInRefused(
                    "email_unverified",
                    f"{conf.provider_name} has not verified your email address ({email}), so it "
                    "can't be matched to an account here. Verify it with your provider, or ask "
                    "an administrator.",
                )
            user = User.by_email(email)
            if user is None:
                if not granted:
                    raise SignInRefused(
                        "no_role",
                        "Your account has no role in Assistant Architect yet. Ask an "
                        "administrator to add you to a group that has access.",
                    )
                user = User.create(email=email, name=_display_name(claims, email))
                created = True
            identity = UserIdentity.create(user=user, issuer=issuer, subject=subject, email=email)
            linked = True
        user = identity.user
        identity.last_login_at = utcnow()
        identity.save(only=[UserIdentity.last_login_at])
        added, removed = user.sync_provider_roles(granted, conf.managed_roles)
    return SignInResult(user, created, linked, added, removed)


def check_may_sign_in(user: User) -> None:
    """After the sync (which stays, and is audited): an active account with a role."""
    if not user.is_active:
        raise SignInRefused(
            "deactivated", "This account is deactivated. Ask an administrator.", user
        )
    if not user.role_names:
        raise SignInRefused(
            "no_role",
            "Your account has no role in Assistant Architect any more. Ask an administrator.",
            user,
        )
