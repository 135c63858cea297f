"""The usage report (administrators): runs, tokens and cost per user, assistant and model, by ISO
week — aggregated in SQL that runs on Postgres and SQLite alike. No Flask here.

- Runs are counted in the week they started; a prompt's usage in its run's week; a follow-up
  answer's in the week it was asked.
- Results copied into a retry (`reused_from` set) are not counted again: the original run paid.
- A completed prompt or answer with no cost used a model with no price: counted as zero cost and
  as "unpriced", so the report can say which totals are incomplete (DESIGN §8).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peewee import Case, fn

from app.db import is_postgres
from app.models import AIModel, Assistant, Execution, ExecutionMessage, PromptResult, User

DIMENSIONS = ("user", "assistant", "model")
WEEK_CHOICES = (4, 8, 12, 26, 52)
DEFAULT_WEEKS = 8
MAX_WEEKS = 104
CENT_QUANTUM = Decimal("0.00000001")


def week_start(column: Any) -> Any:
    """SQL for the Monday (ISO week start) of a timestamp column, on either database."""
    if is_postgres():
        return fn.date_trunc("week", column)
    # SQLite: on to the next Sunday (or stay on one), then back six days = that ISO week's Monday.
    return fn.date(column, "weekday 0", "-6 days")


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT_QUANTUM)


@dataclass
class UsageRow:
    week: dt.date | None
    key: int | None
    name: str
    detail: str = ""  # a person's email
    runs: int = 0
    prompt_calls: int = 0
    chat_answers: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = field(default_factory=Decimal)
    unpriced: int = 0  # completed calls with no price (their cost counted as zero)

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def iso_week(self) -> str:
        if self.week is None:
            return "all"
        year, week, _ = self.week.isocalendar()
        return f"{year}-W{week:02d}"

    def add(self, other: UsageRow) -> None:
        for name in ("runs", "prompt_calls", "chat_answers", "tokens_in", "tokens_out", "unpriced"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cost += other.cost


@dataclass
class UsageReport:
    start: dt.date  # a Monday
    end: dt.date  # the Sunday of the last week
    weeks: list[dt.date]
    by_week: list[UsageRow]
    by: dict[str, list[UsageRow]]  # dimension → rows (week descending, then cost descending)
    total: UsageRow
    unpriced_models: list[str]


def _window(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(start, dt.time()),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
    )


def _unpriced(cost: Any, status: Any) -> Any:
    return fn.SUM(Case(None, [((cost.is_null()) & (status == "completed"), 1)], 0))


def _runs(key: Any, since: dt.datetime, until: dt.datetime) -> Any:
    week = week_start(Execution.started_at)
    return (
        Execution.select(week, key, fn.COUNT(Execution.id))
        .where((Execution.started_at >= since) & (Execution.started_at < until))
        .group_by(week, key)
        .tuples()
    )


def _model_runs(since: dt.datetime, until: dt.datetime) -> Any:
    week = week_start(Execution.started_at)
    return (
        PromptResult.select(week, PromptResult.model, fn.COUNT(fn.DISTINCT(PromptResult.execution)))
        .join(Execution)
        .where(
            (Execution.started_at >= since)
            & (Execution.started_at < until)
            & PromptResult.reused_from.is_null()
        )
        .group_by(week, PromptResult.model)
        .tuples()
    )


def _prompts(key: Any, since: dt.datetime, until: dt.datetime) -> Any:
    week = week_start(Execution.started_at)
    return (
        PromptResult.select(
            week,
            key,
            fn.COUNT(PromptResult.id),
            fn.COALESCE(fn.SUM(PromptResult.tokens_in), 0),
            fn.COALESCE(fn.SUM(PromptResult.tokens_out), 0),
            fn.COALESCE(fn.SUM(PromptResult.cost), 0),
            _unpriced(PromptResult.cost, PromptResult.status),
        )
        .join(Execution)
        .where(
            (Execution.started_at >= since)
            & (Execution.started_at < until)
            & PromptResult.reused_from.is_null()
        )
        .group_by(week, key)
        .tuples()
    )


def _answers(key: Any, since: dt.datetime, until: dt.datetime) -> Any:
    week = week_start(ExecutionMessage.created_at)
    return (
        ExecutionMessage.select(
            week,
            key,
            fn.COUNT(ExecutionMessage.id),
            fn.COALESCE(fn.SUM(ExecutionMessage.tokens_in), 0),
            fn.COALESCE(fn.SUM(ExecutionMessage.tokens_out), 0),
            fn.COALESCE(fn.SUM(ExecutionMessage.cost), 0),
            _unpriced(ExecutionMessage.cost, ExecutionMessage.status),
        )
        .join(Execution)
        .where(
            (ExecutionMessage.role == "assistant")
            & (ExecutionMessage.status.in_(("completed", "failed")))
            & (ExecutionMessage.created_at >= since)
            & (ExecutionMessage.created_at < until)
        )
        .group_by(week, key)
        .tuples()
    )


_KEYS = {
    "user": (Execution.user, Execution.user, Execution.user),
    "assistant": (Execution.assistant, Execution.assistant, Execution.assistant),
    "model": (None, PromptResult.model, ExecutionMessage.model),
}


def _names(dimension: str, keys: set[int]) -> dict[int, tuple[str, str]]:
    """key → (name, detail) for the rows of one dimension."""
    if not keys:
        return {}
    if dimension == "user":
        rows: Any = User.select(User.id, User.name, User.email).where(User.id.in_(list(keys)))
        return {u.id: (u.name, u.email) for u in rows}
    if dimension == "assistant":
        rows = Assistant.select(Assistant.id, Assistant.name).where(Assistant.id.in_(list(keys)))
        return {a.id: (a.name, "") for a in rows}
    rows = AIModel.select(AIModel.id, AIModel.name).where(AIModel.id.in_(list(keys)))
    return {m.id: (m.name, "") for m in rows}


def _fallback_name(dimension: str) -> str:
    return {"model": "A deleted model", "user": "A deleted account"}.get(dimension, "Deleted")


def _dimension(dimension: str, since: dt.datetime, until: dt.datetime) -> list[UsageRow]:
    run_key, prompt_key, answer_key = _KEYS[dimension]
    rows: dict[tuple[dt.date, int | None], UsageRow] = {}

    def row(week: Any, key: int | None) -> UsageRow:
        at = (as_date(week), key)
        if at not in rows:
            rows[at] = UsageRow(at[0], key, "")
        return rows[at]

    runs = _runs(run_key, since, until) if run_key is not None else _model_runs(since, until)
    for week, key, count in runs:
        row(week, key).runs += count
    for week, key, calls, t_in, t_out, cost, unpriced in _prompts(prompt_key, since, until):
        found = row(week, key)
        found.prompt_calls += calls
        found.tokens_in += int(t_in)
        found.tokens_out += int(t_out)
        found.cost += as_money(cost)
        found.unpriced += int(unpriced or 0)
    for week, key, calls, t_in, t_out, cost, unpriced in _answers(answer_key, since, until):
        found = row(week, key)
        found.chat_answers += calls
        found.tokens_in += int(t_in)
        found.tokens_out += int(t_out)
        found.cost += as_money(cost)
        found.unpriced += int(unpriced or 0)
    names = _names(dimension, {key for _, key in rows if key is not None})
    missing = (_fallback_name(dimension), "")
    for (_, key), found in rows.items():
        found.name, found.detail = names.get(key, missing) if key else missing
    ordered = sorted(rows.values(), key=lambda r: (r.name.lower(), r.key or 0))
    return sorted(ordered, key=lambda r: r.week or dt.date.min, reverse=True)


def week_range(
    weeks: int, today: dt.date, start: dt.date | None = None, end: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """Whole ISO weeks: `start`..`end` when given (snapped), else the last `weeks` to today."""
    last = monday(end or today)
    first = monday(start) if start else last - dt.timedelta(weeks=max(weeks, 1) - 1)
    return first, last + dt.timedelta(days=6)


def usage_report(start: dt.date, end: dt.date) -> UsageReport:
    """Usage in the whole ISO weeks from `start`'s to `end`'s."""
    first, last = monday(start), monday(end) + dt.timedelta(days=6)
    since, until = _window(first, last)
    by = {dimension: _dimension(dimension, since, until) for dimension in DIMENSIONS}
    weeks = []
    week = monday(end)
    while week >= first:
        weeks.append(week)
        week -= dt.timedelta(weeks=1)
    by_week = {w: UsageRow(w, None, w.isoformat()) for w in weeks}
    for found in by["assistant"]:  # every run, prompt and answer belongs to exactly one assistant
        if found.week in by_week:
            by_week[found.week].add(found)
    total = UsageRow(None, None, "All weeks")
    for found in by_week.values():
        total.add(found)
    unpriced = sorted({r.name for r in by["model"] if r.unpriced})
    return UsageReport(first, last, weeks, list(by_week.values()), by, total, unpriced)


CSV_HEADER = [
    "dimension", "iso_week", "week_start", "id", "name", "email", "runs", "prompt_calls",
    "chat_answers", "tokens_in", "tokens_out", "cost", "unpriced_calls",
]  # fmt: skip


def csv_rows(report: UsageReport) -> Iterable[list[Any]]:
    for found in report.by_week:
        yield ["week", *_cells(found)]
    for dimension in DIMENSIONS:
        for found in report.by[dimension]:
            yield [dimension, *_cells(found)]


def _cells(row: UsageRow) -> list[Any]:
    return [
        row.iso_week,
        row.week.isoformat() if row.week else "",
        row.key if row.key is not None else "",
        row.name,
        row.detail,
        row.runs,
        row.prompt_calls,
        row.chat_answers,
        row.tokens_in,
        row.tokens_out,
        f"{row.cost:.8f}",
        row.unpriced,
    ]
