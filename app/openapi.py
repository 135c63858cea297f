"""The OpenAPI 3 document of /api/v1, generated from the marshmallow schemas (apispec)."""

from __future__ import annotations

import functools
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from app.models.execution import EVENT_TYPES
from app.schemas import api as schemas
from app.schemas import interchange

MAX_ID = 2**31 - 1
MAX_SEQ = 999_999_999
PROBLEM = "application/problem+json"
READ, EXECUTE, WRITE = "assistants:read", "assistants:execute", "assistants:write"
ERRORS = {
    400: "Malformed request (not JSON, not an object, a bad resume point).",
    401: "No token, or it is unknown, revoked or expired, or its account is deactivated.",
    403: "The token lacks the scope this operation needs.",
    404: "Absent, or not yours to see.",
    409: "Conflict with the current state.",
    413: "The body is larger than 1 MiB (imports: 10 MiB).",
    422: "Invalid inputs: a message per field in `errors`.",
    429: "Too many requests (see Retry-After).",
}


SSE_EVENT = {
    "type": "object",
    "description": "One server-sent event (the schema of each event, not of the stream).",
    "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The event's seq."},
        "event": {"type": "string", "enum": list(EVENT_TYPES)},
        "data": {"type": "string", "description": "A JSON object: the event's data."},
    },
}


def _id(name: str, what: str) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": what}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"$ref": f"#/components/responses/Problem{c}"} for c in (401, 429, *codes)}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(scope: str, summary: str, **rest: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": f"Needs a token with the `{scope}` scope.",
        "security": [{"bearerAuth": []}],
        **rest,
    }


