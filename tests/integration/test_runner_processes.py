"""Runs are not tied to a process: another process completes them; the CLI runs them headless."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.chain.queue import start_execution
from app.models import Execution, PromptResult
from tests.support.fake_openai import answer_text

ROOT = Path(__file__).resolve().parents[2]


def flask_cli(database_url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "TEST_DATABASE_URL": database_url,
        "RUNNER_FLUSH_MS": "20",
    }
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app:create_app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def seed_chain(make, fake_openai):
    model = make.model(name="Fake GPT", model_id="openai/fake-model", api_base=fake_openai.base_url)
    return make.assistant(
        status="approved",
        fields=[{"name": "user_input"}],
        prompts=[
            {
                "name": "Analyze",
                "content": "Analyze this: {{user_input}}",
                "model": model,
                "position": 0,
            },
            {
                "name": "Summarize",
                "content": "Summarize: {{prompt_1_output}}",
                "model": model,
                "position": 1,
            },
        ],
    )


def test_a_run_accepted_here_is_completed_by_another_process(make, fake_openai, database_url):
    assistant = seed_chain(make, fake_openai)
    execution = start_execution(assistant, assistant.user, {"user_input": "volcanoes"})
    result = flask_cli(database_url, "runner", "work", "--until-empty")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"run {execution.id}: completed" in result.stdout
    done = Execution.get_by_id(execution.id)
    assert done.status == "completed" and done.lease_owner is None
    outputs = [
        r.output_data
        for r in PromptResult.select()
        .where(PromptResult.execution == done.id)
        .order_by(PromptResult.step)
    ]
    first = answer_text("Analyze this: volcanoes")
    assert outputs == [first, answer_text(f"Summarize: {first}")]


def test_cli_runs_headless_with_live_progress(make, fake_openai, database_url):
    assistant = seed_chain(make, fake_openai)
    user = assistant.user
    result = flask_cli(
        database_url,
        "assistants",
        "run",
        str(assistant.id),
        "--as",
        user.email,
        "--input",
        "user_input=rivers",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "▶ 1. Analyze · Fake GPT" in out and "▶ 2. Summarize · Fake GPT" in out
    assert answer_text("Analyze this: rivers") in out
    assert "completed" in out


def test_cli_json_and_failure_exit_code(make, fake_openai, database_url):
    assistant = seed_chain(make, fake_openai)
    ok = flask_cli(
        database_url,
        "assistants",
        "run",
        str(assistant.id),
        "--as",
        assistant.user.email,
        "--input",
        "user_input=a",
        "--json",
    )
    summary = json.loads(ok.stdout)
    assert ok.returncode == 0 and summary["status"] == "completed"
    assert [p["name"] for p in summary["prompt_results"]] == ["Analyze", "Summarize"]
    broken = make.assistant(
        user=assistant.user, prompts=[{"name": "Bad", "content": "{{missing}}", "model": None}]
    )
    failed = flask_cli(
        database_url, "assistants", "run", str(broken.id), "--as", assistant.user.email
    )
    assert failed.returncode == 1
    assert "Bad" in failed.stderr and "failed" in failed.stderr


def test_cli_obeys_the_same_rights(make, fake_openai, database_url):
    assistant = seed_chain(make, fake_openai)
    assistant.status = "draft"
    assistant.save()
    student = make.user(roles=("student",))
    denied = flask_cli(database_url, "assistants", "run", str(assistant.id), "--as", student.email)
    assert denied.returncode != 0 and f"Assistant {assistant.id} not found" in denied.stderr
    assert Execution.select().count() == 0
