"""Retention: finished runs older than the cutoff go, with their results, events and chat."""

from __future__ import annotations

import datetime as dt
import time

import psycopg2
import pytest

from app.db import database, utcnow
from app.models import (
    AuditEvent,
    Execution,
    ExecutionEvent,
    ExecutionMessage,
    PromptResult,
)
from app.retention import (
    ADVISORY_LOCK_KEY,
    RetentionSweeper,
    cutoff_for,
    purge_runs,
    retention_days,
    set_retention_days,
    sweep_once,
)

CUTOFF = dt.datetime(2026, 6, 1, 12, 0, 0)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def assistant(make):
    model = make.model()
    return make.assistant(prompts=[{"name": "A", "content": "Hi", "model": model}])


def run(assistant, status: str, *, completed_at=None, started_at=None, children: int = 1):
    """A run with `children` prompt results, events and chat messages."""
    if started_at is None:
        started_at = completed_at - SECOND if completed_at else CUTOFF - dt.timedelta(days=9)
    execution = Execution.create(
        assistant=assistant,
        user=assistant.user,
        status=status,
        definition={},
        started_at=started_at,
        completed_at=completed_at,
    )
    for n in range(1, children + 1):
        PromptResult.create(execution=execution, step=n, prompt_name=f"P{n}", status="completed")
        ExecutionEvent.create(execution=execution, seq=n, event_type="prompt-start")
        ExecutionMessage.create(execution=execution, role="user", content=f"q{n}")
    return execution


def surviving() -> set[int]:
    return {e.id for e in Execution.select(Execution.id)}


def purges() -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.action == "runs.purged"))


def test_deletes_exactly_the_finished_runs_that_ended_before_the_cutoff(assistant):
    just_before = run(assistant, "completed", completed_at=CUTOFF - SECOND, children=2)
    failed_long_ago = run(assistant, "failed", completed_at=CUTOFF - dt.timedelta(days=400))
    cancelled = run(assistant, "cancelled", completed_at=CUTOFF - dt.timedelta(days=3))
    no_end_recorded = run(assistant, "failed", started_at=CUTOFF - SECOND)
    at_cutoff = run(assistant, "completed", completed_at=CUTOFF)
    just_after = run(assistant, "completed", completed_at=CUTOFF + SECOND)
    started_before_ended_after = run(
        assistant, "completed", started_at=CUTOFF - dt.timedelta(days=2), completed_at=CUTOFF
    )
    queued_long_ago = run(assistant, "pending", started_at=CUTOFF - dt.timedelta(days=90))
    running_long_ago = run(assistant, "running", started_at=CUTOFF - dt.timedelta(days=90))

    report = purge_runs(CUTOFF, days=30, batch_size=2)  # three batches

    kept = {at_cutoff.id, just_after.id, started_before_ended_after.id}
    kept |= {queued_long_ago.id, running_long_ago.id}
    assert surviving() == kept
    gone = [just_before.id, failed_long_ago.id, cancelled.id, no_end_recorded.id]
    assert (report.runs, report.prompt_results, report.events, report.messages) == (4, 5, 5, 5)
    for model in (PromptResult, ExecutionEvent, ExecutionMessage):
        assert not model.select().where(model.execution.in_(gone)).exists()
        assert model.select().where(model.execution.in_(list(kept))).count() == 5
    [row] = purges()
    assert row.actor is None and row.target_type is None
    assert row.summary == (
        "Deleted 4 runs (5 prompt results, 5 events, 5 chat messages) finished before "
        "2026-06-01 12:00 UTC (kept 30 days)"
    )
    assert row.details == {
        "cutoff": "2026-06-01T12:00:00",
        "days": 30,
        "runs": 4,
        "prompt_results": 5,
        "events": 5,
        "messages": 5,
        "by": "sweeper",
    }


def test_nothing_old_deletes_nothing_and_writes_no_audit_row(assistant):
    recent = run(assistant, "completed", completed_at=CUTOFF + SECOND)
    report = purge_runs(CUTOFF)
    assert report is not None and report.runs == 0
    assert surviving() == {recent.id} and purges() == []


def test_dry_run_counts_and_keeps_everything(assistant):
    old = run(assistant, "completed", completed_at=CUTOFF - SECOND, children=3)
    report = purge_runs(CUTOFF, dry_run=True)
    assert (report.runs, report.prompt_results, report.events, report.messages) == (1, 3, 3, 3)
    assert report.summary.startswith("Would delete 1 run (3 prompt results")
    assert surviving() == {old.id} and purges() == []


