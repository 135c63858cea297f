"""Follow-up chat on a completed run (DESIGN §8): a question is two `execution_messages` rows —
the user's, and a `pending` answer that any process's runner pool claims, like a queued run
(`app.chain.chat_runner` writes it). Asking, refusing, and reading the conversation live here.
No Flask here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from peewee import JOIN

from app.chain import doorbell
from app.chain.definition import ChainIndex
from app.chain.events import EventWriter
from app.db import database, is_postgres, utcnow
from app.models import AIModel, Execution, ExecutionMessage, User

log = logging.getLogger("app.runner")

MAX_QUESTION_CHARS = 20_000
OPEN_STATUSES = ("pending", "running")


class ChatRefused(Exception):
    """A question that cannot be asked now; the message says why, in plain words."""


@dataclass(frozen=True)
class Asked:
    question: ExecutionMessage
    answer: ExecutionMessage
    after_seq: int  # the execution's last event before the answer: where to follow from


def clean_question(raw: Any) -> str:
    question = (raw if isinstance(raw, str) else "").strip()
    if not question:
        raise ChatRefused("Type a question first.")
    if "\x00" in question:
        raise ChatRefused("Your question contains a NUL character, which cannot be stored.")
    if len(question) > MAX_QUESTION_CHARS:
        raise ChatRefused(
            f"Your question is {len(question):,} characters long; the limit is "
            f"{MAX_QUESTION_CHARS:,}. Shorten it and ask again."
        )
    return question


def answer_models(definition: dict[str, Any]) -> list[AIModel]:
    """The last prompt's model, then its fallback — those that still exist and are active."""
    steps = ChainIndex(definition).steps
    if not steps:
        return []
    prompt = steps[-1].prompt
    ids = [(prompt.get(key) or {}).get("id") for key in ("model", "fallback_model")]
    found = []
    for model_id in ids:
        row = AIModel.get_or_none(AIModel.id == model_id) if model_id else None
        if row is not None and row.is_active and row not in found:
            found.append(row)
    return found


def refusal(execution: Execution) -> str | None:
    """Why no question may be asked on this run now, or None."""
    if execution.status in OPEN_STATUSES:
        return "The run is still going. Ask your follow-up questions once it is done."
    if execution.status != "completed":
        state = "failed" if execution.status == "failed" else "was stopped"
        return (
            f"This run {state}; follow-up questions need a completed run. "
            "Retry it or run the assistant again."
        )
    return None


def open_answer(execution_id: int) -> ExecutionMessage | None:
    return (
        ExecutionMessage.select()
        .where(
            (ExecutionMessage.execution == execution_id)
            & (ExecutionMessage.role == "assistant")
            & (ExecutionMessage.status.in_(OPEN_STATUSES))
        )
        .first()
    )


def ask(execution: Execution, user: User, raw_question: Any) -> Asked:
    """Store the question and a pending answer, and ring the runners. Raises ChatRefused."""
    question = clean_question(raw_question)
    with database.connection_context(), database.atomic():
        query = Execution.select().where(Execution.id == execution.id)
        if is_postgres():
            query = query.for_update()  # two questions at once: one waits, then is refused
        current = query.get()
        reason = refusal(current)
        if reason:
            raise ChatRefused(reason)
        if open_answer(current.id) is not None:
            raise ChatRefused(
                "The answer to your last question is still being written. "
                "Wait for it, then ask again."
            )
        models = answer_models(current.definition)
        if not models:
            raise ChatRefused(
                "No model can answer: the model of this run's last prompt is no longer "
                "available. Ask an administrator to activate it, or run the assistant again."
            )
        now = utcnow()
        asked = ExecutionMessage.create(
            execution=current, role="user", content=question, created_at=now, completed_at=now
        )
        answer = ExecutionMessage.create(
            execution=current,
            role="assistant",
            status="pending",
            model=models[0],
            created_at=now,
        )
        after = EventWriter(current.id).last_seq
        if is_postgres():
            database.execute_sql(
                "SELECT pg_notify(%s, %s)", (doorbell.QUEUE_CHANNEL, f"chat:{answer.id}")
            )
    doorbell.ring(doorbell.QUEUE_KEY)
    return Asked(asked, answer, after)


def conversation(execution_id: int) -> list[ExecutionMessage]:
    """The run's questions and answers, oldest first, with the answering model at hand."""
    return list(
        ExecutionMessage.select(ExecutionMessage, AIModel)
        .join(AIModel, JOIN.LEFT_OUTER)
        .where(ExecutionMessage.execution == execution_id)
        .order_by(ExecutionMessage.id)
    )


def chat_totals(messages: list[ExecutionMessage]) -> dict[str, Any]:
    answers = [m for m in messages if m.role == "assistant" and m.status == "completed"]
    costs = [m.cost for m in answers if m.cost is not None]
    return {
        "tokens": sum((m.tokens_in or 0) + (m.tokens_out or 0) for m in answers),
        "cost": sum(costs, Decimal(0)) if costs else None,
        "unpriced": any(m.cost is None for m in answers),
    }
