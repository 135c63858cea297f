"""Runs: executions, their prompt results, their event log and their follow-up chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peewee import (
    BigAutoField,
    BooleanField,
    CharField,
    Check,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    TextField,
)

from app.db import BaseModel, utcnow
from app.models.ai_model import AIModel
from app.models.assistant import Assistant, ChainPrompt
from app.models.fields import in_sql
from app.models.user import User

if TYPE_CHECKING:
    from peewee import ModelSelect

RUN_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
RUN_STATUS_LABELS = {
    "pending": "Queued",
    "running": "Running",
    "completed": "Done",
    "failed": "Failed",
    "cancelled": "Stopped",
    None: "Not run",
}
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
EVENT_TYPES = (
    "execution-start",
    "prompt-start",
    "prompt-delta",
    "prompt-complete",
    "prompt-error",
    "variable-substitution",
    "execution-complete",
    "execution-error",
    "execution-cancelled",
    "chat-delta",
    "chat-complete",
)
TERMINAL_EVENTS = frozenset({"execution-complete", "execution-error", "execution-cancelled"})
# A follow-up answer comes after the run's terminal event; a stream that follows it ends here.
STREAM_END_EVENTS = TERMINAL_EVENTS | {"chat-complete"}


def _money(**kwargs):
    return DecimalField(max_digits=14, decimal_places=8, auto_round=True, **kwargs)


class Execution(BaseModel):
    assistant = ForeignKeyField(
        Assistant,
        backref="executions",
        column_name="assistant_architect_id",
        object_id_name="assistant_id",
        on_delete="CASCADE",
    )
    user = ForeignKeyField(User, backref="executions", column_name="user_id", on_delete="RESTRICT")
    status = CharField(
        max_length=16, default="pending", constraints=[Check(in_sql("status", RUN_STATUSES))]
    )
    input_data = JSONField(default=dict)
    definition = JSONField()  # snapshot of the assistant as it ran
    version = IntegerField(default=0)  # the assistant version it ran
    error_message = TextField(null=True)
    started_at = DateTimeField(default=utcnow)  # when the user started it (queued from here)
    claimed_at = DateTimeField(null=True)  # when a runner first picked it up
    completed_at = DateTimeField(null=True)
    # Leases: the runner renews lease_expires_at at each flush; a sweeper reclaims expired ones.
    lease_owner = CharField(max_length=128, null=True)
    lease_expires_at = DateTimeField(null=True)
    attempt = IntegerField(default=0)
    cancel_requested_at = DateTimeField(null=True)
    retry_of = ForeignKeyField(
        "self", null=True, backref="retries", column_name="retry_of_id", on_delete="SET NULL"
    )
    retry_from_step = IntegerField(null=True)
    tokens_in = IntegerField(default=0)
    tokens_out = IntegerField(default=0)
    cost = _money(null=True)
    has_unpriced = BooleanField(default=False)  # some prompt used a model with no price

    class Meta:
        table_name = "tool_executions"
        indexes = (
            (("status", "id"), False),  # the queue: oldest pending first
            (("user", "started_at"), False),  # my runs
            (("assistant", "started_at"), False),
            (("status", "lease_expires_at"), False),  # the sweeper
            (("completed_at",), False),  # retention (app.retention)
        )

    if TYPE_CHECKING:  # set by Peewee at runtime
        assistant_id: int
        user_id: int
        retry_of_id: int | None

    @property
    def status_label(self) -> str:
        return RUN_STATUS_LABELS[self.status]

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_fresh(self) -> bool:
        """Claimed for the first time and not a retry: nothing was written for it yet (no
        events, no prompt results), so the runner need not look for what an earlier attempt or
        the retry's copied results left."""
        return self.attempt <= 1 and self.retry_of_id is None

    @classmethod
    def visible_to(cls, user: User) -> ModelSelect[Execution]:
        """Runs a person may open: their own; administrators see every run."""
        if user.is_admin:
            return cls.select()
        return cls.select().where(cls.user == user)


class PromptResult(BaseModel):
    execution = ForeignKeyField(
        Execution, backref="prompt_results", column_name="execution_id", on_delete="CASCADE"
    )
    # Deleting a prompt never deletes history: the snapshot keeps its name.
    prompt = ForeignKeyField(
        ChainPrompt, null=True, backref="results", column_name="prompt_id", on_delete="SET NULL"
    )
    step = IntegerField()  # N in step order, from 1 (prompt_N_output)
    prompt_name = CharField(max_length=255)
    status = CharField(
        max_length=16, default="running", constraints=[Check(in_sql("status", RUN_STATUSES))]
    )
    input_data = JSONField(default=dict)  # original and processed content, model, parameters
    output_data = TextField(null=True)
    error_message = TextField(null=True)
    model = ForeignKeyField(AIModel, null=True, column_name="model_id", on_delete="SET NULL")
    used_fallback = BooleanField(default=False)
    reused_from = ForeignKeyField(
        "self", null=True, column_name="reused_from_id", on_delete="SET NULL"
    )
    attempts = IntegerField(default=0)
    started_at = DateTimeField(default=utcnow)
    completed_at = DateTimeField(null=True)
    execution_time_ms = IntegerField(null=True)
    tokens_in = IntegerField(null=True)
    tokens_out = IntegerField(null=True)
    cost = _money(null=True)
    user_feedback = CharField(
        max_length=8, null=True, constraints=[Check("user_feedback IN ('up', 'down')")]
    )

    class Meta:
        table_name = "prompt_results"
        indexes = ((("execution", "step"), True), (("started_at",), False))

    if TYPE_CHECKING:
        prompt_id: int | None
        model_id: int | None
        reused_from_id: int | None

    @property
    def status_label(self) -> str:
        return RUN_STATUS_LABELS[self.status]


class ExecutionEvent(BaseModel):
    id = BigAutoField()
    execution = ForeignKeyField(
        Execution, backref="events", column_name="execution_id", on_delete="CASCADE"
    )
    seq = IntegerField()  # per-execution sequence: the SSE event id
    event_type = CharField(max_length=32, constraints=[Check(in_sql("event_type", EVENT_TYPES))])
    event_data = JSONField(default=dict)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "assistant_architect_events"
        indexes = ((("execution", "seq"), True),)


class ExecutionMessage(BaseModel):
    execution = ForeignKeyField(
        Execution, backref="messages", column_name="execution_id", on_delete="CASCADE"
    )
    role = CharField(max_length=16, constraints=[Check("role IN ('user', 'assistant')")])
    content = TextField(default="")
    model = ForeignKeyField(AIModel, null=True, column_name="model_id", on_delete="SET NULL")
    status = CharField(
        max_length=16, default="completed", constraints=[Check(in_sql("status", RUN_STATUSES))]
    )
    tokens_in = IntegerField(null=True)
    tokens_out = IntegerField(null=True)
    cost = _money(null=True)
    error_message = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    completed_at = DateTimeField(null=True)

    class Meta:
        table_name = "execution_messages"
        indexes = ((("execution", "created_at"), False),)

    if TYPE_CHECKING:
        execution_id: int
        model_id: int | None
