"""Administration: import assistants from an AI Studio JSON file, export chosen ones to one."""

from __future__ import annotations

from typing import Any

from flask import Response, json, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.blueprints.admin import bp
from app.errors import render_error
from app.htmx import is_fragment_request, render_page_or_fragment
from app.interchange import service
from app.interchange.aistudio import MAX_BYTES, FormatError, Report
from app.models import Assistant, User
from app.security import admin_required, audit, signed_in_user

PAGE, REPORT = "admin/interchange.html", "admin/_partials/_import_report.html"
MULTIPART_SLACK = 64 * 1024  # the form's framing around a file of exactly the limit
TOO_BIG = f"The file is larger than {MAX_BYTES // (1024 * 1024)} MiB. Split it into several files."


def _assistants() -> list[Assistant]:
    return list(Assistant.select(Assistant, User).join(User).order_by(Assistant.name, Assistant.id))


def _page(status: int = 200, **context: Any) -> Any:
    values = {
        "assistants": _assistants(),
        "reports": None,
        "file_error": None,
        "export_error": None,
        "filename": None,
        **context,
    }
    if context.get("reports") is not None or context.get("file_error"):
        values["oob_export"] = is_fragment_request() and context.get("reports") is not None
        return render_page_or_fragment(PAGE, REPORT, **values), status
    return render_template(PAGE, **values), status


@bp.url_value_preprocessor
def _import_body_limit(endpoint: str | None, _values: Any) -> None:
    """This route's own limit (DESIGN §8: imports ≤ 10 MiB), set before the CSRF check reads the
    form: url_value_preprocessors run before every before_request function."""
    if endpoint == "admin.import_file":
        request.max_content_length = MAX_BYTES + MULTIPART_SLACK


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Any:
    """Above the limit the CSRF check stops the request before any view: say what the limit is
    (no user is loaded yet, so only the message; htmx swaps it as a 422 fragment)."""
    if request.endpoint != "admin.import_file":
        return render_error(413)
    if is_fragment_request():
        fragment = render_template(REPORT, file_error=TOO_BIG, reports=None, filename=None)
        return fragment, 422
    return render_error(413, TOO_BIG)


@bp.get("/admin/interchange")
@admin_required
def interchange() -> Any:
    return _page()


def audit_import(filename: str, via: dict[str, str]) -> Any:
    """The per-assistant audit callback of ``service.import_document``."""

    def record(assistant: Assistant, report: Report) -> None:
        audit(
            "assistant.imported",
            assistant,
            f"Imported “{assistant.name}” from {filename} (pending approval)",
            source=filename,
            models=report.models,
            **via,
        )

    return record


def audit_summary(filename: str, reports: list[Report], via: dict[str, str]) -> None:
    imported = [r.assistant_id for r in reports if r.imported]
    failed = [
        {"number": r.number, "name": r.name, "errors": r.errors} for r in reports if not r.imported
    ]
    audit(
        "assistants.import",
        None,
        f"Imported {len(imported)} of {len(reports)} assistants from {filename}",
        source=filename,
        imported=imported,
        failed=failed,
        **via,
    )


@bp.post("/admin/interchange/import")
@admin_required
def import_file() -> Any:
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _page(413, file_error=TOO_BIG)
    if upload is None or not upload.filename:
        return _page(422, file_error="Choose an AI Studio JSON file to import.")
    filename = upload.filename[:200]
    raw = upload.stream.read(MAX_BYTES + 1)
    try:
        reports = service.import_document(
            raw, signed_in_user(), audit_import(filename, {"via": "web"})
        )
    except FormatError as exc:
        audit(
            "assistants.import_refused",
            None,
            f"Refused {filename}: {exc.message}",
            source=filename,
            via="web",
        )
        return _page(422, file_error=exc.message, filename=filename)
    audit_summary(filename, reports, {"via": "web"})
    status = 200 if any(r.imported for r in reports) else 422
    return _page(status, reports=reports, filename=filename)


@bp.post("/admin/interchange/export")
@admin_required
def export_file() -> Any:
    ids = [int(v) for v in request.form.getlist("assistant_ids") if v.isdigit() and len(v) < 10]
    missing = service.missing_ids(ids) if ids else []
    if not ids or missing:
        message = (
            "Tick at least one assistant to export."
            if not ids
            else (
                "Some assistants are gone (deleted meanwhile?): reload the page and choose again."
            )
        )
        return _page(422, export_error=message)
    document = service.export_document_for(ids)
    names = ", ".join(f"“{a['name']}”" for a in document["assistants"])
    audit("assistants.exported", None, f"Exported {names}"[:2000], assistant_ids=ids, via="web")
    filename = service.export_filename(len(ids))
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
