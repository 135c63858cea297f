"""Ops commands for personal API tokens: flask tokens create|list|revoke."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from app.db import database, utcnow
from app.models import User
from app.models.audit import record
from app.models.token import SCOPES, ApiToken, ScopeNotAllowed

tokens_cli = AppGroup("tokens", help="Personal API tokens.")


def _user(email: str) -> User:
    user = User.by_email(email)
    if user is None:
        raise click.ClickException(f"No account {email}.")
    return user


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@tokens_cli.command("create")
@click.option("--email", required=True, help="The account the token acts as.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES))
@click.option("--name", default="CLI token", show_default=True)
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="Default: never.")
def create(email: str, scopes: tuple[str, ...], name: str, expires_days: int | None) -> None:
    """Create a token and print its secret (the only time it is shown)."""
    user = _user(email)
    if not user.is_active:
        raise click.ClickException(f"The account {user.email} is deactivated.")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise click.BadParameter("use 1 to 100 characters", param_hint="--name")
    expires_at = utcnow() + dt.timedelta(days=expires_days) if expires_days else None
    with database.atomic():
        try:
            token, secret = ApiToken.issue(user, name, list(scopes), expires_at)
        except ScopeNotAllowed as exc:
            raise click.ClickException(str(exc)) from None
        record(
            "api_token.created",
            actor=None,
            target=token,
            summary=f"API token “{token.name}” ({token.prefix}…) for {user.email} from the CLI",
            details={"scopes": token.scopes, "prefix": token.prefix, "user": user.email},
        )
    click.echo(f"Created token {token.id} for {user.email} ({', '.join(token.scopes)}).", err=True)
    click.echo("Copy it now; it will not be shown again:", err=True)
    click.echo(secret)


@tokens_cli.command("list")
@click.option("--email", required=True)
def list_tokens(email: str) -> None:
    """List an account's tokens (never their secrets)."""
    tokens = list(ApiToken.of(_user(email)))
    if not tokens:
        click.echo("No tokens.")
        return
    click.echo("ID\tPREFIX\tSTATE\tNAME\tSCOPES\tCREATED\tEXPIRES\tLAST USED")
    for t in tokens:
        click.echo(
            f"{t.id}\t{t.prefix}…\t{t.state}\t{t.name}\t{','.join(t.scopes)}\t"
            f"{_when(t.created_at)}\t{_when(t.expires_at)}\t{_when(t.last_used_at)}"
        )


@tokens_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
def revoke(token_id: int) -> None:
    """Revoke a token at once."""
    token = ApiToken.select(ApiToken, User).join(User).where(ApiToken.id == token_id).first()
    if token is None:
        raise click.ClickException(f"No token {token_id}.")
    if not token.revoke():
        click.echo(f"Token {token_id} was already revoked.")
        return
    record(
        "api_token.revoked",
        actor=None,
        target=token,
        summary=f"API token “{token.name}” ({token.prefix}…) of {token.user.email} revoked "
        "from the CLI",
        details={"prefix": token.prefix, "user": token.user.email},
    )
    click.echo(f"Revoked token {token_id} ({token.prefix}…) of {token.user.email}.")
