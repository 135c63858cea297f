"""Model administration: validate and save `ai_models` rows, who uses a model, test a connection.

Shared by the admin pages and `flask models`; no Flask import (the caller audits and passes the
environment and the key-variable allowlist). Seeding from the environment is in app.model_seed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peewee import IntegrityError
from werkzeug.datastructures import MultiDict

from app.chain.providers import (
    AuthenticationFailed,
    ModelNotFound,
    ModelSpec,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    compute_cost,
    is_allowed_key_env,
    stream_completion,
)
from app.db import database, utcnow
from app.models import AIModel, Assistant, ChainPrompt
from app.schemas import load_form
from app.schemas.models import (
    PROVIDER_LABELS,
    demo_model_schema,
    model_schema,
    resolution_problem,
)

FIELD_LABELS = {
    "name": "name",
    "model_id": "model name",
    "provider": "provider",
    "api_base": "endpoint",
    "api_key_env": "key variable",
    "max_tokens": "context window",
    "input_cost_per_1k": "input price",
    "output_cost_per_1k": "output price",
}
EDITABLE = tuple(FIELD_LABELS)  # the columns the form and `flask models add` set
TEST_MESSAGES = [{"role": "user", "content": "Say OK."}]
TEST_MAX_TOKENS = 5


class ModelIdTaken(ValueError):
    """Another row has this model_id (found by the unique index, racing another admin)."""


# --- validating and saving -------------------------------------------------------------------
def validate_model(
    raw: Mapping[str, Any], *, current: AIModel | None = None, allowlist: Collection[str] = ()
) -> tuple[dict, dict[str, str]]:
    """(data, errors) for a posted form or CLI options; errors keep the typed values."""
    values = dict(raw)
    if current is not None and current.is_demo:  # the demo row's wiring is not editable
        values.update(model_id=current.model_id, provider=current.provider)
        values.update(api_base="", api_key_env="")
    schema = demo_model_schema if current is not None and current.is_demo else model_schema
    data, errors = load_form(schema, MultiDict(values))
    key_env = str(data.get("api_key_env") or "").strip()
    if "api_key_env" not in errors and key_env and not is_allowed_key_env(key_env, allowlist):
        allowed = f" or be one of {', '.join(allowlist)}" if allowlist else ""
        errors["api_key_env"] = (
            f"{key_env} is not allowed: a key variable's name must end in _API_KEY{allowed}."
        )
    api_base = data.get("api_base")
    if "api_base" not in errors and isinstance(api_base, str) and api_base:
        problem = resolution_problem(api_base)  # the name resolves: to where?
        if problem:
            errors["api_base"] = problem
    model_id = str(data.get("model_id") or "").strip()
    if "model_id" not in errors and model_id:
        taken = AIModel.select().where(AIModel.model_id == model_id)
        if current is not None:
            taken = taken.where(AIModel.id != current.id)
        if taken.exists():
            errors["model_id"] = "Another model already uses this model name."
    return data, errors


def create_model(data: Mapping[str, Any]) -> AIModel:
    try:
        with database.atomic():
            return AIModel.create(**{name: data.get(name) for name in EDITABLE})
    except IntegrityError as error:
        raise ModelIdTaken(data.get("model_id")) from error


def update_model(model: AIModel, data: Mapping[str, Any]) -> dict[str, list[str | None]]:
    """Save the changes; returns {field: [before, after]} as text (the audit's details)."""
    changes = {
        name: [plain(getattr(model, name)), plain(data.get(name))]
        for name in EDITABLE
        if plain(getattr(model, name)) != plain(data.get(name))
    }
    if not changes:
        return changes
    for name in changes:
        setattr(model, name, data.get(name))
    model.updated_at = utcnow()
    try:
        with database.atomic():
            model.save()
    except IntegrityError as error:
        raise ModelIdTaken(data.get("model_id")) from error
    return changes


def set_active(model: AIModel, active: bool) -> bool:
    """True when the state changed."""
    if model.is_active == active:
        return False
    model.is_active = active
    model.updated_at = utcnow()
    model.save(only=[AIModel.is_active, AIModel.updated_at])
    return True


def plain(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return money(value)
    return str(value)


def money(value: Decimal) -> str:
    """0.00015000 → 0.00015; 2 → 2."""
    return format(value.normalize(), "f")


def created_summary(model: AIModel) -> tuple[str, dict[str, Any]]:
    details = {name: plain(getattr(model, name)) for name in EDITABLE}
    return f"Added the model {model.name} ({model.model_id}, {model.provider})", details


def changes_summary(model: AIModel, changes: Mapping[str, list[str | None]]) -> str:
    parts = [
        f"{FIELD_LABELS[name]} {before or '(none)'} → {after or '(none)'}"
        for name, (before, after) in changes.items()
    ]
    return f"Edited the model {model.name}: " + "; ".join(parts)


# --- who uses a model ------------------------------------------------------------------------
@dataclass
class ModelUse:
    assistant_id: int
    assistant_name: str
    status: str
    as_main: bool = False
    as_fallback: bool = False

    @property
    def role(self) -> str:
        if self.as_main and self.as_fallback:
            return "main and fallback model"
        return "main model" if self.as_main else "fallback model"


def usage_by_model(model: AIModel | None = None) -> dict[int, list[ModelUse]]:
    """model id → the assistants whose prompts use it (as main or fallback), by name."""
    query = (
        ChainPrompt.select(
            ChainPrompt.model,
            ChainPrompt.fallback_model,
            Assistant.id,
            Assistant.name,
            Assistant.status,
        )
        .join(Assistant)
        .distinct()
    )
    if model is None:
        query = query.where(
            ChainPrompt.model.is_null(False) | ChainPrompt.fallback_model.is_null(False)
        )
    else:
        query = query.where(
            (ChainPrompt.model == model.id) | (ChainPrompt.fallback_model == model.id)
        )
    uses: dict[int, dict[int, ModelUse]] = {}
    rows: Iterable[tuple[Any, ...]] = query.tuples()  # type: ignore[assignment]
    for main_id, fallback_id, assistant_id, name, status in rows:
        for model_id, as_main in ((main_id, True), (fallback_id, False)):
            if model_id is None:
                continue
            use = uses.setdefault(model_id, {}).setdefault(
                assistant_id, ModelUse(assistant_id, name, status)
            )
            use.as_main = use.as_main or as_main
            use.as_fallback = use.as_fallback or not as_main
    return {
        model_id: sorted(
            by_assistant.values(), key=lambda u: (u.assistant_name.lower(), u.assistant_id)
        )
        for model_id, by_assistant in uses.items()
    }


def assistants_using(model: AIModel) -> list[ModelUse]:
    return usage_by_model(model).get(model.id, [])


# --- what the list shows ---------------------------------------------------------------------
@dataclass
class ModelRow:
    model: AIModel
    uses: list[ModelUse] = field(default_factory=list)
    key_state: str = "none"  # set, missing, not allowed, not needed, AWS credentials, none
    map_prices: tuple[str, str] | None = None  # per 1k, from litellm's cost map, when unpriced

    @property
    def provider_label(self) -> str:
        label = PROVIDER_LABELS.get(self.model.provider, self.model.provider)
        return label.split(" (")[0]  # the list is narrow: no examples in brackets

    @property
    def prices(self) -> tuple[str, str] | None:
        model = self.model
        if model.input_cost_per_1k is None or model.output_cost_per_1k is None:
            return None
        return money(model.input_cost_per_1k), money(model.output_cost_per_1k)


def key_state(model: AIModel, env: Mapping[str, str], allowlist: Collection[str]) -> str:
    """Whether the key the row names is there — never the key itself."""
    if model.is_demo:
        return "not needed"
    if not model.api_key_env:
        return "AWS credentials" if model.provider == "bedrock" else "none"
    if not is_allowed_key_env(model.api_key_env, allowlist):
        return "not allowed"
    return "set" if env.get(model.api_key_env, "").strip() else "missing"


def map_prices(model: AIModel) -> tuple[str, str] | None:
    """What compute_cost charges an unpriced row at run time, per 1k tokens, from litellm's map."""
    if model.is_priced or model.is_demo:
        return None
    spec = ModelSpec.from_row(model)
    per_1k_in, per_1k_out = compute_cost(spec, 1000, 0), compute_cost(spec, 0, 1000)
    if per_1k_in is None or per_1k_out is None:
        return None
    return money(per_1k_in), money(per_1k_out)


def model_row(
    model: AIModel, uses: list[ModelUse], env: Mapping[str, str], allowlist: Collection[str]
) -> ModelRow:
    return ModelRow(model, uses, key_state(model, env, allowlist), map_prices(model))


def model_rows(env: Mapping[str, str], allowlist: Collection[str]) -> list[ModelRow]:
    usage = usage_by_model()
    models = AIModel.select().order_by(AIModel.is_active.desc(), AIModel.name, AIModel.id)
    return [model_row(m, usage.get(m.id, []), env, allowlist) for m in models]


# --- test connection -------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str
    hint: str = ""
    reply: str = ""
    first_token_ms: int | None = None
    total_ms: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_estimated: bool = False


_HINTS: dict[type[ProviderError], str] = {
    AuthenticationFailed: "Check the key variable's name, and that the server has a key in it.",
    ModelNotFound: "Check the model name: it must be one the provider serves.",
    ProviderUnavailable: "Check the endpoint address, and that the server is up and reachable.",
    ProviderTimeout: "The provider may be overloaded, or the address may point at the wrong place.",
}


def check_connection(
    model: AIModel,
    *,
    timeout: float,
    env: Mapping[str, str] = os.environ,
    allowlist: Collection[str] = (),
) -> ConnectionResult:
    """A tiny streamed call: latency to the first token and in total, tokens, or the error."""
    spec = ModelSpec.from_row(model)
    started = time.monotonic()
    first: float | None = None
    parts: list[str] = []
    try:
        stream = stream_completion(
            spec,
            TEST_MESSAGES,
            max_tokens=TEST_MAX_TOKENS,
            timeout=timeout,
            # `timeout` bounds each wait (a hang); this bounds a provider dribbling its tokens.
            # Slack: litellm's first call in a process spends a good part of a second setting up.
            total_timeout=timeout + 5,
            env=env,
            key_env_allowlist=allowlist,
        )
        try:
            for delta in stream:
                first = first or time.monotonic()
                parts.append(delta)
        finally:
            stream.close()
    except ProviderError as error:
        hint = next((h for kind, h in _HINTS.items() if isinstance(error, kind)), "")
        return ConnectionResult(False, error.message, hint, total_ms=_ms(started))
    usage = stream.usage
    return ConnectionResult(
        ok=True,
        message=f"{model.name} answered.",
        reply="".join(parts).strip(),
        first_token_ms=None if first is None else round((first - started) * 1000),
        total_ms=_ms(started),
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        tokens_estimated=bool(usage and usage.estimated),
    )


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
