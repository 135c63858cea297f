"""First start: models for the provider keys the environment holds, and the offline demo model.

`seed_models_from_environment(env)` is idempotent and reads only the mapping it is given. The models
are ones litellm 1.110's cost map knows with no near deprecation date (its Claude 3.x and Gemini
1.5 entries are gone), so runs are priced although the rows carry no price. Claude's context is
given as 200k: the 1M window needs a beta header. Non-reasoning models where there is a choice, so
the 5-token connection test answers and a prompt's temperature is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.db import database
from app.demo import DEMO_MODEL_ID, ensure_demo_model
from app.model_admin import created_summary, set_active
from app.models import AIModel
from app.models.ai_model import DEMO_PROVIDER
from app.models.audit import record
from app.schemas.models import endpoint_problem

# Credentials an ECS task role, EKS/web identity or a profile provide to the AWS default chain.
AWS_ROLE_VARIABLES = (
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_PROFILE",
)


@dataclass(frozen=True)
class SeedModel:
    name: str
    model_id: str
    provider: str
    max_tokens: int | None
    api_key_env: str | None = None
    api_base: str | None = None
    because: str = ""  # which variable made us add it


def _set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def models_for_environment(env: Mapping[str, str]) -> list[SeedModel]:
    """What the keys present call for (nothing is written)."""
    seeds: list[SeedModel] = []
    base = env.get("OPENAI_API_BASE", "").strip()
    openai_key = "OPENAI_API_KEY" if _set(env, "OPENAI_API_KEY") else None
    if base and endpoint_problem(base) is None:
        # litellm sends every openai/ call to OPENAI_API_BASE when it is set, so the key belongs
        # to that server: no api.openai.com rows beside it (they would silently go there too).
        model = env.get("OPENAI_MODEL", "").strip() or "default"
        seeds.append(
            SeedModel(
                f"OpenAI-compatible server ({model})",
                f"openai/{model}",
                "openai-compatible",
                None,
                openai_key,
                base,
                "OPENAI_API_BASE",
            )
        )
    elif openai_key:
        for name, model_id in (("GPT-4o mini", "openai/gpt-4o-mini"), ("GPT-4o", "openai/gpt-4o")):
            seeds.append(SeedModel(name, model_id, "openai", 128000, openai_key, None, openai_key))
    if _set(env, "ANTHROPIC_API_KEY"):
        for name, model_id in (
            ("Claude Haiku 4.5", "anthropic/claude-haiku-4-5"),
            ("Claude Sonnet 4.6", "anthropic/claude-sonnet-4-6"),
        ):
            key = "ANTHROPIC_API_KEY"
            seeds.append(SeedModel(name, model_id, "anthropic", 200000, key, None, key))
    google_key = next((k for k in ("GEMINI_API_KEY", "GOOGLE_API_KEY") if _set(env, k)), None)
    if google_key:
        seeds.append(
            SeedModel(
                "Gemini 2.5 Flash-Lite",
                "gemini/gemini-2.5-flash-lite",
                "gemini",
                1048576,
                google_key,
                None,
                google_key,
            )
        )
    region = _set(env, "AWS_REGION") or _set(env, "AWS_DEFAULT_REGION")
    aws = "AWS_ACCESS_KEY_ID" if _set(env, "AWS_ACCESS_KEY_ID") else None
    aws = aws or next((k for k in AWS_ROLE_VARIABLES if region and _set(env, k)), None)
    if aws:  # no key variable: litellm uses the AWS credential chain
        seeds.append(
            SeedModel(
                "Claude Haiku 4.5 (Bedrock)",
                "bedrock/global.anthropic.claude-haiku-4-5-20251001-v1:0",
                "bedrock",
                200000,
                because=aws,
            )
        )
    return seeds


def seed_models_from_environment(env: Mapping[str, str]) -> list[str]:
    """Create models for the keys present when no real model exists yet; returns what it did.

    The offline demo model is added unless DEMO_MODEL=off (then an existing one is turned off).
    """
    done: list[str] = []
    base = env.get("OPENAI_API_BASE", "").strip()
    if base and endpoint_problem(base):
        done.append(f"ignored OPENAI_API_BASE: {endpoint_problem(base)}")
    with database.atomic():
        if not AIModel.select().where(AIModel.provider != DEMO_PROVIDER).exists():
            for seed in models_for_environment(env):
                if AIModel.get_or_none(AIModel.model_id == seed.model_id) is None:
                    model = AIModel.create(
                        name=seed.name,
                        model_id=seed.model_id,
                        provider=seed.provider,
                        max_tokens=seed.max_tokens,
                        api_key_env=seed.api_key_env,
                        api_base=seed.api_base,
                    )
                    summary, details = created_summary(model)
                    summary += f", because {seed.because} is set"
                    record(
                        "model.created", actor=None, target=model, summary=summary, details=details
                    )
                    done.append(f"added {seed.name} ({seed.model_id}) for {seed.because}")
        demo = AIModel.get_or_none(AIModel.model_id == DEMO_MODEL_ID)
        if env.get("DEMO_MODEL", "on") != "off":  # the same reading as Config.DEMO_MODEL
            if demo is None:
                demo = ensure_demo_model()
                summary, details = created_summary(demo)
                record("model.created", actor=None, target=demo, summary=summary, details=details)
                done.append(f"added {demo.name} ({demo.model_id})")
        elif demo is not None and set_active(demo, False):
            summary = f"Turned off the model {demo.name}: DEMO_MODEL=off"
            record("model.deactivated", actor=None, target=demo, summary=summary)
            done.append(f"turned off {demo.name} (DEMO_MODEL=off)")
    return done
