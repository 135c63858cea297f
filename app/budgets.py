"""Budgets: counted in the database, so they hold across processes and tasks (DESIGN §8).

`enforce` runs inside the transaction that inserts a run (app.chain.queue.start_execution and
retry_from, so the run form, retry, the API and the CLI all pass through it); when no limit
applies to the person, start_execution inserts without that transaction (one round trip). The
count and the insert are serialised per person: a Postgres advisory transaction lock on the
user, and on SQLite a write (IMMEDIATE) transaction. No Flask here: callers turn BudgetExceeded
into a page message, a 429 problem or a CLI error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from peewee import JOIN, Case, fn

from app.db import database, is_postgres, utcnow
from app.models import Assistant, Budget, Execution, ExecutionMessage, User

ADVISORY_LOCK_NAMESPACE = 18_001  # first key of pg_advisory_xact_lock(int, int): "run admission"
CONCURRENCY_RETRY_SECONDS = 10  # runs finish in seconds to minutes: ask again soon
ACTIVE_STATUSES = ("pending", "running")
LIMIT_FIELDS = ("runs_per_day", "concurrent_runs")
BUDGET_LABELS = {
    "runs_per_day": "runs per day",
    "concurrent_runs": "runs at once",
    "assistant_cost_per_month": "spending per assistant per month",
}


@dataclass(frozen=True)
class Limits:
    """What applies to one person (None = no limit)."""

    runs_per_day: int | None = None
    concurrent_runs: int | None = None
    assistant_cost_per_month: Decimal | None = None

    @property
    def unlimited(self) -> bool:
        return (
            self.runs_per_day is None
            and self.concurrent_runs is None
            and self.assistant_cost_per_month is None
        )


class BudgetExceeded(Exception):
    """A budget stops this run. `retry_after` is in seconds; `resets_at` is naive UTC or None."""

    def __init__(
        self, budget: str, message: str, retry_after: int, resets_at: dt.datetime | None = None
    ) -> None:
        super().__init__(message)
        self.budget = budget
        self.message = message
        self.retry_after = max(1, int(retry_after))
        self.resets_at = resets_at


# --- windows (UTC) ---------------------------------------------------------------------------
def day_start(now: dt.datetime) -> dt.datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: dt.datetime) -> dt.datetime:
    return day_start(now).replace(day=1)


def next_month(now: dt.datetime) -> dt.datetime:
    start = month_start(now)
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def until(moment: dt.datetime, now: dt.datetime) -> str:
    """'in 3 h 12 min' — how long a person waits, in plain words."""
    minutes = max(1, int((moment - now).total_seconds() + 59) // 60)
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"in {hours} h {minutes} min" if minutes else f"in {hours} h"
    return f"in {(moment - now).days} days"


# --- settings --------------------------------------------------------------------------------
def budget_rows() -> dict[str, Budget]:
    return {row.scope: row for row in Budget.select()}


def limits_for(user: User, rows: dict[str, Budget] | None = None) -> Limits:
    """The default, overridden per role; with several roles, the most generous applies."""
    rows = budget_rows() if rows is None else rows
    default = rows.get("default")

    def for_role(role: str | None, name: str) -> int | None:
        override = getattr(rows[role], name) if role in rows else None
        return override if override is not None else getattr(default, name, None)

    roles: list[str | None] = [*sorted(user.role_names)] or [None]
    values: dict[str, int | None] = {}
    for name in LIMIT_FIELDS:
        candidates = [for_role(role, name) for role in roles]
        values[name] = None if None in candidates else max(c for c in candidates if c is not None)
    cost = default.assistant_cost_per_month if default is not None else None
    return Limits(values["runs_per_day"], values["concurrent_runs"], cost)


# --- usage -----------------------------------------------------------------------------------
def runs_today(user_id: int, now: dt.datetime) -> int:
    return (
        Execution.select()
        .where((Execution.user == user_id) & (Execution.started_at >= day_start(now)))
        .count()
    )


def active_runs(user_id: int) -> int:
    return (
        Execution.select()
        .where((Execution.user == user_id) & Execution.status.in_(ACTIVE_STATUSES))
        .count()
    )


@dataclass(frozen=True)
class Spend:
    assistant_id: int
    cost: Decimal  # priced runs and follow-up chat; unpriced models count zero
    runs: int
    unpriced_runs: int  # runs that used a model with no price


def spend_this_month(now: dt.datetime, assistant_id: int | None = None) -> list[Spend]:
    """Spending per assistant in the calendar month of `now` (UTC), largest first."""
    since = month_start(now)
    runs: Any = (
        Execution.select(
            Execution.assistant,
            fn.COALESCE(fn.SUM(Execution.cost), 0).alias("cost"),
            fn.COUNT(Execution.id).alias("runs"),
            fn.SUM(Case(None, [(Execution.has_unpriced, 1)], 0)).alias("unpriced"),
        )
        .where(Execution.started_at >= since)
        .group_by(Execution.assistant)
    )
    chat: Any = (
        ExecutionMessage.select(
            Execution.assistant, fn.COALESCE(fn.SUM(ExecutionMessage.cost), 0).alias("cost")
        )
        .join(Execution, JOIN.INNER, on=ExecutionMessage.execution == Execution.id)
        .where(ExecutionMessage.created_at >= since)
        .group_by(Execution.assistant)
    )
    if assistant_id is not None:
        runs = runs.where(Execution.assistant == assistant_id)
        chat = chat.where(Execution.assistant == assistant_id)
    chat_cost = {aid: Decimal(str(cost)) for aid, cost in chat.tuples()}
    found = [
        Spend(aid, Decimal(str(cost)) + chat_cost.pop(aid, Decimal(0)), int(n), int(unpriced or 0))
        for aid, cost, n, unpriced in runs.tuples()
    ]
    found += [Spend(aid, cost, 0, 0) for aid, cost in chat_cost.items()]
    return sorted(found, key=lambda s: (-s.cost, s.assistant_id))


def money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'))}"


# --- enforcing -------------------------------------------------------------------------------
@contextmanager
def admission() -> Iterator[None]:
    """The transaction a run is admitted in. SQLite: take the write lock at BEGIN (IMMEDIATE),
    so two processes cannot both count and then both insert."""
    if is_postgres() or database.in_transaction():
        with database.atomic():
            yield
    else:
        with database.atomic("IMMEDIATE"):
            yield


def _lock_person(user_id: int) -> None:
    if is_postgres():
        database.execute_sql(
            "SELECT pg_advisory_xact_lock(%s, %s)", (ADVISORY_LOCK_NAMESPACE, user_id)
        )


def enforce(
    user: User, assistant_id: int, now: dt.datetime | None = None, limits: Limits | None = None
) -> None:
    """Raise BudgetExceeded when this person may not start a run of this assistant now.

    Call inside `admission()`, before inserting the run: the lock is held until it commits.
    `limits`: this person's, when the caller has just read them.
    """
    limits = limits_for(user) if limits is None else limits
    if limits.unlimited:
        return
    _lock_person(user.id)
    now = now or utcnow()
    if limits.runs_per_day is not None:
        used = runs_today(user.id, now)
        if used >= limits.runs_per_day:
            resets = day_start(now) + dt.timedelta(days=1)
            raise BudgetExceeded(
                "runs_per_day",
                f"You have used all {limits.runs_per_day} of your runs for today. "
                f"The count resets at midnight UTC ({until(resets, now)}).",
                int((resets - now).total_seconds()) + 1,
                resets,
            )
    if limits.assistant_cost_per_month is not None:
        spent = spend_this_month(now, assistant_id)
        cost = spent[0].cost if spent else Decimal(0)
        if cost >= limits.assistant_cost_per_month:
            resets = next_month(now)
            name = Assistant.select(Assistant.name).where(Assistant.id == assistant_id).scalar()
            raise BudgetExceeded(
                "assistant_cost_per_month",
                f"“{name}” has reached its spending limit of "
                f"{money(limits.assistant_cost_per_month)} for {now:%B} ({money(cost)} spent). "
                f"It resets on 1 {resets:%B} UTC ({until(resets, now)}).",
                int((resets - now).total_seconds()) + 1,
                resets,
            )
    if limits.concurrent_runs is not None:
        active = active_runs(user.id)
        if active >= limits.concurrent_runs:
            raise BudgetExceeded(
                "concurrent_runs",
                f"You already have {active} run{'s' if active != 1 else ''} queued or running, "
                f"and your limit is {limits.concurrent_runs} at once. Start this one when one "
                "of them finishes (or stop one).",
                CONCURRENCY_RETRY_SECONDS,
            )