def test_a_retry_of_a_deleted_run_stays_and_loses_only_its_links(assistant):
    original = run(assistant, "failed", completed_at=CUTOFF - SECOND)
    retry = run(assistant, "completed", completed_at=CUTOFF + dt.timedelta(days=1))
    retry.retry_of = original
    retry.save()
    reused = PromptResult.get(PromptResult.execution == retry)
    reused.reused_from = PromptResult.get(PromptResult.execution == original)
    reused.save()
    purge_runs(CUTOFF)
    assert surviving() == {retry.id}
    assert Execution.get_by_id(retry.id).retry_of_id is None
    assert PromptResult.get_by_id(reused.id).reused_from_id is None


def test_the_sweep_applies_the_administrators_setting(assistant, make):
    admin = make.user(roles=("administrator",))
    old = run(assistant, "completed", completed_at=utcnow() - dt.timedelta(days=31))
    recent = run(assistant, "completed", completed_at=utcnow() - dt.timedelta(days=29))
    assert retention_days() is None
    assert sweep_once() is None  # kept forever: nothing happens
    assert surviving() == {old.id, recent.id}
    set_retention_days(30, admin)
    assert retention_days() == 30
    report = sweep_once()
    assert report is not None and report.runs == 1 and surviving() == {recent.id}
    set_retention_days(None, admin)
    assert retention_days() is None


def test_cutoff_counts_days_back_from_now():
    now = dt.datetime(2026, 3, 31, 8, 30)
    assert cutoff_for(30, now) == dt.datetime(2026, 3, 1, 8, 30)


def test_cli_purge_prints_what_it_deleted(runner, assistant):
    run(assistant, "completed", completed_at=utcnow() - dt.timedelta(days=8), children=2)
    keep = run(assistant, "completed", completed_at=utcnow() - dt.timedelta(days=6))
    dry = runner.invoke(args=["runs", "purge", "--older-than", "7", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would delete 1 run (2 prompt results, 2 events, 2 chat messages) finished" in dry.output
    assert "(kept 7 days)." in dry.output and "Nothing was deleted (--dry-run)." in dry.output
    database.connect(reuse_if_open=True)
    assert len(surviving()) == 2 and purges() == []

    result = runner.invoke(args=["runs", "purge", "--older-than", "7"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Deleted 1 run (2 prompt results, 2 events, 2 chat messages)")
    database.connect(reuse_if_open=True)
    assert surviving() == {keep.id}
    [row] = purges()
    assert row.details["by"] == "cli" and row.details["days"] == 7

    again = runner.invoke(args=["runs", "purge", "--older-than", "7"])
    assert again.exit_code == 0
    assert again.output == "Nothing to delete: no finished run ended more than 7 days ago.\n"


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_cli_purge_refuses_a_bad_number_of_days(runner, value):
    result = runner.invoke(args=["runs", "purge", "--older-than", value])
    assert result.exit_code == 2
    assert "--older-than" in result.output


@pytest.mark.postgres
def test_one_process_sweeps_at_a_time_on_postgres(runner, assistant):
    old = run(assistant, "completed", completed_at=CUTOFF - SECOND)
    # Another process sweeping: a separate connection holds the lock.
    holder = psycopg2.connect(dbname=database.obj.database, **database.obj.connect_params)
    try:
        holder.cursor().execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        assert purge_runs(CUTOFF) is None
        result = runner.invoke(args=["runs", "purge", "--older-than", "1"])
        assert result.exit_code == 1
        assert "Another process is deleting old runs right now; try again." in result.output
        database.connect(reuse_if_open=True)
        assert surviving() == {old.id}
    finally:
        # Unlock explicitly: the server releases a closed session's locks a moment later.
        holder.cursor().execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
        holder.close()
    report = purge_runs(CUTOFF)
    assert report is not None and report.runs == 1


def test_the_background_sweeper_deletes_on_its_own(assistant, make):
    set_retention_days(30, make.user(roles=("administrator",)))
    run(assistant, "completed", completed_at=utcnow() - dt.timedelta(days=45))
    sweeper = RetentionSweeper(interval=0.05)
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        while not purges() and time.monotonic() < deadline:  # the audit row comes last
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert surviving() == set()
    [row] = purges()
    assert row.details["by"] == "sweeper" and row.details["days"] == 30
