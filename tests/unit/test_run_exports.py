"""Run exports without Flask: cells, filenames, CSV text, Markdown of a plain document."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from app.run_exports import (
    csv_header,
    csv_row,
    csv_text,
    duration_seconds,
    input_text,
    money,
    run_markdown,
    safe_cell,
    safe_filename,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("plain = text", "plain = text"),
        ("", ""),
        (5, 5),
    ],
)
def test_safe_cell_guards_formulas(value, expected):
    assert safe_cell(value) == expected


def test_safe_filename_is_ascii_and_dashed():
    assert (
        safe_filename("Essay “Helper”: v2/../", "run", 7, suffix="md") == "essay-helper-v2-run-7.md"
    )
    assert safe_filename("日本語", suffix="csv") == "run.csv"


def test_small_formatters():
    start = dt.datetime(2026, 1, 1, 10, 0, 0)
    assert duration_seconds(start, start + dt.timedelta(milliseconds=2550)) == 2.5
    assert duration_seconds(start, None) is None
    assert money(Decimal("0.01230000")) == "0.0123"
    assert money(Decimal("100.00000000")) == "100"
    assert money(None) is None
    assert input_text(["a", "b"]) == "a, b"
    assert input_text(None) == ""
    assert input_text(3) == "3"


def test_csv_row_and_text():
    run = SimpleNamespace(
        id=4,
        user=SimpleNamespace(email="a@b.example"),
        status="completed",
        started_at=dt.datetime(2026, 1, 1, 10, 0, 0),
        completed_at=dt.datetime(2026, 1, 1, 10, 0, 3),
        tokens_in=10,
        tokens_out=20,
        cost=Decimal("0.5"),
        input_data={"topic": "-minus", "extra": "ignored"},
    )
    header = csv_header(["topic", "missing"], ["One", "Two"])
    row = csv_row(run, {"Two": "@two", "Old": "gone"}, ["topic", "missing"], ["One", "Two"])
    assert row == [
        4, "a@b.example", "completed", "2026-01-01T10:00:00Z", "2026-01-01T10:00:03Z", 3.0,
        10, 20, "0.5", "'-minus", "", "", "'@two",
    ]  # fmt: skip
    text = csv_text(header, [row])
    assert text.splitlines()[0] == (
        "run id,user email,status,started,completed,duration seconds,tokens in,tokens out,cost,"
        "topic,missing,One,Two"
    )
    assert text.splitlines()[1] == (
        "4,a@b.example,completed,2026-01-01T10:00:00Z,2026-01-01T10:00:03Z,3.0,10,20,0.5,"
        "'-minus,,,'@two"
    )


def test_markdown_of_a_failed_run_with_cost():
    document = {
        "run": {
            "id": 9,
            "assistant": "Quiz",
            "status": "failed",
            "started_at": "2026-01-01T10:00:00Z",
            "completed_at": None,
            "tokens_in": 1,
            "tokens_out": 2,
            "cost": "0.25",
            "error_message": "Timed out",
        },
        "inputs": {},
        "results": [{"step": 1, "prompt": "Ask", "output": "  "}],
    }
    assert run_markdown(document) == (
        "# Quiz — run 9\n\n- Status: Failed\n- Started: 2026-01-01T10:00:00Z\n"
        "- Tokens: 1 in, 2 out\n- Cost: $0.25\n- Error: Timed out\n\n## 1. Ask\n\n_No output._\n"
    )
