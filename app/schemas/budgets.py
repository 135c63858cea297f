"""The budgets form: whole numbers of runs per scope and a spending limit, blank for none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates

from app.models.budget import BUDGET_SCOPES

MAX_RUNS = 1_000_000
MAX_COST = Decimal("1000000000")
RUNS_MESSAGE = f"Enter a whole number from 0 to {MAX_RUNS:,}, or leave it blank."
COST_MESSAGE = "Enter an amount in dollars such as 50 or 12.50 (0 or more), or leave it blank."


def field_name(scope: str, limit: str) -> str:
    return f"{scope}_{limit}"


def _runs() -> fields.Field:
    return fields.Integer(
        allow_none=True,
        load_default=None,
        strict=False,
        validate=validate.Range(min=0, max=MAX_RUNS, error=RUNS_MESSAGE),
        error_messages={"invalid": RUNS_MESSAGE},
    )


class BudgetsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    assistant_cost_per_month = fields.Decimal(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=MAX_COST, error=COST_MESSAGE),
        error_messages={"invalid": COST_MESSAGE, "special": COST_MESSAGE},
    )

    @pre_load
    def blanks_are_none(self, data: dict, **_: Any) -> dict:
        cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: None if v == "" else v for k, v in cleaned.items()}

    @validates("assistant_cost_per_month")
    def check_cents(self, value: Decimal | None, **_: Any) -> None:
        exponent = value.as_tuple().exponent if value is not None else 0
        if isinstance(exponent, int) and exponent < -2:
            raise ValidationError("Use at most 2 decimal places (cents).")


RUN_FIELDS = {
    field_name(scope, limit): _runs()
    for scope in BUDGET_SCOPES
    for limit in ("runs_per_day", "concurrent_runs")
}
budgets_schema = BudgetsSchema.from_dict(RUN_FIELDS, name="BudgetsForm")()
