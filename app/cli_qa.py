"""`flask qa seed`: what the Playwright suite needs on a deployed server (idempotent).

One account per role (emails and passwords from QA_<ROLE>_EMAIL / QA_<ROLE>_PASSWORD, a password
generated and printed once when none is given), the offline demo model and the example assistant
(`flask demo load`), and — with
--fake-provider-url — a model on a fake OpenAI-compatible server. Existing accounts are left as
they are (their password is never overwritten), so running it twice changes nothing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

import click
from flask import current_app
from flask.cli import AppGroup

from app import model_admin
from app.db import database
from app.demo import load_demo_data
from app.models import AIModel, User
from app.models.audit import record

qa_cli = AppGroup("qa", help="Quality assurance: accounts and models for the e2e suite.")

# The same defaults as e2e/accounts.py, so a local run needs no variables at all.
QA_ACCOUNTS = (
    ("administrator", "admin@school.example", "Ada Admin"),
    ("staff", "teacher@school.example", "Tom Teacher"),
    ("student", "student@school.example", "Sam Student"),
)
FAKE_MODEL_ID = "openai/fake-model"
FAKE_MODEL_NAME = "QA fake provider"
MIN_PASSWORD = 10


def _env_prefix(role: str) -> str:
    return "QA_ADMIN" if role == "administrator" else f"QA_{role.upper()}"


def seed_account(role: str, email: str, name: str, env: Mapping[str, str]) -> str:
    """One line saying what happened to this role's account."""
    prefix = _env_prefix(role)
    email = User.normalize_email(env.get(f"{prefix}_EMAIL", "").strip() or email)
    existing = User.by_email(email)
    if existing is not None:
        roles = ", ".join(sorted(existing.role_names)) or "no role"
        state = "active" if existing.is_active else "INACTIVE"
        return f"{role}: {email} already exists ({roles}; {state}); left as it is."
    password = env.get(f"{prefix}_PASSWORD", "")
    generated = not password
    if generated:
        password = secrets.token_urlsafe(15)
    elif len(password) < MIN_PASSWORD:
        raise click.ClickException(f"{prefix}_PASSWORD: use at least {MIN_PASSWORD} characters.")
    with database.atomic():
        user = User(email=email, name=name)
        user.set_password(password)
        user.save()
        user.set_roles([role])
        record("user.created", actor=None, target=user, summary=f"{email} created by qa seed")
    if generated:
        return f"{role}: created {email} with the password {password} (set {prefix}_PASSWORD)"
    return f"{role}: created {email} with the password from {prefix}_PASSWORD."


def seed_fake_model(base_url: str) -> str:
    existing = AIModel.get_or_none(AIModel.model_id == FAKE_MODEL_ID)
    if existing is not None:
        if (existing.api_base or "") != base_url:
            return (
                f"model: {FAKE_MODEL_ID} already exists with the address {existing.api_base}; "
                "left as it is."
            )
        return f"model: {FAKE_MODEL_ID} already exists."
    raw = {
        "name": FAKE_MODEL_NAME,
        "model_id": FAKE_MODEL_ID,
        "provider": "openai-compatible",
        "api_base": base_url,
    }
    allowlist = tuple(current_app.config.get("API_KEY_ENV_ALLOWLIST") or ())
    data, errors = model_admin.validate_model(raw, allowlist=allowlist)
    if errors:
        raise click.ClickException(
            "The fake-provider model was not added: " + "; ".join(errors.values())
        )
    model = model_admin.create_model(data)
    summary, details = model_admin.created_summary(model)
    record(
        "model.created", actor=None, target=model, summary=summary + " by qa seed", details=details
    )
    return f"model: created {FAKE_MODEL_NAME} ({FAKE_MODEL_ID}) at {base_url}."


@qa_cli.command("seed")
@click.option(
    "--fake-provider-url",
    default="",
    help="The address of a fake OpenAI-compatible server (e.g. http://127.0.0.1:8001/v1).",
)
def qa_seed(fake_provider_url: str) -> None:
    """Create the QA accounts and models that are missing (safe to run again)."""
    env = os.environ
    for role, email, name in QA_ACCOUNTS:
        click.echo(seed_account(role, email, name, env))
    created = load_demo_data()  # the offline demo model and the example assistant the flows run
    for what in created:
        record("demo.created", actor=None, summary=f"Created the {what} by qa seed")
    click.echo("demo: created " + ", ".join(created) if created else "demo: already present.")
    if fake_provider_url:
        click.echo(seed_fake_model(fake_provider_url.strip()))
