"""People and their roles."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import (
    BooleanField,
    CharField,
    Check,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from app.db import BaseModel, utcnow
from app.models.fields import in_sql

ROLES = ("administrator", "staff", "student")
ROLE_LABELS = {"administrator": "Administrator", "staff": "Staff", "student": "Student"}
AUTHOR_ROLES = frozenset({"administrator", "staff"})

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths cost one hash (no timing hint).
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_fast_password_hashing() -> None:
    """Tests only: argon2 at its cheapest, so hundreds of sign-ins take seconds, not minutes."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


class User(BaseModel):
    email = CharField(max_length=320, unique=True)
    name = CharField(max_length=255)
    password_hash = TextField(null=True)  # null for SSO-only accounts
    is_active = BooleanField(default=True)
    # Bumped when the password changes or the account is deactivated: old sessions end.
    session_epoch = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    class Meta:
        table_name = "users"

    def __str__(self) -> str:
        return self.name or self.email

    @staticmethod
    def normalize_email(email: str) -> str:
        return email.strip().lower()

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return cls.get_or_none(cls.email == cls.normalize_email(email))

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            _verify_dummy(password)
            return False
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.set_password(password)
            self.save(only=[User.password_hash])
        return True

    @classmethod
    def authenticate(cls, email: str, password: str) -> User | None:
        """The active user with this email and password, else None (same cost either way)."""
        user = cls.by_email(email)
        if user is None:
            _verify_dummy(password)
            return None
        if not user.check_password(password) or not user.is_active:
            return None
        return user

    @property
    def role_names(self) -> frozenset[str]:
        cached = self.__dict__.get("_role_names")
        if cached is None:
            query = Role.select(Role.name).join(UserRole).where(UserRole.user == self)
            cached = frozenset(r.name for r in query)
            self.__dict__["_role_names"] = cached
        return cached

    def has_role(self, *names: str) -> bool:
        return bool(self.role_names & set(names))

    @property
    def is_admin(self) -> bool:
        return "administrator" in self.role_names

    @property
    def can_author(self) -> bool:
        return bool(self.role_names & AUTHOR_ROLES)

    def set_roles(self, names: Iterable[str], source: str = "manual") -> None:
        """Exactly these roles. A role the user keeps keeps its source; added ones get `source`."""
        wanted = set(names)
        unknown = wanted - set(ROLES)
        if unknown:
            raise ValueError(f"Unknown roles: {', '.join(sorted(unknown))}")
        held = self.role_sources()
        dropped = [name for name in held if name not in wanted]
        if dropped:
            ids = Role.select(Role.id).where(Role.name.in_(dropped))
            UserRole.delete().where((UserRole.user == self) & UserRole.role.in_(ids)).execute()
        for role in Role.select().where(Role.name.in_(sorted(wanted - set(held)))):
            UserRole.create(user=self, role=role, source=source)
        self.__dict__.pop("_role_names", None)

    def role_sources(self) -> dict[str, str]:
        """Role name → where it came from: `manual` (an administrator) or `sso` (the provider)."""
        query = UserRole.select(Role.name, UserRole.source).join(Role).where(UserRole.user == self)
        rows: list[tuple[str, str]] = list(query.tuples())  # type: ignore[arg-type]
        return dict(rows)

    def sync_provider_roles(self, granted: set[str], managed: set[str]) -> tuple[set, set]:
        """Make the provider-managed roles follow the groups; never touch manual roles.

        `managed` are the roles the group mapping can give. A managed role the groups grant is
        added (source `sso`) unless the user already holds it; one held from the provider that the
        groups no longer grant is removed. Returns (added, removed).
        """
        held = self.role_sources()
        added = (granted & managed) - set(held)
        removed = {
            name
            for name, source in held.items()
            if source == "sso" and name in managed and name not in granted
        }
        if removed:
            ids = Role.select(Role.id).where(Role.name.in_(sorted(removed)))
            UserRole.delete().where((UserRole.user == self) & UserRole.role.in_(ids)).execute()
        for role in Role.select().where(Role.name.in_(sorted(added))):
            UserRole.create(user=self, role=role, source="sso")
        self.__dict__.pop("_role_names", None)
        return added, removed

    def change_password(self, password: str) -> None:
        """Set a new password and end every session of the account (they carry the old epoch)."""
        self.set_password(password)
        self.session_epoch += 1
        self.save(only=[User.password_hash, User.session_epoch])

    def end_sessions(self) -> None:
        self.session_epoch += 1
        self.save(only=[User.session_epoch])

    @classmethod
    def administrators_exist(cls) -> bool:
        return UserRole.select().join(Role).where(Role.name == "administrator").exists()


def _verify_dummy(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


class Role(BaseModel):
    name = CharField(max_length=32, unique=True, constraints=[Check(in_sql("name", ROLES))])

    class Meta:
        table_name = "roles"

    @classmethod
    def ensure_all(cls) -> None:
        for name in ROLES:
            cls.get_or_create(name=name)


class UserRole(BaseModel):
    user = ForeignKeyField(User, backref="user_roles", on_delete="CASCADE")
    role = ForeignKeyField(Role, backref="user_roles", on_delete="CASCADE")
    # manual (set by an administrator or the CLI) or sso (synced from the identity provider).
    source = CharField(
        max_length=16, default="manual", constraints=[Check("source IN ('manual', 'sso')")]
    )
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "user_roles"
        indexes = ((("user", "role"), True),)
