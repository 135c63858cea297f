"""`flask runs purge --older-than DAYS [--dry-run]`: retention by hand, for ops."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.retention import MAX_RETENTION_DAYS, cutoff_for, purge_runs

runs_cli = AppGroup("runs", help="Stored runs.")


@runs_cli.command("purge")
@click.option(
    "--older-than",
    "days",
    required=True,
    type=click.IntRange(1, MAX_RETENTION_DAYS),
    help="Delete finished runs that ended more than this many days ago.",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def purge(days: int, dry_run: bool) -> None:
    """Delete finished runs older than DAYS with their results, events and chat (audited).

    Queued and running runs are never deleted.
    """
    report = purge_runs(cutoff_for(days), days=days, dry_run=dry_run, by="cli")
    if report is None:
        raise click.ClickException("Another process is deleting old runs right now; try again.")
    if not report.runs:
        click.echo(f"Nothing to delete: no finished run ended more than {days} days ago.")
        return
    click.echo(report.summary + ".")
    if dry_run:
        click.echo("Nothing was deleted (--dry-run).")
