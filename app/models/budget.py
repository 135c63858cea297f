"""Budgets set by administrators: runs per person per day, runs at once, spend per assistant.

One row per scope: `default` applies to everyone; a role's row overrides the default for the
fields it sets (a blank field falls back to the default; a blank default means no limit).
Counting and enforcing live in app.budgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from peewee import CharField, Check, DateTimeField, DecimalField, ForeignKeyField, IntegerField

from app.db import BaseModel, utcnow
from app.models.fields import in_sql
from app.models.user import ROLES, User

BUDGET_SCOPES = ("default", *ROLES)


class Budget(BaseModel):
    scope = CharField(
        max_length=32, unique=True, constraints=[Check(in_sql("scope", BUDGET_SCOPES))]
    )
    runs_per_day = IntegerField(null=True)  # per person, UTC day
    concurrent_runs = IntegerField(null=True)  # per person, queued + running
    # Per assistant, UTC calendar month; only the default row's value is used.
    assistant_cost_per_month = DecimalField(
        max_digits=14, decimal_places=2, auto_round=True, null=True
    )
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, column_name="updated_by_id", on_delete="SET NULL")

    class Meta:
        table_name = "budgets"

    if TYPE_CHECKING:
        updated_by_id: int | None
