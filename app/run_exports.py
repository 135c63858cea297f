"""A run as a document (Markdown, JSON) and an assistant's runs as CSV rows — no Flask here."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from app.models.execution import RUN_STATUS_LABELS

FORMULA_PREFIXES = ("=", "+", "-", "@")
CSV_FIXED_COLUMNS = [
    "run id",
    "user email",
    "status",
    "started",
    "completed",
    "duration seconds",
    "tokens in",
    "tokens out",
    "cost",
]


def iso(moment: dt.datetime | None) -> str | None:
    """Stored times are naive UTC; exports say so."""
    return f"{moment.isoformat(timespec='seconds')}Z" if moment else None


def duration_seconds(started: dt.datetime | None, completed: dt.datetime | None) -> float | None:
    if started is None or completed is None:
        return None
    return round((completed - started).total_seconds(), 1)


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def input_text(value: Any) -> str:
    """An input value as one line of text (multi-choice inputs arrive as lists)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return str(value.get("text") or value.get("name") or json.dumps(value, sort_keys=True))
    return str(value)


def run_document(
    execution: Any, results: Sequence[Any], messages: Sequence[Any] = ()
) -> dict[str, Any]:
    """The plain data of one run, shared by the Markdown and JSON downloads (its follow-up
    conversation under "follow_up" when there is one)."""
    document = {
        "run": {
            "id": execution.id,
            "assistant": execution.definition.get("assistant", {}).get("name")
            or execution.assistant.name,
            "assistant_id": execution.assistant_id,
            "user": execution.user.email,
            "status": execution.status,
            "started_at": iso(execution.started_at),
            "completed_at": iso(execution.completed_at),
            "duration_seconds": duration_seconds(execution.started_at, execution.completed_at),
            "tokens_in": execution.tokens_in,
            "tokens_out": execution.tokens_out,
            "cost": money(execution.cost),
            "has_unpriced": execution.has_unpriced,
            "error_message": execution.error_message,
        },
        "inputs": {name: execution.input_data[name] for name in execution.input_data},
        "results": [
            {
                "step": result.step,
                "prompt": result.prompt_name,
                "status": result.status,
                "model": (result.input_data or {}).get("model_name"),
                "output": result.output_data or "",
                "tokens_in": result.tokens_in,
                "tokens_out": result.tokens_out,
                "cost": money(result.cost),
                "execution_time_ms": result.execution_time_ms,
                "used_fallback": result.used_fallback,
                "reused_from_result_id": result.reused_from_id,
                "user_feedback": result.user_feedback,
            }
            for result in results
        ],
    }
    if messages:
        document["follow_up"] = [
            {
                "role": m.role,
                "content": m.content,
                "status": m.status,
                "error_message": m.error_message,
                "tokens_in": m.tokens_in,
                "tokens_out": m.tokens_out,
                "cost": money(m.cost),
                "created_at": iso(m.created_at),
            }
            for m in messages
        ]
    return document


def run_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def run_markdown(document: dict[str, Any]) -> str:
    run = document["run"]
    lines = [f"# {run['assistant']} — run {run['id']}", ""]
    lines.append(f"- Status: {RUN_STATUS_LABELS.get(run['status'], run['status'])}")
    lines.append(f"- Started: {run['started_at']}")
    if run["completed_at"]:
        lines.append(f"- Completed: {run['completed_at']}")
    lines.append(f"- Tokens: {run['tokens_in']} in, {run['tokens_out']} out")
    lines.append(f"- Cost: {'$' + run['cost'] if run['cost'] is not None else 'unpriced'}")
    if run["error_message"]:
        lines.append(f"- Error: {run['error_message']}")
    if document["inputs"]:
        lines += ["", "## Inputs", ""]
        lines += [f"- **{name}**: {input_text(v)}" for name, v in document["inputs"].items()]
    for result in document["results"]:
        lines += ["", f"## {result['step']}. {result['prompt']}", ""]
        lines.append(result["output"].strip() or "_No output._")
    if document.get("follow_up"):
        lines += ["", "## Follow-up questions"]
        for message in document["follow_up"]:
            if message["role"] == "user":
                lines += ["", f"**Question:** {message['content'].strip()}"]
            elif message["status"] == "completed":
                lines += ["", message["content"].strip() or "_No answer._"]
            else:
                lines += ["", f"_No answer: {message['error_message'] or message['status']}._"]
    return "\n".join(lines) + "\n"


def safe_filename(*parts: object, suffix: str) -> str:
    """ASCII letters, digits and dashes only: safe in a Content-Disposition header."""
    stem = "-".join(str(p) for p in parts)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()[:80] or "run"
    return f"{stem}.{suffix}"


def safe_cell(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas: make those text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_header(field_names: Sequence[str], prompt_names: Sequence[str]) -> list[str]:
    return [*CSV_FIXED_COLUMNS, *field_names, *prompt_names]


def csv_row(
    execution: Any,
    outputs_by_prompt: dict[str, str],
    field_names: Sequence[str],
    prompt_names: Sequence[str],
) -> list[Any]:
    duration = duration_seconds(execution.started_at, execution.completed_at)
    row: list[Any] = [
        execution.id,
        execution.user.email,
        execution.status,
        iso(execution.started_at) or "",
        iso(execution.completed_at) or "",
        "" if duration is None else duration,
        execution.tokens_in,
        execution.tokens_out,
        money(execution.cost) or "",
    ]
    row += [input_text(execution.input_data.get(name)) for name in field_names]
    row += [outputs_by_prompt.get(name, "") for name in prompt_names]
    return [safe_cell(cell) for cell in row]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows(rows)
    return buffer.getvalue()
