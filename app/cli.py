"""Ops commands: flask db upgrade|status, flask users create, flask demo load."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app import migrate
from app.db import database
from app.models import User
from app.models.audit import record
from app.models.user import ROLES

db_cli = AppGroup("db", help="Database schema.")
users_cli = AppGroup("users", help="Accounts.")
demo_cli = AppGroup("demo", help="Demo data.")


@db_cli.command("upgrade")
@click.option("--wait", default=0, show_default=True, help="Seconds to retry while the DB starts.")
def db_upgrade(wait: int) -> None:
    """Apply pending migrations (once, even with several tasks starting together)."""
    applied = migrate.upgrade(current_app.config["MIGRATIONS_DIR"], wait_seconds=wait)
    click.echo("\n".join(f"applied {n}" for n in applied) or "Database is up to date.")


@db_cli.command("status")
def db_status() -> None:
    """List migrations, applied or pending; exit 1 when any is pending."""
    migrations = migrate.status(current_app.config["MIGRATIONS_DIR"])
    click.echo("\n".join(migrate.describe(migrations)))
    if any(not m.applied for m in migrations):
        raise SystemExit(1)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default=None, help="Defaults to the part of the email before @.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option(
    "--password", default=None, help="Omit to be asked on the terminal (never in history)."
)
@click.option(
    "--no-password",
    is_flag=True,
    help="Signs in with single sign-on only (linked by verified email at first sign-in). "
    "The default when PASSWORD_LOGIN=off.",
)
def users_create(
    email: str, name: str | None, roles: tuple[str, ...], password: str | None, no_password: bool
) -> None:
    """Create an account with one or more roles."""
    email = User.normalize_email(email)
    if User.by_email(email) is not None:
        raise click.ClickException(f"An account with email {email} already exists.")
    no_password = no_password or (password is None and not current_app.config["PASSWORD_LOGIN"])
    if password is None and not no_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password is not None and len(password) < 10:
        raise click.ClickException("Use a password of at least 10 characters.")
    with database.atomic():
        user = User(email=email, name=name or email.split("@")[0])
        if password is not None:
            user.set_password(password)
        user.save()
        user.set_roles(roles)
        record("user.created", actor=None, target=user, summary=f"{email} created from the CLI")
    click.echo(f"Created {email} ({', '.join(roles)}).")


@demo_cli.command("load")
def demo_load() -> None:
    """The offline demo model and the example assistant (idempotent)."""
    from app.demo import load_demo_data

    created = load_demo_data()
    click.echo("Created " + ", ".join(created) if created else "Demo data already present.")


def init_app(app: Flask) -> None:
    from app import cli_interchange  # noqa: F401  (adds import/export to `flask assistants`)
    from app.cli_models import models_cli
    from app.cli_qa import qa_cli
    from app.cli_retention import runs_cli
    from app.cli_runs import assistants_cli, runner_cli
    from app.cli_tokens import tokens_cli

    for group in (
        db_cli,
        users_cli,
        demo_cli,
        assistants_cli,
        runner_cli,
        models_cli,
        tokens_cli,
        qa_cli,
    ):
        app.cli.add_command(group)
    app.cli.add_command(runs_cli)
