"""Sign-in identities from an OpenID Connect provider, and one-time password-reset links."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from peewee import CharField, DateTimeField, ForeignKeyField

from app.db import BaseModel, utcnow
from app.models.user import User


class UserIdentity(BaseModel):
    """An account at an identity provider (issuer + subject), linked to one of our users."""

    user = ForeignKeyField(User, backref="identities", column_name="user_id", on_delete="CASCADE")
    issuer = CharField(max_length=255)
    subject = CharField(max_length=255)
    email = CharField(max_length=320, null=True)  # the provider's address when it was linked
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    if TYPE_CHECKING:
        user_id: int

    class Meta:
        table_name = "user_identities"
        indexes = ((("issuer", "subject"), True),)

    @classmethod
    def find(cls, issuer: str, subject: str) -> UserIdentity | None:
        return cls.get_or_none((cls.issuer == issuer) & (cls.subject == subject))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class PasswordResetToken(BaseModel):
    """A link an administrator hands to someone: sets a new password once, before it expires."""

    user = ForeignKeyField(User, backref="reset_tokens", column_name="user_id", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)  # sha256 hex; the secret is never stored
    created_by = ForeignKeyField(
        User, null=True, column_name="created_by_id", on_delete="SET NULL", backref="+"
    )
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    if TYPE_CHECKING:
        user_id: int

    class Meta:
        table_name = "password_reset_tokens"

    @classmethod
    def issue(cls, user: User, by: User | None, lifetime: dt.timedelta) -> tuple[str, dt.datetime]:
        """A new link secret for `user`; earlier unused links of the user stop working."""
        now = utcnow()
        cls.update(used_at=now).where((cls.user == user) & cls.used_at.is_null()).execute()
        secret = secrets.token_urlsafe(32)
        token = cls.create(
            user=user, token_hash=_hash(secret), created_by=by, expires_at=now + lifetime
        )
        return secret, token.expires_at

    @classmethod
    def usable(cls, secret: str) -> PasswordResetToken | None:
        """The unused, unexpired link with this secret whose account is active, else None."""
        token = cls.get_or_none(cls.token_hash == _hash(secret))
        if token is None or token.used_at is not None or token.expires_at <= utcnow():
            return None
        if not token.user.is_active:
            return None
        return token

    def redeem(self) -> bool:
        """Mark used; False when another request used it first (the link works once)."""
        cls = type(self)
        claimed = (
            cls.update(used_at=utcnow())
            .where((cls.id == self.id) & cls.used_at.is_null())
            .execute()
        )
        return claimed == 1
