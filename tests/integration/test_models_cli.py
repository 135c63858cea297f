"""`flask models add|list|deactivate|activate|seed`: validated like the form, audited."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.model_seed import AWS_ROLE_VARIABLES
from app.models import AIModel
from app.models.audit import AuditEvent

ADD = [
    "models",
    "add",
    "--name",
    "GPT-4o mini",
    "--model-id",
    "openai/gpt-4o-mini",
    "--provider",
    "openai",
    "--api-key-env",
    "OPENAI_API_KEY",
    "--context-window",
    "128000",
]


def test_add_creates_an_audited_model(runner):
    result = runner.invoke(args=[*ADD, "--input-cost", "0.00015", "--output-cost", "0.0006"])
    assert result.exit_code == 0, result.output
    model = AIModel.get(AIModel.model_id == "openai/gpt-4o-mini")
    assert result.output == f"Added GPT-4o mini (openai/gpt-4o-mini), id {model.id}.\n"
    assert (model.max_tokens, model.output_cost_per_1k) == (128000, Decimal("0.0006"))
    event = AuditEvent.get(AuditEvent.action == "model.created")
    assert event.actor_id is None
    assert event.summary == "Added the model GPT-4o mini (openai/gpt-4o-mini, openai) from the CLI"


def test_add_refuses_bad_values_with_the_form_messages(runner):
    result = runner.invoke(
        args=[
            *ADD[:8],
            "--api-key-env",
            "SCHOOL_TOKEN",
            "--api-base",
            "http://169.254.169.254/",
            "--context-window",
            "lots",
            "--input-cost",
            "0.1",
        ]
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "Error: The model was not added."
    assert (
        "--api-key-env: SCHOOL_TOKEN is not allowed: a key variable's name must end in _API_KEY."
        in lines
    )
    assert any(line.startswith("--api-base: This address is refused") for line in lines)
    assert any(line.startswith("--context-window: Enter the context window") for line in lines)
    assert "--output-cost: Give both prices, or neither (unpriced)." in lines
    assert AIModel.select().count() == 0


def test_add_refuses_a_model_name_taken_and_an_unknown_provider(runner, make):
    make.model(model_id="openai/gpt-4o-mini")
    taken = runner.invoke(args=ADD)
    assert taken.exit_code == 1
    assert "--model-id: Another model already uses this model name." in taken.output
    unknown = runner.invoke(args=[*ADD[:7], "nobody", *ADD[8:]])
    assert (
        unknown.exit_code == 1 and "--provider: Choose a provider from the list." in unknown.output
    )


def test_list_as_a_table_and_as_json_never_shows_a_key(runner, make, monkeypatch):
    monkeypatch.setenv("SCHOOL_API_KEY", "sk-secret-in-env-999")
    model = make.model(name="Staff GPT", model_id="openai/gpt-4o", api_key_env="SCHOOL_API_KEY")
    make.assistant(prompts=[{"name": "P", "model": model}])
    table = runner.invoke(args=["models", "list"])
    assert table.exit_code == 0
    header, row = table.output.splitlines()
    assert header.split() == ["ID", "MODEL", "NAME", "PROVIDER", "ACTIVE", "KEY", "USED", "BY"]
    expected = [str(model.id), "openai/gpt-4o", "Staff", "GPT", "openai", "yes"]
    assert row.split() == [*expected, "SCHOOL_API_KEY", "set", "1"]
    listed = runner.invoke(args=["models", "list", "--json"])
    [item] = json.loads(listed.output)
    assert (item["model_id"], item["key"], item["priced_by"]) == ("openai/gpt-4o", "set", "litellm")
    assert "sk-secret-in-env-999" not in table.output + listed.output


def test_deactivate_lists_users_and_activate_turns_it_back_on(runner, make):
    model = make.model(model_id="openai/retiring")
    assistant = make.assistant(name="Essay helper", prompts=[{"name": "P", "model": model}])
    off = runner.invoke(args=["models", "deactivate", "openai/retiring"])
    assert off.exit_code == 0
    assert off.output.splitlines() == [
        "openai/retiring is inactive.",
        "1 assistant(s) still use it; their prompts are flagged:",
        f"  #{assistant.id} Essay helper (main model)",
    ]
    assert not AIModel.get_by_id(model.id).is_active
    event = AuditEvent.get(AuditEvent.action == "model.deactivated")
    assert event.details == {"assistants": [assistant.id]}
    again = runner.invoke(args=["models", "deactivate", str(model.id)])
    assert again.output.startswith("openai/retiring was already inactive.")
    on = runner.invoke(args=["models", "activate", "openai/retiring"])
    assert on.output == "openai/retiring is active.\n" and AIModel.get_by_id(model.id).is_active
    assert AuditEvent.select().where(AuditEvent.action.startswith("model.")).count() == 2


def test_unknown_models_exit_non_zero(runner):
    result = runner.invoke(args=["models", "activate", "openai/nothing"])
    assert result.exit_code == 1
    assert "No model openai/nothing. See: flask models list" in result.output


@pytest.fixture
def bare_environment(monkeypatch):
    """No provider key in this process's environment (restored afterwards)."""
    names = ["OPENAI_API_KEY", "OPENAI_API_BASE", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"]
    names += ["GOOGLE_API_KEY", "AWS_ACCESS_KEY_ID", "DEMO_MODEL", *AWS_ROLE_VARIABLES]
    for name in names:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_seed_reads_the_environment_and_is_idempotent(runner, make, bare_environment):
    bare_environment.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    first = runner.invoke(args=["models", "seed"])
    assert first.exit_code == 0
    assert first.output.splitlines() == [
        "added Claude Haiku 4.5 (anthropic/claude-haiku-4-5) for ANTHROPIC_API_KEY",
        "added Claude Sonnet 4.6 (anthropic/claude-sonnet-4-6) for ANTHROPIC_API_KEY",
        "added Offline demo — no AI (demo/offline)",
    ]
    second = runner.invoke(args=["models", "seed"])
    assert (
        second.output == "Nothing to add: models are set up already, or no provider key is set.\n"
    )
