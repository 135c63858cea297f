"""Providers: an `ai_models` row becomes a streamed litellm call, its errors our own typed ones.

No Flask, no database: the runner passes a ModelSpec and messages, iterates text deltas, reads
`.usage` / `.finish_reason` at the end, and calls `.close()` to cancel. Retrying is the runner's
policy; this module only says whether an error is worth retrying.
"""

from __future__ import annotations

import os

# Before litellm loads: no internet here, and litellm would fetch its cost map at import.
os.environ.update(
    LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_OFFLINE_MODE="true", HF_HUB_OFFLINE="1"
)

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import litellm

from app.chain.demo_provider import DEMO_PROVIDER
from app.chain.litellm_setup import configure_litellm, skip_success_logging
from app.chain.provider_errors import (
    AuthenticationFailed,
    BadRequest,
    InvalidResponse,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    classify_error,
)
from app.chain.provider_stream import CompletionStream, TokenUsage, hide_key

__all__ = [  # the provider errors are re-exported: callers catch them from this module
    "AuthenticationFailed", "BadRequest", "CompletionStream", "InvalidResponse", "ModelNotFound",
    "ModelSpec", "ProviderError", "ProviderTimeout", "ProviderUnavailable", "RateLimited",
    "TokenUsage", "classify_error", "compute_cost", "configure_litellm", "is_allowed_key_env",
    "skip_success_logging",
    "stream_completion",
]  # fmt: skip

API_KEY_ENV_SUFFIX = "_API_KEY"  # DESIGN §8: a key variable must look like one (or be allowlisted)
NO_KEY = "no-key"  # sent to an api_base with no key variable, so litellm never sends OPENAI_API_KEY
COST_QUANTUM = Decimal("0.00000001")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What the engine needs of an `ai_models` row; the key itself is never part of it."""

    id: int | None
    name: str
    model_id: str  # the litellm model string, e.g. openai/gpt-4o-mini or demo/offline
    provider: str
    api_base: str | None = None
    api_key_env: str | None = None
    max_tokens: int | None = None  # the context window
    input_cost_per_1k: Decimal | None = None
    output_cost_per_1k: Decimal | None = None

    @classmethod
    def from_row(cls, row: Any) -> ModelSpec:
        """From an AIModel instance or a mapping with the same keys (a definition snapshot)."""

        def value(name: str) -> Any:
            return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)

        def price(name: str) -> Decimal | None:
            raw = value(name)
            return None if raw is None else Decimal(str(raw))

        return cls(
            id=value("id"),
            name=value("name") or value("model_id"),
            model_id=value("model_id"),
            provider=value("provider") or value("model_id").partition("/")[0],
            api_base=value("api_base") or None,
            api_key_env=value("api_key_env") or None,
            max_tokens=value("max_tokens"),
            input_cost_per_1k=price("input_cost_per_1k"),
            output_cost_per_1k=price("output_cost_per_1k"),
        )

    @property
    def is_demo(self) -> bool:
        return self.provider == DEMO_PROVIDER or self.model_id.startswith(DEMO_PROVIDER + "/")


def is_allowed_key_env(name: str, allowlist: Collection[str] = ()) -> bool:
    return name.endswith(API_KEY_ENV_SUFFIX) or name in allowlist


def _api_key(spec: ModelSpec, env: Mapping[str, str], allowlist: Collection[str]) -> str | None:
    """The key from the variable the row names; never stored, never put in a message."""
    if spec.api_key_env is None:
        return NO_KEY if spec.api_base and not spec.is_demo else None
    if not is_allowed_key_env(spec.api_key_env, allowlist):
        raise AuthenticationFailed(
            f"The model's key variable {spec.api_key_env} is not allowed: "
            f"its name must end in {API_KEY_ENV_SUFFIX}."
        )
    key = env.get(spec.api_key_env, "").strip()
    if not key:
        raise AuthenticationFailed(
            f"The API key for {spec.name} is not set: the server has no "
            f"{spec.api_key_env} environment variable."
        )
    return key


_RESOLVED: dict[str, tuple[float, str | None]] = {}  # api_base → (checked at, problem)
RESOLVE_TTL_SECONDS = 60.0


def refuse_endpoint(api_base: str) -> None:
    """At call time too: a row saved before the rule, or a name that now resolves elsewhere."""
    from app.schemas.models import endpoint_problem, resolution_problem

    checked = _RESOLVED.get(api_base)
    if checked is None or time.monotonic() - checked[0] > RESOLVE_TTL_SECONDS:
        checked = (time.monotonic(), endpoint_problem(api_base) or resolution_problem(api_base))
        _RESOLVED[api_base] = checked
    if checked[1]:
        raise BadRequest(checked[1])


def stream_completion(
    spec: ModelSpec,
    messages: list[dict[str, Any]],
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    timeout: float,
    total_timeout: float | None = None,
    env: Mapping[str, str] = os.environ,
    key_env_allowlist: Collection[str] = (),
) -> CompletionStream:
    """Start a streamed completion; iterate it for text deltas. Raises ProviderError subclasses.

    `timeout` bounds every wait for the provider: connecting, the first byte, and each later read,
    so a hang or a stall mid-stream ends in ProviderTimeout. `total_timeout`, when set, also caps
    the whole answer (checked as chunks arrive).
    """
    api_key = _api_key(spec, env, key_env_allowlist)
    secret = None if api_key == NO_KEY else api_key
    if spec.api_base:
        refuse_endpoint(spec.api_base)
    params: dict[str, Any] = {
        "model": spec.model_id,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "timeout": timeout,
        "max_retries": 0,  # the runner retries; the openai SDK would retry 429/5xx twice
    }
    if api_key is not None:
        params["api_key"] = api_key
    if spec.api_base:
        params["api_base"] = spec.api_base
    if temperature is not None:
        params["temperature"] = temperature
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    started = time.monotonic()
    try:
        raw_stream = litellm.completion(**params)
    except Exception as error:
        raise hide_key(classify_error(error, spec.model_id, timeout), secret) from None
    if raw_stream is None:  # see configure_litellm: never a stream we can read
        raise InvalidResponse("The provider sent no answer.")
    unheard = skip_success_logging(raw_stream)  # no litellm callback: nobody reads its logs
    deadline = None if total_timeout is None else started + total_timeout
    return CompletionStream(raw_stream, spec.model_id, messages, timeout, deadline, secret, unheard)


_UNKNOWN_TO_LITELLM: set[str] = set()  # its map is read once at start and never changes here


def compute_cost(spec: ModelSpec, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    """Cost in dollars (8 dp): the row's prices, else litellm's cost map, else None (unpriced)."""
    if spec.input_cost_per_1k is not None and spec.output_cost_per_1k is not None:
        cost = (
            spec.input_cost_per_1k * prompt_tokens + spec.output_cost_per_1k * completion_tokens
        ) / 1000
        return cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
    if spec.is_demo or spec.model_id in _UNKNOWN_TO_LITELLM:
        return None
    try:
        info = litellm.get_model_info(spec.model_id)
    except Exception:  # litellm raises for a model it does not know (searching its whole map)
        _UNKNOWN_TO_LITELLM.add(spec.model_id)
        return None
    input_price, output_price = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if input_price is None or output_price is None:
        return None
    # str() keeps the map's decimal figures exact (1.5e-07 → Decimal("1.5E-7")).
    cost = (
        Decimal(str(input_price)) * prompt_tokens + Decimal(str(output_price)) * completion_tokens
    )
    return cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


configure_litellm()
