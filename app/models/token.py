"""Personal API tokens: stored as a sha256 hash only, with scopes, expiry and revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from peewee import CharField, DateTimeField, ForeignKeyField, JSONField

from app.db import BaseModel, utcnow
from app.models.user import User

if TYPE_CHECKING:
    from peewee import ModelSelect

TOKEN_PREFIX = "aa_"
SCOPES = ("assistants:read", "assistants:execute", "assistants:write")
SCOPE_LABELS = {
    "assistants:read": "Read assistants and your runs",
    "assistants:execute": "Start and stop runs",
    "assistants:write": "Import and export assistants (administrators)",
}
ADMIN_ONLY_SCOPES = frozenset({"assistants:write"})
# Writing last_used_at on every request would cost a write per call: once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ScopeNotAllowed(ValueError):
    """The user may not hold a token with this scope (assistants:write is for administrators)."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """`aa_` + 32 random bytes, URL-safe: recognisable in logs and secret scanners."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def allowed_scopes(user: User) -> tuple[str, ...]:
    return tuple(s for s in SCOPES if s not in ADMIN_ONLY_SCOPES or user.is_admin)


class ApiToken(BaseModel):
    user = ForeignKeyField(User, backref="api_tokens", column_name="user_id", on_delete="CASCADE")
    name = CharField(max_length=100)
    token_hash = CharField(max_length=64, unique=True)  # sha256 hex of the secret
    prefix = CharField(max_length=8)  # the secret's first characters, to recognise it in lists
    scopes = JSONField(default=list)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    if TYPE_CHECKING:
        user_id: int

    class Meta:
        table_name = "api_tokens"

    @classmethod
    def issue(
        cls, user: User, name: str, scopes: list[str], expires_at: dt.datetime | None = None
    ) -> tuple[ApiToken, str]:
        """A new token and its secret: the secret exists only in this return value."""
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ScopeNotAllowed(f"Unknown scope: {', '.join(sorted(unknown))}.")
        refused = set(scopes) - set(allowed_scopes(user))
        if refused:
            raise ScopeNotAllowed(
                f"Only administrators may hold {', '.join(sorted(refused))} tokens."
            )
        secret = new_secret()
        token = cls.create(
            user=user,
            name=name,
            token_hash=hash_secret(secret),
            prefix=secret[:8],
            scopes=[s for s in SCOPES if s in scopes],
            expires_at=expires_at,
        )
        return token, secret

    @classmethod
    def of(cls, user: User) -> ModelSelect[ApiToken]:
        return cls.select().where(cls.user == user).order_by(cls.created_at.desc(), cls.id.desc())

    @classmethod
    def find_usable(cls, secret: str) -> ApiToken | None:
        """The live token for this secret: not revoked, not expired, its user active."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        token = (
            cls.select(cls, User).join(User).where(cls.token_hash == hash_secret(secret)).first()
        )
        if token is None or not token.is_usable or not token.user.is_active:
            return None
        return token

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"

    def effective_scopes(self) -> frozenset[str]:
        """Its scopes, less those its user may no longer hold (an administrator demoted)."""
        return frozenset(self.scopes or []) & frozenset(allowed_scopes(self.user))

    def touch(self) -> None:
        """Record use, at most once per LAST_USED_RESOLUTION (one conditional UPDATE)."""
        now = utcnow()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        cutoff = now - LAST_USED_RESOLUTION
        ApiToken.update(last_used_at=now).where(
            (ApiToken.id == self.id)
            & (ApiToken.last_used_at.is_null() | (ApiToken.last_used_at < cutoff))
        ).execute()
        self.last_used_at = now

    def revoke(self) -> bool:
        """Revoke now; False when it already was."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = utcnow()
        updated = (
            ApiToken.update(revoked_at=self.revoked_at)
            .where((ApiToken.id == self.id) & ApiToken.revoked_at.is_null())
            .execute()
        )
        return bool(updated)
