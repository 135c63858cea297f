"""An assistant: its details, its input fields and its chain of prompts."""

from __future__ import annotations

import operator
from functools import reduce
from typing import TYPE_CHECKING, Any

from peewee import (
    BooleanField,
    CharField,
    Check,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    TextField,
)

from app.db import BaseModel, utcnow
from app.models import prebuilt
from app.models.ai_model import AIModel
from app.models.fields import in_sql
from app.models.user import User

if TYPE_CHECKING:
    from peewee import ModelSelect

STATUSES = ("draft", "pending_approval", "approved", "rejected", "disabled")
STATUS_LABELS = {
    "draft": "Draft",
    "pending_approval": "Pending approval",
    "approved": "Approved",
    "rejected": "Rejected",
    "disabled": "Disabled",
}
FIELD_TYPES = ("short_text", "long_text", "select", "multi_select", "file_upload")
DEFAULT_AUDIENCE = ["administrator", "staff"]


def _default_audience() -> list[str]:
    return list(DEFAULT_AUDIENCE)


class Assistant(BaseModel):
    name = CharField(max_length=255)
    description = TextField(default="")
    status = CharField(
        max_length=32, default="draft", constraints=[Check(in_sql("status", STATUSES))]
    )
    image_path = CharField(
        max_length=1024, null=True
    )  # one of our icons, or kept verbatim on import
    user = ForeignKeyField(User, backref="assistants", column_name="user_id", on_delete="RESTRICT")
    rejection_reason = TextField(null=True)
    version = IntegerField(default=0)  # the last frozen (submitted) version; 0 = never submitted
    audience = JSONField(default=_default_audience)  # roles that may run it once approved
    is_parallel = BooleanField(default=False)
    timeout_seconds = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    if TYPE_CHECKING:  # set by Peewee at runtime
        user_id: int
        prompts: ModelSelect[ChainPrompt]
        fields: ModelSelect[InputField]
        executions: ModelSelect[Any]

    class Meta:
        table_name = "assistant_architects"
        indexes = ((("status",), False), (("user",), False))

    def __str__(self) -> str:
        return self.name

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    # --- who may see what: the one place authorization queries live -----------------
    @classmethod
    def in_catalog_for(cls, user: User) -> ModelSelect[Assistant]:
        """Approved assistants whose audience includes one of the user's roles."""
        roles = sorted(user.role_names)
        if not roles:
            return cls.select().where(cls.id.is_null())  # nothing
        audience = reduce(operator.or_, [cls.audience.contains([r]) for r in roles])
        return cls.select().where((cls.status == "approved") & audience).order_by(cls.name)

    @classmethod
    def editable_by(cls, user: User) -> ModelSelect[Assistant]:
        """What the user may edit: everything for administrators, their own for staff."""
        if user.is_admin:
            return cls.select()
        if not user.can_author:
            return cls.select().where(cls.id.is_null())
        return cls.select().where(cls.user == user)

    def can_run(self, user: User) -> bool:
        """DESIGN §8: owner or administrator in any status; others approved + in audience."""
        if user.is_admin or self.user_id == user.id:
            return self.status != "disabled" or user.is_admin
        return self.status == "approved" and bool(set(self.audience or []) & user.role_names)

    def can_edit(self, user: User) -> bool:
        return user.is_admin or (user.can_author and self.user_id == user.id)

    def touch(self) -> None:
        self.updated_at = utcnow()

    def ordered_prompts(self) -> list[ChainPrompt]:
        """The prompts in step order with their models and fallback models attached: 2 reads
        (lazily, each model reference would be a read of its own), SQL built once — starting
        a run snapshots this (bench/engine.py: Peewee's join built and read ~1.2 ms of CPU)."""
        prompts = prebuilt.rows(ChainPrompt, _prompts_shape, self.id)
        ids = {i for p in prompts for i in (p.model_id, p.fallback_model_id) if i is not None}
        models = {m.id: m for m in prebuilt.by_ids(AIModel, sorted(ids))}
        for prompt in prompts:
            if prompt.model_id in models:
                prompt.model = models[prompt.model_id]
            if prompt.fallback_model_id in models:
                prompt.fallback_model = models[prompt.fallback_model_id]
        return prompts

    def ordered_fields(self) -> list[InputField]:
        return prebuilt.rows(InputField, _fields_shape, self.id)

    def definition(self, fields: list[InputField] | None = None) -> dict[str, Any]:
        """The chain engine's view of this assistant (app.chain.definition.Definition).
        `fields`: its ordered fields, when the caller has just read them."""
        if fields is None:
            fields = self.ordered_fields()
        return {
            "assistant": {
                "id": self.id,
                "name": self.name,
                "version": self.version,
                "timeout_seconds": self.timeout_seconds,
                "is_parallel": self.is_parallel,
            },
            "fields": [f.as_definition() for f in fields],
            "prompts": [p.as_definition() for p in self.ordered_prompts()],
        }


