"""Which of our models an AI Studio `model_name` means, and how to write ours back (DESIGN §8).

Import, in this order: the exact `model_id`; else the part after a provider prefix, either way
(`openai/gpt-4o` ↔ `gpt-4o`); else the model's `name`; else a model of the provider the name
suggests (“claude…” → Anthropic); else the first active model that is not the offline demo, by
id; the offline demo model only when nothing else exists. Within a rule, an active model beats an
inactive one, a real model beats the demo, then the lowest id wins. Export writes the shortest
spelling that maps back to the very same model (the bare name when unambiguous, else the id).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.models.ai_model import DEMO_PROVIDER

How = Literal[
    "model_id", "bare_name", "name", "provider", "first_active", "demo", "inactive_only", "none"
]

# A word in a model name → the providers that serve it, in order of preference.
_PROVIDER_WORDS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"claude|anthropic"), ("anthropic", "bedrock", "vertex_ai")),
    (re.compile(r"gemini|google|palm|bison"), ("gemini", "vertex_ai")),
    (re.compile(r"gpt|openai|chatgpt|davinci|\bo[1-9]\b"), ("openai", "azure")),
    (re.compile(r"azure"), ("azure",)),
    (re.compile(r"bedrock|titan|nova"), ("bedrock",)),
    (re.compile(r"mistral|mixtral|codestral"), ("mistral", "ollama", "groq")),
    (re.compile(r"llama|qwen|phi|gemma|deepseek"), ("ollama", "groq", "openai-compatible")),
    (re.compile(r"groq"), ("groq",)),
    (re.compile(r"ollama"), ("ollama",)),
)

HOW_WORDS: dict[str, str] = {
    "model_id": "same model id",
    "bare_name": "same model, without the provider prefix",
    "name": "same model name",
    "provider": "a model of the same provider",
    "first_active": "no match: the first active model",
    "demo": "no other model exists: the offline demo",
    "inactive_only": "no active model exists: an inactive one",
    "none": "no model exists",
}


@dataclass(frozen=True)
class ModelChoice:
    id: int
    name: str
    model_id: str
    provider: str
    is_active: bool

    @property
    def is_demo(self) -> bool:
        return self.provider == DEMO_PROVIDER

    @property
    def bare(self) -> str:
        return self.model_id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ModelMatch:
    model: ModelChoice | None
    how: How

    @property
    def exact(self) -> bool:
        return self.how in ("model_id", "bare_name", "name")


def _best(candidates: Sequence[ModelChoice]) -> ModelChoice | None:
    ranked = sorted(candidates, key=lambda m: (not m.is_active, m.is_demo, m.id))
    return ranked[0] if ranked else None


def match_model(model_name: str | None, models: Sequence[ModelChoice]) -> ModelMatch:
    wanted = (model_name or "").strip()
    if wanted:
        folded = wanted.casefold()
        bare = folded.rsplit("/", 1)[-1]
        rules: tuple[tuple[How, list[ModelChoice]], ...] = (
            ("model_id", [m for m in models if m.model_id == wanted]),
            ("bare_name", [m for m in models if m.bare.casefold() == bare]),
            ("name", [m for m in models if m.name.strip().casefold() == folded]),
        )
        for how, found in rules:
            if (model := _best(found)) is not None:
                return ModelMatch(model, how)
        for providers in _providers_for(folded):
            by_provider = [m for m in models if m.is_active and m.provider in providers]
            if by_provider:
                rank = {p: i for i, p in enumerate(providers)}
                by_provider.sort(key=lambda m: (rank[m.provider], m.id))
                return ModelMatch(by_provider[0], "provider")
    active = sorted((m for m in models if m.is_active and not m.is_demo), key=lambda m: m.id)
    if active:
        return ModelMatch(active[0], "first_active")
    demo = _best([m for m in models if m.is_demo])
    if demo is not None:
        return ModelMatch(demo, "demo")
    rest = _best(list(models))
    return ModelMatch(rest, "inactive_only" if rest else "none")


def _providers_for(folded: str) -> list[tuple[str, ...]]:
    prefix, slash, _ = folded.partition("/")
    found: list[tuple[str, ...]] = [(prefix,)] if slash else []
    found += [providers for word, providers in _PROVIDER_WORDS if word.search(folded)]
    return found


def export_name(model: ModelChoice | None, models: Sequence[ModelChoice]) -> str | None:
    """The AI Studio spelling: the bare name when it maps back to this model, else the id."""
    if model is None:
        return None
    for spelling in (model.bare, model.model_id):
        if match_model(spelling, models).model == model:
            return spelling
    return model.model_id


def describe(model_name: str | None, match: ModelMatch) -> str:
    asked = f"“{model_name}”" if model_name else "No model named"
    if match.model is None:
        return f"{asked} → nothing: no model exists yet. Add one, then choose it in the builder."
    ours = f"{match.model.name} ({match.model.model_id})"
    note = "" if match.model.is_active else " — inactive: activate it or choose another"
    return f"{asked} → {ours}: {HOW_WORDS[match.how]}{note}."
