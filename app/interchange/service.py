"""Import and export against the database; the format itself is in ``aistudio`` (no Flask here).

``import_document(raw, owner, on_imported)`` imports each assistant of the file in its own
transaction (one failing never stops the others), always ``pending_approval`` and owned by the
importer; ``on_imported(assistant, report)`` runs inside that transaction (the caller's audit).
``export_document_for(ids)`` writes the chosen assistants, in the order asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from peewee import DatabaseError

from app.db import database, utcnow
from app.interchange import aistudio, aistudio_export
from app.interchange.aistudio import FormatError, Plan, Report
from app.interchange.models_map import ModelChoice
from app.models import AIModel, Assistant, ChainPrompt, InputField, User

log = logging.getLogger(__name__)

__all__ = ["FormatError", "Report", "export_document_for", "import_document", "model_choices"]


def model_choices() -> list[ModelChoice]:
    return [
        ModelChoice(m.id, m.name, m.model_id, m.provider, m.is_active)
        for m in AIModel.select().order_by(AIModel.id)
    ]


def import_document(
    raw: bytes | str,
    owner: User,
    on_imported: Callable[[Assistant, Report], None] = lambda a, r: None,
) -> list[Report]:
    """A report per assistant of the file; FormatError when the file as a whole is unreadable."""
    items = aistudio.read_document(raw)
    models = model_choices()
    reports = []
    for number, item in enumerate(items, start=1):
        problem = _unstorable(item)
        if problem:
            plan, report = None, aistudio.Report(number, _name_of(item, number), errors=[problem])
        else:
            plan, report = aistudio.convert_assistant(item, models, number)
        _make_storable(report)
        if plan is not None:
            try:
                with database.atomic():
                    assistant = _create(plan, owner)
                    report.assistant_id = assistant.id
                    on_imported(assistant, report)
            except DatabaseError as exc:
                log.warning("import of assistant %s failed: %s", number, exc)
                report.assistant_id = None
                report.errors.append(
                    "The database refused it, so nothing of it was saved. "
                    f"({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})"
                )
        reports.append(report)
    return reports


def _name_of(item: Any, number: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return storable(name[:120]) if isinstance(name, str) else f"Assistant {number}"


def storable(text: str) -> str:
    """Text as the audit trail and the database can keep it (reports quote the file's text)."""
    return text.replace("\x00", "�").encode("utf-8", "replace").decode("utf-8")


def _make_storable(report: Report) -> None:
    report.name = storable(report.name)
    for lines in (report.errors, report.models, report.renumbered, report.notes):
        lines[:] = [storable(line) for line in lines]
    report.findings = [{k: storable(v) for k, v in f.items()} for f in report.findings]


def _unstorable(value: Any) -> str | None:
    """Text no database here can hold: NUL characters, unpaired surrogates (found by walking)."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
        elif isinstance(current, str):
            if "\x00" in current:
                return "It contains a NUL character (\\u0000), which cannot be stored. Remove it."
            try:
                current.encode()
            except UnicodeEncodeError:
                return "It contains broken Unicode (an unpaired surrogate). Fix the text."
    return None


def _create(plan: Plan, owner: User) -> Assistant:
    now = utcnow()
    assistant = Assistant.create(
        **plan.values, status="pending_approval", user=owner, created_at=now, updated_at=now
    )
    if plan.fields:
        rows = [{**values, "assistant": assistant.id, "created_at": now} for values in plan.fields]
        InputField.insert_many(rows).execute()
    rows = [
        {
            **{k: v for k, v in prompt.items() if k != "model_choice_id"},
            "assistant": assistant.id,
            "model": prompt["model_choice_id"],
            "created_at": now,
            "updated_at": now,
        }
        for prompt in plan.prompts
    ]
    ChainPrompt.insert_many(rows).execute()
    return assistant


def missing_ids(ids: Iterable[int]) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    found = {a.id for a in Assistant.select(Assistant.id).where(Assistant.id.in_(wanted))}
    return [i for i in wanted if i not in found]


def export_document_for(ids: Iterable[int]) -> dict[str, Any]:
    """AI Studio's document for these assistants (ids must exist: see ``missing_ids``)."""
    wanted = list(dict.fromkeys(ids))
    by_id = {a.id: a for a in Assistant.select().where(Assistant.id.in_(wanted))}
    definitions = _definitions(wanted)
    namer = aistudio_export.model_namer(model_choices())
    items = []
    for assistant_id in wanted:
        assistant = by_id[assistant_id]
        info = {
            "name": assistant.name,
            "description": assistant.description,
            "status": assistant.status,
            "image_path": assistant.image_path,
            "is_parallel": assistant.is_parallel,
            "timeout_seconds": assistant.timeout_seconds,
        }
        items.append(aistudio_export.export_assistant(info, definitions[assistant_id], namer))
    return aistudio_export.export_document(items)


def _definitions(ids: list[int]) -> dict[int, dict[str, Any]]:
    """What the export reads of ``Assistant.definition()``, for many assistants in two queries."""
    found: dict[int, dict[str, Any]] = {i: {"fields": [], "prompts": []} for i in ids}
    fields = (
        InputField.select()
        .where(InputField.assistant.in_(ids))
        .order_by(InputField.assistant, InputField.position, InputField.id)
    )
    for field in fields:
        owner_id: int = field.assistant_id  # type: ignore[attr-defined]
        found[owner_id]["fields"].append(field.as_definition())
    prompts = (
        ChainPrompt.select()
        .where(ChainPrompt.assistant.in_(ids))
        .order_by(
            ChainPrompt.assistant, ChainPrompt.position, ChainPrompt.sort_order, ChainPrompt.id
        )
    )
    for prompt in prompts:
        found[prompt.assistant_id]["prompts"].append(
            {
                "name": prompt.name,
                "content": prompt.content,
                "system_context": prompt.system_context,
                "position": prompt.position,
                "sort_order": prompt.sort_order,
                "parallel_group": prompt.parallel_group,
                "input_mapping": dict(prompt.input_mapping or {}),
                "timeout_seconds": prompt.timeout_seconds,
                "model": {"id": prompt.model_id} if prompt.model_id is not None else None,
            }
        )
    return found


def export_filename(count: int) -> str:
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return f"assistants-{count}-{stamp}.json" if count != 1 else f"assistant-{stamp}.json"
