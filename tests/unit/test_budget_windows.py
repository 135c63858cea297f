"""Budget windows are UTC days and calendar months; waits are said in plain words."""

from __future__ import annotations

import datetime as dt

from app.budgets import BudgetExceeded, day_start, month_start, next_month, until

NOW = dt.datetime(2026, 12, 31, 21, 47, 5)


def test_windows():
    assert day_start(NOW) == dt.datetime(2026, 12, 31)
    assert month_start(NOW) == dt.datetime(2026, 12, 1)
    assert next_month(NOW) == dt.datetime(2027, 1, 1)
    assert next_month(dt.datetime(2026, 1, 31, 23, 59)) == dt.datetime(2026, 2, 1)


def test_waits_in_plain_words():
    assert until(NOW + dt.timedelta(seconds=20), NOW) == "in 1 min"
    assert until(NOW + dt.timedelta(minutes=42), NOW) == "in 42 min"
    assert until(NOW + dt.timedelta(hours=2, minutes=13), NOW) == "in 2 h 13 min"
    assert until(NOW + dt.timedelta(hours=5), NOW) == "in 5 h"
    assert until(NOW + dt.timedelta(days=12, hours=3), NOW) == "in 12 days"


def test_retry_after_is_at_least_one_second():
    assert BudgetExceeded("concurrent_runs", "wait", 0).retry_after == 1