class InputField(BaseModel):
    assistant = ForeignKeyField(
        Assistant,
        backref="fields",
        column_name="assistant_architect_id",
        object_id_name="assistant_id",
        on_delete="CASCADE",
    )
    name = CharField(max_length=24, constraints=[Check("length(name) BETWEEN 1 AND 24")])
    label = CharField(max_length=255)
    field_type = CharField(max_length=16, constraints=[Check(in_sql("field_type", FIELD_TYPES))])
    position = IntegerField(default=0)
    options = JSONField(default=dict)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "tool_input_fields"
        indexes = ((("assistant", "name"), True),)

    def as_definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "field_type": self.field_type,
            "position": self.position,
            "options": dict(self.options or {}),
        }


class ChainPrompt(BaseModel):
    assistant = ForeignKeyField(
        Assistant,
        backref="prompts",
        column_name="assistant_architect_id",
        object_id_name="assistant_id",
        on_delete="CASCADE",
    )
    name = CharField(max_length=255)
    content = TextField(default="")
    system_context = TextField(null=True)
    model = ForeignKeyField(AIModel, null=True, column_name="model_id", on_delete="SET NULL")
    position = IntegerField(default=0, constraints=[Check("position >= 0")])  # the stage
    sort_order = IntegerField(default=0)  # stable order inside a stage
    parallel_group = IntegerField(null=True)
    input_mapping = JSONField(default=dict)
    timeout_seconds = IntegerField(null=True)
    temperature = FloatField(null=True)
    max_tokens = IntegerField(null=True)  # output cap passed to the provider
    fallback_model = ForeignKeyField(
        AIModel,
        null=True,
        column_name="fallback_model_id",
        on_delete="SET NULL",
        backref="fallback_for",
    )
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    if TYPE_CHECKING:
        assistant_id: int
        model_id: int | None
        fallback_model_id: int | None

    class Meta:
        table_name = "chain_prompts"
        indexes = ((("assistant", "position", "sort_order"), False),)

    def as_definition(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "content": self.content,
            "system_context": self.system_context,
            "position": self.position,
            "sort_order": self.sort_order,
            "input_mapping": dict(self.input_mapping or {}),
            "model": self.model.as_ref() if self.model is not None else None,
            "fallback_model": (
                self.fallback_model.as_ref() if self.fallback_model is not None else None
            ),
            "timeout_seconds": self.timeout_seconds,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "parallel_group": self.parallel_group,
        }


def _prompts_shape() -> ModelSelect[ChainPrompt]:
    return (
        ChainPrompt.select()
        .where(ChainPrompt.assistant == 0)
        .order_by(ChainPrompt.position, ChainPrompt.sort_order, ChainPrompt.id)
    )


def _fields_shape() -> ModelSelect[InputField]:
    return (
        InputField.select()
        .where(InputField.assistant == 0)
        .order_by(InputField.position, InputField.id)
    )