def _paths(spec: APISpec) -> None:
    assistant_id = _id("assistant_id", "An assistant you may run or edit.")
    execution_id = _id("execution_id", "A run of yours (administrators: any run).")
    spec.path(
        "/api/v1/assistants",
        operations={
            "get": _operation(
                READ,
                "Assistants you may run (catalog rule) or edit",
                operationId="listAssistants",
                responses={"200": _json("AssistantList", "The assistants."), **_errors(403)},
            )
        },
    )
    spec.path(
        "/api/v1/assistants/{assistant_id}",
        operations={
            "get": _operation(
                READ,
                "An assistant's definition: its fields and its prompts in step order",
                operationId="getAssistant",
                parameters=[assistant_id],
                responses={"200": _json("AssistantDetail", "The assistant."), **_errors(403, 404)},
            )
        },
    )
    spec.path(
        "/api/v1/assistants/{assistant_id}/executions",
        operations={
            "post": _operation(
                EXECUTE,
                "Start a run; it is queued and runs without the request",
                operationId="startExecution",
                parameters=[assistant_id],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": "ExecutionCreate"}},
                },
                responses={
                    "202": {
                        **_json("ExecutionStarted", "Queued."),
                        "headers": {
                            "Location": {
                                "description": "The run's URL.",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **_errors(400, 403, 404, 409, 413, 422),
                },
            )
        },
    )
    spec.path(
        "/api/v1/executions/{execution_id}",
        operations={
            "get": _operation(
                READ,
                "A run: status, error, totals and its prompt results in step order",
                operationId="getExecution",
                parameters=[execution_id],
                responses={"200": _json("Execution", "The run."), **_errors(403, 404)},
            )
        },
    )
    spec.path(
        "/api/v1/executions/{execution_id}/events",
        operations={
            "get": _operation(
                READ,
                "The run's events as server-sent events (id = seq, event = type, data = JSON)",
                operationId="streamExecutionEvents",
                parameters=[
                    execution_id,
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[ \\t]*([0-9]{1,9})?[ \\t]*$"},
                        "description": "Resume after this seq (EventSource sends it itself).",
                    },
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
                        "description": "Resume after this seq.",
                    },
                ],
                responses={
                    "200": {
                        "description": "A comment first, keepalive comments while quiet; the "
                        "stream closes after execution-complete, -error or -cancelled (or, "
                        "following a follow-up answer, after chat-complete).",
                        "content": {"text/event-stream": {"schema": SSE_EVENT}},
                    },
                    "204": {"description": "The run finished and nothing is left after that seq."},
                    **_errors(400, 403, 404),
                },
            )
        },
    )
    spec.path(
        "/api/v1/executions/{execution_id}/cancel",
        operations={
            "post": _operation(
                EXECUTE,
                "Stop a run: a queued one at once, a running one at its next flush",
                operationId="cancelExecution",
                parameters=[execution_id],
                responses={"202": _json("Cancel", "Cancel requested."), **_errors(403, 404, 409)},
            )
        },
    )
    _interchange_paths(spec)
    spec.path(
        "/api/v1/executions/{execution_id}/messages",
        operations={
            "get": _operation(
                READ,
                "The follow-up conversation on a run, oldest first",
                operationId="listExecutionMessages",
                parameters=[execution_id],
                responses={"200": _json("MessageList", "The messages."), **_errors(403, 404)},
            ),
            "post": _operation(
                EXECUTE,
                "Ask a follow-up question on a completed run of yours; the answer is written "
                "by a runner and streamed as chat-delta/chat-complete events of the run",
                operationId="askExecutionQuestion",
                parameters=[execution_id],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": "MessageCreate"}},
                },
                responses={
                    "202": _json("MessagesAsked", "Asked; the answer is pending."),
                    **_errors(400, 403, 404, 409, 413, 422),
                },
            ),
        },
    )
    spec.path(
        "/api/v1/openapi.json",
        operations={
            "get": {
                "summary": "This document",
                "operationId": "getOpenAPI",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    )


def _interchange_paths(spec: APISpec) -> None:
    file_schema = {"type": "string", "format": "binary", "description": "The JSON file."}
    spec.path(
        "/api/v1/assistants/import",
        operations={
            "post": _operation(
                WRITE,
                "Import assistants from an AI Studio JSON file (format 1.0; administrators)",
                operationId="importAssistants",
                requestBody={
                    "required": True,
                    "description": "Up to 10 MiB; up to 20 prompts per assistant. Each assistant "
                    "is imported on its own, pending approval, owned by the caller.",
                    "content": {
                        "application/json": {"schema": "AIStudioDocument"},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": file_schema},
                            }
                        },
                    },
                },
                responses={
                    "200": _json("ImportResult", "At least one assistant was imported."),
                    "422": {
                        "description": "Nothing was imported: the file is unreadable (wrong "
                        "version, broken JSON …) or every assistant failed (see `assistants`).",
                        "content": {PROBLEM: {"schema": "ImportProblem"}},
                    },
                    **_errors(400, 403, 413),
                },
            )
        },
    )
    spec.path(
        "/api/v1/assistants/export",
        operations={
            "post": _operation(
                WRITE,
                "Export assistants to AI Studio's JSON format 1.0 (administrators)",
                operationId="exportAssistants",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": "ExportRequest"}},
                },
                responses={
                    "200": _json("AIStudioDocument", "The file (prompt_N_output from 0)."),
                    **_errors(400, 403, 413, 422),
                },
            )
        },
    )


@functools.cache
def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="Assistant Architect API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Run assistants from other systems. Authenticate with a personal "
            "token from your profile page: `Authorization: Bearer aa_…`. Errors are RFC 9457 "
            "problem details (application/problem+json)."
        },
    )
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "A personal API token."}
    )
    for name, schema in (
        ("ExecutionCreate", schemas.ExecutionCreateSchema),
        ("AssistantList", schemas.AssistantListSchema),
        ("AssistantDetail", schemas.AssistantDetailSchema),
        ("ExecutionStarted", schemas.ExecutionStartedSchema),
        ("Execution", schemas.ExecutionSchema),
        ("Cancel", schemas.CancelSchema),
        ("MessageCreate", schemas.MessageCreateSchema),
        ("Message", schemas.MessageSchema),
        ("MessageList", schemas.MessageListSchema),
        ("MessagesAsked", schemas.MessagesAskedSchema),
        ("Problem", schemas.ProblemSchema),
        ("ExportRequest", interchange.ExportRequestSchema),
        ("ImportResult", interchange.ImportResultSchema),
        ("ImportProblem", interchange.ImportProblemSchema),
        ("AIStudioDocument", interchange.AIStudioDocumentSchema),
    ):
        spec.components.schema(name, schema=schema)
    for code, description in ERRORS.items():
        spec.components.response(
            f"Problem{code}",
            {"description": description, "content": {PROBLEM: {"schema": "Problem"}}},
        )
    _paths(spec)
    return spec.to_dict()
