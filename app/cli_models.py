"""Ops commands for models: flask models add|list|activate|deactivate|seed (audited, validated
by the same schema as the admin form)."""

from __future__ import annotations

import json
import os

import click
from flask import current_app
from flask.cli import AppGroup

from app import model_admin
from app.model_seed import seed_models_from_environment
from app.models import AIModel
from app.models.audit import record

models_cli = AppGroup("models", help="The AI models assistants call.")


def _allowlist() -> tuple[str, ...]:
    return tuple(current_app.config.get("API_KEY_ENV_ALLOWLIST") or ())


def _find(model_id: str) -> AIModel:
    model = AIModel.get_or_none(AIModel.model_id == model_id)
    if model is None and model_id.isdigit():
        model = AIModel.get_or_none(AIModel.id == int(model_id))
    if model is None:
        raise click.ClickException(f"No model {model_id}. See: flask models list")
    return model


@models_cli.command("add")
@click.option("--name", required=True, help="What authors see, such as 'GPT-4o mini'.")
@click.option("--model-id", required=True, help="The litellm model, such as openai/gpt-4o-mini.")
@click.option("--provider", required=True, help="openai, anthropic, gemini, bedrock, azure …")
@click.option("--api-base", default="", help="An OpenAI-compatible server's address.")
@click.option("--api-key-env", default="", help="The NAME of the key's variable (*_API_KEY).")
@click.option("--context-window", default="", help="Tokens the model reads at once.")
@click.option("--input-cost", default="", help="Dollars per 1,000 input tokens.")
@click.option("--output-cost", default="", help="Dollars per 1,000 output tokens.")
def add_model(
    name: str,
    model_id: str,
    provider: str,
    api_base: str,
    api_key_env: str,
    context_window: str,
    input_cost: str,
    output_cost: str,
) -> None:
    """Add a model; exit 1 with the reasons when a value is refused."""
    raw = {
        "name": name,
        "model_id": model_id,
        "provider": provider,
        "api_base": api_base,
        "api_key_env": api_key_env,
        "max_tokens": context_window,
        "input_cost_per_1k": input_cost,
        "output_cost_per_1k": output_cost,
    }
    data, errors = model_admin.validate_model(raw, allowlist=_allowlist())
    if not errors:
        try:
            model = model_admin.create_model(data)
        except model_admin.ModelIdTaken:
            errors = {"model_id": "Another model already uses this model name."}
    if errors:
        options = {"max_tokens": "context-window", "input_cost_per_1k": "input-cost"}
        options["output_cost_per_1k"] = "output-cost"
        lines = [f"--{options.get(k, k.replace('_', '-'))}: {m}" for k, m in errors.items()]
        raise click.ClickException("The model was not added.\n" + "\n".join(lines))
    summary, details = model_admin.created_summary(model)
    record(
        "model.created",
        actor=None,
        target=model,
        summary=summary + " from the CLI",
        details=details,
    )
    click.echo(f"Added {model.name} ({model.model_id}), id {model.id}.")


@models_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_models(as_json: bool) -> None:
    """Every model: active or not, key variable set or missing, how many assistants use it."""
    rows = model_admin.model_rows(os.environ, _allowlist())
    if as_json:
        items = [
            {
                **row.model.as_ref(),
                "key": row.key_state,
                "priced_by": "row" if row.prices else "litellm" if row.map_prices else None,
                "used_by": [use.assistant_id for use in row.uses],
            }
            for row in rows
        ]
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    table = [("ID", "MODEL", "NAME", "PROVIDER", "ACTIVE", "KEY", "USED BY")]
    for row in rows:
        model = row.model
        key = f"{model.api_key_env} {row.key_state}" if model.api_key_env else row.key_state
        table.append(
            (
                str(model.id),
                model.model_id,
                model.name,
                model.provider,
                "yes" if model.is_active else "no",
                key,
                str(len(row.uses)),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


@models_cli.command("deactivate")
@click.argument("model_id")
def deactivate_model(model_id: str) -> None:
    """Turn a model off (MODEL_ID: the litellm name or the row id); lists who still uses it."""
    model = _find(model_id)
    uses = model_admin.assistants_using(model)
    if model_admin.set_active(model, False):
        names = ", ".join(use.assistant_name for use in uses) or "no assistant"
        summary = (
            f"Deactivated the model {model.name} ({model.model_id}) from the CLI; used by: {names}"
        )
        record(
            "model.deactivated",
            actor=None,
            target=model,
            summary=summary,
            details={"assistants": [use.assistant_id for use in uses]},
        )
        click.echo(f"{model.model_id} is inactive.")
    else:
        click.echo(f"{model.model_id} was already inactive.")
    if uses:
        click.echo(f"{len(uses)} assistant(s) still use it; their prompts are flagged:")
        for use in uses:
            click.echo(f"  #{use.assistant_id} {use.assistant_name} ({use.role})")


@models_cli.command("activate")
@click.argument("model_id")
def activate_model(model_id: str) -> None:
    """Turn a model back on (MODEL_ID: the litellm name or the row id)."""
    model = _find(model_id)
    if model_admin.set_active(model, True):
        summary = f"Activated the model {model.name} ({model.model_id}) from the CLI"
        record("model.activated", actor=None, target=model, summary=summary)
        click.echo(f"{model.model_id} is active.")
    else:
        click.echo(f"{model.model_id} was already active.")


@models_cli.command("seed")
def seed_models() -> None:
    """At first start: models for the provider keys in the environment, and the offline demo
    model unless DEMO_MODEL=off. Idempotent."""
    done = seed_models_from_environment(os.environ)
    click.echo(
        "\n".join(done)
        if done
        else "Nothing to add: models are set up already, or no provider key is set."
    )
