"""Models the chain can call: litellm model strings with their endpoint, key name and prices."""

from __future__ import annotations

from decimal import Decimal

from peewee import BooleanField, CharField, DateTimeField, DecimalField, IntegerField

from app.db import BaseModel, utcnow

DEMO_PROVIDER = "demo"


class AIModel(BaseModel):
    name = CharField(max_length=255)
    model_id = CharField(max_length=255, unique=True)  # litellm string, e.g. openai/gpt-4o-mini
    provider = CharField(max_length=64)
    is_active = BooleanField(default=True)
    max_tokens = IntegerField(null=True)  # the context window
    api_base = CharField(max_length=1024, null=True)  # OpenAI-compatible servers (vLLM, Ollama)
    api_key_env = CharField(max_length=128, null=True)  # the NAME of the variable, never the key
    input_cost_per_1k = DecimalField(max_digits=14, decimal_places=8, null=True)
    output_cost_per_1k = DecimalField(max_digits=14, decimal_places=8, null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ai_models"

    def __str__(self) -> str:
        return self.name

    @property
    def is_demo(self) -> bool:
        return self.provider == DEMO_PROVIDER

    @property
    def is_priced(self) -> bool:
        return self.input_cost_per_1k is not None and self.output_cost_per_1k is not None

    @classmethod
    def active(cls):
        return cls.select().where(cls.is_active == True).order_by(cls.name)  # noqa: E712

    def as_ref(self) -> dict:
        """The shape the chain engine sees (app.chain.definition.ModelRef) — JSON-safe.

        It carries what a run needs to call the model (endpoint, the key's variable NAME, prices),
        so a run's snapshot is self-contained; never the key itself.
        """
        return {
            "id": self.id,
            "name": self.name,
            "model_id": self.model_id,
            "provider": self.provider,
            "is_active": self.is_active,
            "max_tokens": self.max_tokens,
            "api_base": self.api_base,
            "api_key_env": self.api_key_env,
            "input_cost_per_1k": _price(self.input_cost_per_1k),
            "output_cost_per_1k": _price(self.output_cost_per_1k),
        }


def _price(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
