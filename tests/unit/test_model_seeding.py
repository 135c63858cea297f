"""Seeding at first start: models for the keys in a given environment (never os.environ)."""

from __future__ import annotations

import pytest

from app.model_admin import map_prices, validate_model
from app.model_seed import models_for_environment, seed_models_from_environment
from app.models import AIModel
from app.models.audit import AuditEvent

DEMO = "added Offline demo — no AI (demo/offline)"


@pytest.fixture
def db(make):  # `make` connects and empties the tables afterwards
    return make


def rows() -> dict[str, AIModel]:
    return {m.model_id: m for m in AIModel.select()}


def test_no_keys_seed_only_the_offline_demo(db):
    assert seed_models_from_environment({}) == [DEMO]
    [demo] = rows().values()
    assert (demo.model_id, demo.provider, demo.is_active) == ("demo/offline", "demo", True)
    event = AuditEvent.get(AuditEvent.action == "model.created")
    assert event.actor_id is None and event.target_id == str(demo.id)


def test_demo_off_and_no_keys_seed_nothing(db):
    assert seed_models_from_environment({"DEMO_MODEL": "off"}) == []
    assert AIModel.select().count() == 0


def test_openai_and_anthropic_keys_seed_their_models_once(db):
    env = {"OPENAI_API_KEY": "sk-1", "ANTHROPIC_API_KEY": "sk-ant-2"}
    done = seed_models_from_environment(env)
    assert done == [
        "added GPT-4o mini (openai/gpt-4o-mini) for OPENAI_API_KEY",
        "added GPT-4o (openai/gpt-4o) for OPENAI_API_KEY",
        "added Claude Haiku 4.5 (anthropic/claude-haiku-4-5) for ANTHROPIC_API_KEY",
        "added Claude Sonnet 4.6 (anthropic/claude-sonnet-4-6) for ANTHROPIC_API_KEY",
        DEMO,
    ]
    seeded = rows()
    assert seeded["openai/gpt-4o-mini"].api_key_env == "OPENAI_API_KEY"
    assert seeded["anthropic/claude-haiku-4-5"].api_key_env == "ANTHROPIC_API_KEY"
    assert seeded["anthropic/claude-sonnet-4-6"].max_tokens == 200000
    assert all(
        m.input_cost_per_1k is None and m.output_cost_per_1k is None for m in seeded.values()
    )
    assert seed_models_from_environment(env) == []  # idempotent
    assert AIModel.select().count() == 5
    assert "sk-1" not in str([e.details for e in AuditEvent.select()])


def test_google_key_seeds_gemini_preferring_gemini_api_key(db):
    assert [s.api_key_env for s in models_for_environment({"GOOGLE_API_KEY": "g"})] == [
        "GOOGLE_API_KEY"
    ]
    both = models_for_environment({"GOOGLE_API_KEY": "g", "GEMINI_API_KEY": "h"})
    assert [(s.model_id, s.api_key_env) for s in both] == [
        ("gemini/gemini-2.5-flash-lite", "GEMINI_API_KEY")
    ]


@pytest.mark.parametrize(
    ("env", "because"),
    [
        ({"AWS_ACCESS_KEY_ID": "AKIA"}, "AWS_ACCESS_KEY_ID"),
        (
            {"AWS_REGION": "eu-west-1", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x"},
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        ),
        (
            {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"},
            "AWS_ROLE_ARN",
        ),
    ],
)
def test_aws_credentials_seed_bedrock_without_a_key_variable(db, env, because):
    [seed] = models_for_environment(env)
    assert (seed.provider, seed.api_key_env, seed.because) == ("bedrock", None, because)
    assert seed.model_id == "bedrock/global.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_a_region_without_credentials_seeds_no_bedrock(db):
    assert models_for_environment({"AWS_REGION": "eu-west-1"}) == []


def test_openai_compatible_server_gets_the_openai_key_and_no_openai_rows(db):
    env = {
        "OPENAI_API_BASE": "http://vllm:8000/v1",
        "OPENAI_MODEL": "llama3",
        "OPENAI_API_KEY": "k",
    }
    assert seed_models_from_environment({**env, "DEMO_MODEL": "off"}) == [
        "added OpenAI-compatible server (llama3) (openai/llama3) for OPENAI_API_BASE"
    ]
    [model] = rows().values()
    assert (model.provider, model.api_base, model.api_key_env, model.max_tokens) == (
        "openai-compatible",
        "http://vllm:8000/v1",
        "OPENAI_API_KEY",
        None,
    )
    [keyless] = models_for_environment({"OPENAI_API_BASE": "http://ollama:11434/v1"})
    assert (keyless.model_id, keyless.api_key_env) == ("openai/default", None)


def test_a_metadata_address_in_openai_api_base_is_ignored(db):
    done = seed_models_from_environment({"OPENAI_API_BASE": "http://169.254.169.254/"})
    assert done[0].startswith("ignored OPENAI_API_BASE: This address is refused")
    assert list(rows()) == ["demo/offline"]


def test_existing_models_stop_provider_seeding_but_not_the_demo(db):
    db.model(model_id="openai/gpt-4o")
    assert seed_models_from_environment({"ANTHROPIC_API_KEY": "a"}) == [DEMO]
    assert sorted(rows()) == ["demo/offline", "openai/gpt-4o"]


def test_demo_off_turns_an_existing_demo_off_once(db):
    seed_models_from_environment({})
    off = {"DEMO_MODEL": "off"}
    assert seed_models_from_environment(off) == ["turned off Offline demo — no AI (DEMO_MODEL=off)"]
    assert not rows()["demo/offline"].is_active
    assert AuditEvent.get(AuditEvent.action == "model.deactivated").actor_id is None
    assert seed_models_from_environment(off) == []
    assert seed_models_from_environment({}) == []  # an inactive demo is left as the admin set it


def test_seeded_models_pass_the_form_and_are_priced_by_litellm(db):
    env = {"OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g"}
    env["AWS_ACCESS_KEY_ID"] = "AKIA"
    seed_models_from_environment({**env, "DEMO_MODEL": "off"})
    seeded = list(AIModel.select())
    assert len(seeded) == 6
    for model in seeded:
        raw = {k: "" if v is None else str(v) for k, v in model.as_ref().items()}
        _, errors = validate_model(raw, current=model)
        assert errors == {}, model.model_id
        assert map_prices(model) is not None, model.model_id
