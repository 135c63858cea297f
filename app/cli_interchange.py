"""Ops commands: `flask assistants import FILE --as EMAIL` and `flask assistants export ID…`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from app.cli_runs import assistants_cli
from app.interchange import service
from app.interchange.aistudio import MAX_BYTES, FormatError, Report
from app.models import Assistant, User
from app.models.audit import record


def _administrator(email: str) -> User:
    """The CLI acts as a named user with that user's rights (DESIGN §8): an administrator."""
    user = User.by_email(email)
    if user is None or not user.is_active or not user.is_admin:
        raise click.ClickException(f"{email} is not an active administrator's account.")
    return user


def _print_report(report: Report) -> None:
    if report.imported:
        click.echo(f"✓ {report.number}. {report.name} → assistant {report.assistant_id} (pending)")
    else:
        click.echo(f"✗ {report.number}. {report.name}: not imported")
    for title, lines in (
        ("error", report.errors),
        ("model", report.models),
        ("renumbered", report.renumbered),
        ("note", report.notes),
        ("check", [f"{f['severity']}: {f['message']}" for f in report.findings]),
    ):
        for line in lines:
            click.echo(f"    {title}: {line}")


@assistants_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "as_email", required=True, help="The administrator who will own them.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def import_assistants(path: Path, as_email: str, as_json: bool) -> None:
    """Import an AI Studio JSON file (format 1.0); exit 1 when nothing was imported."""
    user = _administrator(as_email)
    if path.stat().st_size > MAX_BYTES:
        raise click.ClickException(f"{path.name} is larger than {MAX_BYTES // 1024 // 1024} MiB.")
    source = {"source": path.name, "via": "cli"}

    def audit(assistant: Assistant, report: Report) -> None:
        summary = f"Imported “{assistant.name}” from {path.name} (pending approval)"
        record(
            "assistant.imported",
            actor=user,
            target=assistant,
            summary=summary,
            details={**source, "models": report.models},
        )

    try:
        reports = service.import_document(path.read_bytes(), user, audit)
    except FormatError as exc:
        record(
            "assistants.import_refused",
            actor=user,
            summary=f"Refused {path.name}: {exc.message}",
            details=source,
        )
        raise click.ClickException(exc.message) from None
    imported = [r.assistant_id for r in reports if r.imported]
    record(
        "assistants.import",
        actor=user,
        summary=f"Imported {len(imported)} of {len(reports)} assistants from {path.name}",
        details={**source, "imported": imported},
    )
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for report in reports:
            _print_report(report)
        click.echo(f"{len(imported)} of {len(reports)} imported.")
    if not imported:
        sys.exit(1)


@assistants_cli.command("export")
@click.argument("assistant_ids", type=int, nargs=-1, required=True)
@click.option("--as", "as_email", required=True, help="An administrator (recorded in the audit).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
def export_assistants(assistant_ids: tuple[int, ...], as_email: str, output: Path | None) -> None:
    """Export assistants to AI Studio's JSON format 1.0, in the order given."""
    user = _administrator(as_email)
    missing = service.missing_ids(assistant_ids)
    if missing:
        raise click.ClickException(f"No assistant with id {', '.join(map(str, missing))}.")
    document = service.export_document_for(assistant_ids)
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"Wrote {len(document['assistants'])} assistant(s) to {output}.", err=True)
    names = ", ".join(f"“{a['name']}”" for a in document["assistants"])
    record(
        "assistants.exported",
        actor=user,
        summary=f"Exported {names} (CLI)"[:2000],
        details={"assistant_ids": list(dict.fromkeys(assistant_ids)), "via": "cli"},
    )
