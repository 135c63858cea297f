"""Demo data for `make run`: the offline demo model and the seed's example assistant."""

from __future__ import annotations

from app.db import database
from app.models import AIModel, Assistant, ChainPrompt, InputField, User
from app.models.audit import record

EXAMPLES_EMAIL = "examples@assistant-architect.local"
DEMO_MODEL_ID = "demo/offline"
DEMO_MODEL_NAME = "Offline demo — no AI"
EXAMPLE_NAME = "Analyze and summarize"


def ensure_demo_model() -> AIModel:
    model, _ = AIModel.get_or_create(
        model_id=DEMO_MODEL_ID,
        defaults={"name": DEMO_MODEL_NAME, "provider": "demo", "max_tokens": 32768},
    )
    return model


def examples_owner() -> User:
    """An inactive account that owns the examples (it cannot sign in; admins can transfer them)."""
    owner, created = User.get_or_create(
        email=EXAMPLES_EMAIL, defaults={"name": "Example library", "is_active": False}
    )
    if created:
        owner.set_roles(["staff"])
    return owner


def load_demo_data() -> list[str]:
    """Idempotent: creates what is missing and says what it created."""
    created: list[str] = []
    with database.atomic():
        model_missing = AIModel.get_or_none(AIModel.model_id == DEMO_MODEL_ID) is None
        model = ensure_demo_model()
        if model_missing:
            created.append(f"model {DEMO_MODEL_NAME}")
            summary = f"Added the model {model.name} ({model.model_id}) with the demo data"
            record("model.created", actor=None, target=model, summary=summary)
        if Assistant.get_or_none(Assistant.name == EXAMPLE_NAME) is None:
            example = _create_example(model)
            created.append(f"assistant {EXAMPLE_NAME}")
            summary = f"Created the example assistant “{example.name}” with the demo data"
            record("assistant.created", actor=None, target=example, summary=summary)
    return created


def _create_example(model: AIModel) -> Assistant:
    assistant = Assistant.create(
        name=EXAMPLE_NAME,
        description=(
            "Paste any text: the first prompt analyzes it, the second summarizes the analysis."
        ),
        status="approved",
        version=1,
        image_path="sparkles",
        user=examples_owner(),
    )
    InputField.create(
        assistant=assistant,
        name="user_input",
        label="Your text",
        field_type="long_text",
        position=0,
        options={"required": True, "placeholder": "Paste a paragraph, an email, a lesson plan…"},
    )
    ChainPrompt.create(
        assistant=assistant,
        name="Analyze",
        content="Analyze this: {{user_input}}",
        model=model,
        position=0,
    )
    ChainPrompt.create(
        assistant=assistant,
        name="Summarize",
        content="Summarize: {{prompt_1_output}}",
        model=model,
        position=1,
    )
    return assistant
