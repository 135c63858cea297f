"""Frozen versions of an assistant: what was submitted for approval, and what was decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peewee import (
    CharField,
    Check,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    TextField,
)

from app.db import BaseModel, utcnow
from app.models.assistant import Assistant
from app.models.user import User

DECISIONS = ("approved", "rejected")


class AssistantVersion(BaseModel):
    assistant = ForeignKeyField(
        Assistant,
        backref="versions",
        column_name="assistant_architect_id",
        object_id_name="assistant_id",
        on_delete="CASCADE",
    )
    number = IntegerField()  # 1, 2, … per assistant; Assistant.version is the latest
    # The definition (app.chain.definition) plus a "details" block: description, icon, audience.
    definition = JSONField()
    submitted_by = ForeignKeyField(
        User, null=True, column_name="submitted_by_id", on_delete="SET NULL", backref="+"
    )
    submitted_at = DateTimeField(default=utcnow)
    decision = CharField(
        max_length=16, null=True, constraints=[Check("decision IN ('approved', 'rejected')")]
    )
    decided_by = ForeignKeyField(
        User, null=True, column_name="decided_by_id", on_delete="SET NULL", backref="+"
    )
    decided_at = DateTimeField(null=True)
    reason = TextField(null=True)  # why it was rejected
    owner_notified_at = DateTimeField(null=True)  # the owner has seen the decision

    if TYPE_CHECKING:
        assistant_id: int
        submitted_by_id: int | None
        decided_by_id: int | None

    class Meta:
        table_name = "assistant_versions"
        indexes = ((("assistant", "number"), True), (("decision", "owner_notified_at"), False))

    @property
    def decision_label(self) -> str:
        return {"approved": "Approved", "rejected": "Rejected"}.get(
            self.decision or "", "Waiting for review"
        )
