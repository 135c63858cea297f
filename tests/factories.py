"""Factories: the smallest valid rows, with overrides."""

from __future__ import annotations

import itertools
from typing import Any

from app.models import AIModel, Assistant, ChainPrompt, InputField, User

_seq = itertools.count(1)


class Factory:
    PASSWORD = "correct horse battery"

    def user(self, *, roles=("staff",), email: str | None = None, **fields: Any) -> User:
        n = next(_seq)
        user = User(
            email=email or f"user{n}@school.example", name=fields.pop("name", f"User {n}"), **fields
        )
        user.set_password(self.PASSWORD)
        user.save()
        user.set_roles(roles)
        return user

    def model(self, **fields: Any) -> AIModel:
        n = next(_seq)
        defaults = {
            "name": f"Model {n}",
            "model_id": f"openai/test-model-{n}",
            "provider": "openai",
        }
        return AIModel.create(**{**defaults, **fields})

    def assistant(
        self,
        *,
        user: User | None = None,
        prompts: list[dict] | None = None,
        fields: list[dict] | None = None,
        **values: Any,
    ) -> Assistant:
        owner = user or self.user()
        n = next(_seq)
        assistant = Assistant.create(user=owner, **{"name": f"Assistant {n}", **values})
        for position, field in enumerate(fields or []):
            InputField.create(
                assistant=assistant,
                position=position,
                **{"field_type": "long_text", "label": field["name"], **field},
            )
        for prompt in prompts or []:
            ChainPrompt.create(assistant=assistant, **prompt)
        return assistant
