"""Rows → the plain dicts the API's response schemas dump (links built here, once)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.chain.queue import queue_position
from app.models import Assistant, Execution, PromptResult, User


def assistant_summary(assistant: Assistant, user: User) -> dict[str, Any]:
    return {
        "id": assistant.id,
        "name": assistant.name,
        "description": assistant.description or "",
        "status": assistant.status,
        "can_run": assistant.can_run(user),
        "can_edit": assistant.can_edit(user),
        "links": {
            "self": url_for("api.assistant", assistant_id=assistant.id),
            "executions": url_for("api.start_execution", assistant_id=assistant.id),
            "page": url_for("runs.start", assistant_id=assistant.id),
        },
    }


def assistant_detail(assistant: Assistant, user: User) -> dict[str, Any]:
    """Fields and prompts in step order; prompt templates only for those who may edit."""
    definition = assistant.definition()
    show_content = assistant.can_edit(user)
    return {
        **assistant_summary(assistant, user),
        "input_fields": [
            {
                "name": f["name"],
                "label": f["label"],
                "type": f["field_type"],
                "position": f["position"],
                "options": f["options"],
            }
            for f in definition["fields"]
        ],
        "prompts": [
            {
                "step": step,
                "name": p["name"],
                "position": p["position"],
                "model": (p["model"] or {}).get("name"),
                "content": p["content"] if show_content else None,
            }
            for step, p in enumerate(definition["prompts"], start=1)
        ],
    }


def execution_links(execution_id: int) -> dict[str, str]:
    return {
        "self": url_for("api.execution", execution_id=execution_id),
        "events": url_for("api.execution_events", execution_id=execution_id),
        "cancel": url_for("api.cancel_execution", execution_id=execution_id),
        "page": url_for("runs.show", execution_id=execution_id),
    }


def execution_started(execution: Execution) -> dict[str, Any]:
    return {
        "id": execution.id,
        "status": execution.status,
        "queue_position": (queue_position(execution) if execution.status == "pending" else None),
        "links": execution_links(execution.id),
    }


def execution_detail(execution: Execution) -> dict[str, Any]:
    results = (
        PromptResult.select()
        .where(PromptResult.execution == execution.id)
        .order_by(PromptResult.step)
    )
    return {
        **execution_started(execution),
        "assistant_id": execution.assistant_id,
        "assistant_name": (execution.definition.get("assistant") or {}).get("name", ""),
        "error": execution.error_message,
        "inputs": execution.input_data,
        "started_at": execution.started_at,
        "completed_at": execution.completed_at,
        "tokens_in": execution.tokens_in,
        "tokens_out": execution.tokens_out,
        "cost": execution.cost,
        "unpriced": execution.has_unpriced,
        "prompt_results": [
            {
                "step": r.step,
                "name": r.prompt_name,
                "status": r.status,
                "output": r.output_data,
                "error": r.error_message,
                "tokens_in": r.tokens_in,
                "tokens_out": r.tokens_out,
                "cost": r.cost,
                "execution_time_ms": r.execution_time_ms,
                "started_at": r.started_at,
                "completed_at": r.completed_at,
                "reused": r.reused_from_id is not None,
                "fallback": r.used_fallback,
            }
            for r in results
        ],
    }
