"""Durable runs: resumed after a kill, failed after bounded expiries, handed over on SIGTERM."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.chain.events import events_after
from app.chain.queue import claim_next, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.models import Execution, PromptResult
from e2e import server
from tests.support.fake_openai import answer_text

ROOT = Path(__file__).resolve().parents[2]
FAST = RunnerSettings(flush_interval=0.02, retry_backoff=0.01, read_timeout=5, prompt_timeout=20)


def slow_chain(make, fake_openai, slow_ms: int = 60):
    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    return make.assistant(
        status="approved",
        prompts=[
            {"name": "First", "content": "First answer", "model": model, "position": 0},
            {
                "name": "Second",
                "content": f"[[slow:{slow_ms}]] {{{{prompt_1_output}}}}",
                "model": model,
                "position": 1,
            },
        ],
    )


def wait_for(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def step_started(execution_id: int, step: int) -> bool:
    return any(
        e.event_type == "prompt-delta" and e.event_data["step"] == step
        for e in events_after(execution_id)
    )


def test_a_worker_killed_mid_prompt_is_resumed_elsewhere(make, fake_openai, database_url):
    fake_openai.tokens = 80
    assistant = slow_chain(make, fake_openai)
    execution = start_execution(assistant, assistant.user, {})
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "TEST_DATABASE_URL": database_url,
        "RUNNER_FLUSH_MS": "20",
        "RUNNER_LEASE_SECONDS": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app:create_app", "runner", "work"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: step_started(execution.id, 2), 60, "prompt 2 to stream")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    first = PromptResult.get((PromptResult.execution == execution.id) & (PromptResult.step == 1))
    assert first.status == "completed"
    assert Execution.get_by_id(execution.id).status == "running"  # orphaned, lease still held
    time.sleep(1.1)  # the lease expires
    claimed = claim_next(FAST)
    assert claimed is not None and claimed.id == execution.id and claimed.attempt == 2
    assert run_execution(claimed.id, FAST) == "completed"
    results = list(
        PromptResult.select()
        .where(PromptResult.execution == execution.id)
        .order_by(PromptResult.step)
    )
    assert [r.step for r in results] == [1, 2]  # no duplicate rows
    assert results[0].id == first.id and results[0].completed_at == first.completed_at  # reused
    assert results[1].output_data == answer_text(results[1].input_data["processed_content"], 80)


def test_a_run_whose_lease_keeps_expiring_ends_failed(make, fake_openai):
    assistant = slow_chain(make, fake_openai)
    execution = start_execution(assistant, assistant.user, {})
    dying = RunnerSettings(lease_seconds=0.01, max_attempts=2)
    for _ in range(2):  # two workers claim it and die without renewing
        assert claim_next(dying).id == execution.id
        time.sleep(0.02)
    assert claim_next(dying) is None  # the third claim gives up instead
    done = Execution.get_by_id(execution.id)
    assert done.status == "failed" and "interrupted 2 times" in done.error_message
    assert events_after(execution.id)[-1].event_type == "execution-error"


def test_sigterm_hands_a_running_chain_to_another_process(
    make, fake_openai, database_url, tmp_path
):
    fake_openai.tokens = 80
    assistant = slow_chain(make, fake_openai, slow_ms=80)
    execution = start_execution(assistant, assistant.user, {})
    port = server.free_port()
    env = server.server_env(
        database_url,
        port,
        APP_ENV="testing",
        TEST_DATABASE_URL=database_url,
        WEB_CONCURRENCY="1",
        RUNNER_LEASE_SECONDS="60",
        RUNNER_FLUSH_MS="20",
    )
    process = server.start(env, tmp_path / "server.log")
    try:
        wait_for(lambda: step_started(execution.id, 2), 60, "the server to run prompt 2")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # The lease is 60 s, yet the run is claimable at once: the server released it.
    row = Execution.get_by_id(execution.id)
    assert row.status == "running" and row.lease_owner is None
    assert row.lease_expires_at < dt.datetime(2000, 1, 1)
    claimed = claim_next(FAST)
    assert claimed is not None and claimed.id == execution.id
    assert run_execution(claimed.id, FAST) == "completed"
    assert PromptResult.select().where(PromptResult.execution == execution.id).count() == 2


def test_a_cut_stream_is_retried_and_succeeds(make, fake_openai):
    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    assistant = make.assistant(prompts=[{"name": "Cut", "content": "tell me", "model": model}])
    fake_openai.script("cut-after:2", "ok")
    execution = start_execution(assistant, assistant.user, {})
    claimed = claim_next(FAST)
    assert run_execution(claimed.id, FAST) == "completed"
    result = PromptResult.get(PromptResult.execution == execution.id)
    assert result.attempts == 2 and result.output_data == answer_text("tell me")
    errors = [e.event_data for e in events_after(execution.id) if e.event_type == "prompt-error"]
    assert len(errors) == 1 and errors[0]["retrying"] and "cut off" in errors[0]["error"]


def test_the_accepting_process_dies_while_the_run_is_queued(make, fake_openai, database_url):
    """The run is a row, not a request: a process that accepted it and died leaves it to others."""
    assistant = slow_chain(make, fake_openai, slow_ms=0)
    script = (
        "import os, signal\n"
        "from app import create_app\n"
        "from app.chain.queue import start_execution\n"
        "from app.models import Assistant\n"
        "app = create_app()\n"
        f"a = Assistant.get_by_id({assistant.id})\n"
        "e = start_execution(a, a.user, {})\n"
        "print(e.id, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "APP_ENV": "testing", "TEST_DATABASE_URL": database_url}
    accepted = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert accepted.returncode == -signal.SIGKILL, accepted.stderr[-1000:]
    execution_id = int(accepted.stdout.split()[0])
    assert Execution.get_by_id(execution_id).status == "pending"
    claimed = claim_next(FAST)
    assert claimed.id == execution_id and run_execution(claimed.id, FAST) == "completed"


def test_cancel_from_the_cli(make, fake_openai, runner):
    assistant = slow_chain(make, fake_openai)
    execution = start_execution(assistant, assistant.user, {})
    stranger = make.user()
    denied = runner.invoke(args=["assistants", "cancel", str(execution.id), "--as", stranger.email])
    assert denied.exit_code != 0 and f"Run {execution.id} not found" in denied.output
    ok = runner.invoke(
        args=["assistants", "cancel", str(execution.id), "--as", assistant.user.email]
    )
    assert ok.exit_code == 0, ok.output
    assert Execution.get_by_id(execution.id).status == "cancelled"
    again = runner.invoke(
        args=["assistants", "cancel", str(execution.id), "--as", assistant.user.email]
    )
    assert again.exit_code != 0 and "already finished" in again.output


def test_a_claim_takes_the_oldest_runs_up_to_its_slots_and_expired_leases_with_attempts_left(
    make, fake_openai
):
    """On Postgres a claim is one statement (the whole way runs when the queue looks empty or
    once per lease period): the same rules either way."""
    from app.chain import queue

    assistant = slow_chain(make, fake_openai)
    a, b, c = (start_execution(assistant, assistant.user, {}) for _ in range(3))
    settings = RunnerSettings(max_attempts=2)
    queue._Sweeps.last = time.monotonic()  # as if the whole way ran a moment ago
    first = queue.claim_batch(settings, 2)
    assert [e.id for e in first] == [a.id, b.id]
    assert all(e.status == "running" and e.attempt == 1 and e.claimed_at for e in first)
    claimed_at = Execution.get_by_id(a.id).claimed_at
    past = dt.datetime(2000, 1, 1)
    Execution.update(lease_expires_at=past).where(Execution.id == a.id).execute()
    second = queue.claim_batch(settings, 5)  # a's worker died: a again (attempt 2), then c
    assert [(e.id, e.attempt) for e in second] == [(a.id, 2), (c.id, 1)]
    assert Execution.get_by_id(a.id).claimed_at == claimed_at  # first admission is kept
    Execution.update(lease_expires_at=past).where(Execution.id == a.id).execute()
    assert queue.claim_batch(settings, 5) == []  # attempts used up: given up, not claimed
    given_up = Execution.get_by_id(a.id)
    assert given_up.status == "failed" and "interrupted 2 times" in given_up.error_message
    assert Execution.get_by_id(b.id).status == "running"  # live leases are left alone
