"""The audit trail: who did what, when, from where. Written only through `record`."""

from __future__ import annotations

from typing import Any

from peewee import BigAutoField, CharField, DateTimeField, ForeignKeyField, JSONField, TextField

from app.db import BaseModel, utcnow
from app.models.user import User


class AuditEvent(BaseModel):
    id = BigAutoField()
    at = DateTimeField(default=utcnow, index=True)
    actor = ForeignKeyField(User, null=True, column_name="actor_id", on_delete="SET NULL")
    actor_email = CharField(max_length=320, null=True)  # kept if the account goes
    action = CharField(max_length=64, index=True)  # e.g. user.role_changed, assistant.approved
    target_type = CharField(max_length=64, null=True)
    target_id = CharField(max_length=64, null=True)
    summary = TextField(default="")
    details = JSONField(default=dict)
    ip = CharField(max_length=64, null=True)
    request_id = CharField(max_length=64, null=True)

    class Meta:
        table_name = "audit_events"
        indexes = ((("target_type", "target_id"), False),)


def record(
    action: str,
    *,
    actor: User | None,
    target: Any = None,
    summary: str = "",
    details: dict | None = None,
    ip: str | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """The one function that writes the audit trail."""
    target_type = target_id = None
    if target is not None:
        target_type = target._meta.table_name
        target_id = str(target.get_id())
    return AuditEvent.create(
        actor=actor,
        actor_email=actor.email if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        summary=summary[:2000],
        details=details or {},
        ip=ip,
        request_id=request_id,
    )
