"""Settings an administrator changes at run time (key → JSON value), e.g. how long runs are kept."""

from __future__ import annotations

from typing import Any

from peewee import CharField, DateTimeField, ForeignKeyField, JSONField

from app.db import BaseModel, utcnow
from app.models.user import User


class AppSetting(BaseModel):
    key = CharField(max_length=64, unique=True)
    value = JSONField(null=True)
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, column_name="updated_by_id", on_delete="SET NULL")

    class Meta:
        table_name = "app_settings"

    @classmethod
    def read(cls, key: str, default: Any = None) -> Any:
        row = cls.get_or_none(cls.key == key)
        return default if row is None or row.value is None else row.value

    @classmethod
    def write(cls, key: str, value: Any, by: User | None = None) -> None:
        """Insert or replace, in one statement (two administrators saving at once is fine)."""
        (
            cls.insert(key=key, value=value, updated_at=utcnow(), updated_by=by)
            .on_conflict(
                conflict_target=[cls.key],
                update={cls.value: value, cls.updated_at: utcnow(), cls.updated_by: by},
            )
            .execute()
        )
