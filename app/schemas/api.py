"""The JSON API's bodies and responses (marshmallow 4); app/openapi.py documents them from here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate

from app.models.assistant import FIELD_TYPES, STATUSES
from app.models.execution import RUN_STATUSES
from app.models.token import SCOPES


class UtcDateTime(fields.DateTime):
    """Timestamps are stored as naive UTC; the API says so (ISO 8601 with +00:00)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _when(description: str) -> UtcDateTime:
    return UtcDateTime(allow_none=True, metadata={"description": description})


# --- requests ----------------------------------------------------------------------------------
class ExecutionCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    inputs = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        load_default=dict,
        metadata={
            "description": "Field name → text; a multi-select takes a list of strings; a file "
            "field takes the document's text. Unknown names are refused (422).",
            "example": {"user_input": "The tides of the Bay of Fundy"},
        },
    )


class MessageCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    content = fields.String(
        required=True,
        metadata={
            "description": "The follow-up question (up to 20,000 characters).",
            "example": "Explain the second point in simpler words.",
        },
    )


# --- responses ---------------------------------------------------------------------------------
class AssistantLinksSchema(Schema):
    self = fields.String(required=True)
    executions = fields.String(required=True, metadata={"description": "POST here to run it."})
    page = fields.String(required=True, metadata={"description": "The run form in the browser."})


class AssistantSummarySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    can_run = fields.Boolean(required=True)
    can_edit = fields.Boolean(required=True)
    links = fields.Nested(AssistantLinksSchema, required=True)


class AssistantListSchema(Schema):
    assistants = fields.List(fields.Nested(AssistantSummarySchema), required=True)


class InputFieldSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, metadata={"enum": list(FIELD_TYPES)})
    position = fields.Integer(required=True)
    options = fields.Dict(
        required=True, metadata={"description": "choices, required, max_length, pattern …"}
    )


class PromptSchema(Schema):
    step = fields.Integer(required=True, metadata={"description": "N of prompt_N_output, from 1"})
    name = fields.String(required=True)
    position = fields.Integer(required=True, metadata={"description": "The stage, from 0."})
    model = fields.String(allow_none=True, required=True, metadata={"description": "Its name."})
    content = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The template; null unless you may edit the assistant."},
    )


class AssistantDetailSchema(AssistantSummarySchema):
    input_fields = fields.List(fields.Nested(InputFieldSchema), required=True, data_key="fields")
    prompts = fields.List(
        fields.Nested(PromptSchema), required=True, metadata={"description": "In step order."}
    )


class ExecutionLinksSchema(Schema):
    self = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "Server-sent events."})
    cancel = fields.String(required=True)
    page = fields.String(required=True, metadata={"description": "The live run page."})


class ExecutionStartedSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(RUN_STATUSES)})
    queue_position = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Queued runs ahead of it; null once it left the queue."},
    )
    links = fields.Nested(ExecutionLinksSchema, required=True)


class PromptResultSchema(Schema):
    step = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(RUN_STATUSES)})
    output = fields.String(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)
    tokens_in = fields.Integer(allow_none=True, required=True)
    tokens_out = fields.Integer(allow_none=True, required=True)
    cost = fields.Decimal(
        as_string=True,
        allow_none=True,
        required=True,
        metadata={"description": "USD; null when unpriced."},
    )
    execution_time_ms = fields.Integer(allow_none=True, required=True)
    started_at = _when("When the prompt started.")
    completed_at = _when("When it finished.")
    reused = fields.Boolean(required=True, metadata={"description": "Copied from an earlier run."})
    fallback = fields.Boolean(required=True, metadata={"description": "Answered by the fallback."})


class ExecutionSchema(ExecutionStartedSchema):
    assistant_id = fields.Integer(required=True)
    assistant_name = fields.String(required=True)
    error = fields.String(allow_none=True, required=True)
    inputs = fields.Dict(required=True)
    started_at = _when("When it was started (queued from then).")
    completed_at = _when("When it finished.")
    tokens_in = fields.Integer(required=True)
    tokens_out = fields.Integer(required=True)
    cost = fields.Decimal(as_string=True, allow_none=True, required=True)
    unpriced = fields.Boolean(
        required=True, metadata={"description": "Some prompt used a model without a price."}
    )
    prompt_results = fields.List(
        fields.Nested(PromptResultSchema),
        required=True,
        metadata={"description": "In step order; prompts never reached have none."},
    )


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    role = fields.String(required=True, metadata={"enum": ["user", "assistant"]})
    content = fields.String(required=True, metadata={"description": "Empty until answered."})
    status = fields.String(required=True, metadata={"enum": list(RUN_STATUSES)})
    model = fields.String(allow_none=True, required=True, metadata={"description": "Its name."})
    error = fields.String(allow_none=True, required=True)
    tokens_in = fields.Integer(allow_none=True, required=True)
    tokens_out = fields.Integer(allow_none=True, required=True)
    cost = fields.Decimal(
        as_string=True,
        allow_none=True,
        required=True,
        metadata={"description": "USD; null when unpriced."},
    )
    created_at = _when("When it was asked.")
    completed_at = _when("When the answer was finished.")


class MessageListSchema(Schema):
    messages = fields.List(
        fields.Nested(MessageSchema), required=True, metadata={"description": "Oldest first."}
    )


class MessageLinksSchema(Schema):
    events = fields.String(
        required=True,
        metadata={"description": "Server-sent events from here on: chat-delta … chat-complete."},
    )
    messages = fields.String(required=True)


class MessagesAskedSchema(Schema):
    question = fields.Nested(MessageSchema, required=True)
    answer = fields.Nested(
        MessageSchema, required=True, metadata={"description": "Pending; a runner writes it."}
    )
    links = fields.Nested(MessageLinksSchema, required=True)


class CancelSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(RUN_STATUSES)})
    cancel_requested = fields.Boolean(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(required=True)
    request_id = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "422 only: a message per field."},
    )


execution_create_schema = ExecutionCreateSchema()
assistant_list_schema = AssistantListSchema()
assistant_detail_schema = AssistantDetailSchema()
execution_started_schema = ExecutionStartedSchema()
execution_schema = ExecutionSchema()
cancel_schema = CancelSchema()
message_create_schema = MessageCreateSchema()
message_list_schema = MessageListSchema()
messages_asked_schema = MessagesAskedSchema()


# --- the profile page's token form -------------------------------------------------------------
def _printable(value: str) -> None:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError("Use letters, digits, spaces and punctuation only.")


def _after_today(value: dt.date) -> None:
    if value <= dt.datetime.now(dt.UTC).date():
        raise ValidationError("Choose a date after today.")


class TokenCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the form's csrf_token and submit button

    name = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=100, error="Name the token (up to 100 characters)."),
            _printable,
        ],
        error_messages={"required": "Name the token (up to 100 characters)."},
    )
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES, error="Unknown scope.")),
        validate=validate.Length(min=1, error="Choose at least one scope."),
        load_default=list,
    )
    expires_on = fields.Date(
        load_default=None,
        allow_none=True,
        validate=_after_today,
        error_messages={"invalid": "Enter a date (YYYY-MM-DD) or leave it empty."},
    )

    @pre_load
    def _clean(self, data: dict, **_: Any) -> dict:
        data = dict(data)
        if isinstance(data.get("name"), str):
            data["name"] = data["name"].strip()
        if data.get("expires_on") in ("", None):
            data["expires_on"] = None
        return data


token_create_schema = TokenCreateSchema()
