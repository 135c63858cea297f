"""API: import and export in AI Studio's JSON format v1.0 (administrators; `assistants:write`)."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, url_for
from marshmallow import ValidationError
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from app.api_auth import api_user, scope_required
from app.blueprints.admin.interchange import (
    MULTIPART_SLACK,
    TOO_BIG,
    audit_import,
    audit_summary,
)
from app.blueprints.api import bp
from app.blueprints.api.inputs import json_object
from app.blueprints.api.problems import ValidationProblem, problem
from app.interchange import service
from app.interchange.aistudio import MAX_BYTES, FormatError, Report
from app.schemas import flatten_messages
from app.schemas.interchange import export_request_schema, import_result_schema
from app.security import audit

WRITE = "assistants:write"


def _via_api() -> dict[str, str]:
    return {"via": "api", "token": g.api_token.prefix}


def _uploaded() -> tuple[bytes, str]:
    """The file: a JSON body, or the `file` part of multipart form data."""
    if request.content_length is not None and request.content_length > MAX_BYTES + MULTIPART_SLACK:
        raise RequestEntityTooLarge(TOO_BIG)
    request.max_content_length = MAX_BYTES + MULTIPART_SLACK
    try:
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise BadRequest("Send the file in a multipart part named `file`.")
            raw, name = upload.stream.read(MAX_BYTES + 1), (upload.filename or "upload.json")
        elif request.mimetype in ("application/json", "") or request.mimetype.endswith("+json"):
            raw, name = request.get_data(cache=False), "request body"
        else:
            raise BadRequest(
                "Send the AI Studio file as a JSON body (Content-Type: application/json) or as "
                "multipart form data with a `file` part."
            )
    except RequestEntityTooLarge:
        raise RequestEntityTooLarge(TOO_BIG) from None
    if len(raw) > MAX_BYTES:
        raise RequestEntityTooLarge(TOO_BIG)
    return raw, name[:200]


def _report(report: Report) -> dict[str, Any]:
    body = report.as_dict()
    if report.assistant_id is not None:
        body["links"] = {
            "self": url_for("api.assistant", assistant_id=report.assistant_id),
            "page": url_for("builder.edit", assistant_id=report.assistant_id),
        }
    return body


@bp.post("/assistants/import", endpoint="import_assistants")
@scope_required(WRITE)
def import_assistants() -> Any:
    raw, name = _uploaded()
    via = _via_api()
    try:
        reports = service.import_document(raw, api_user(), audit_import(name, via))
    except FormatError as exc:
        audit("assistants.import_refused", None, f"Refused {name}: {exc.message}", **via)
        return problem(422, exc.message, extra={"imported": 0, "assistants": []})
    audit_summary(name, reports, via)
    imported = sum(1 for r in reports if r.imported)
    result = {"imported": imported, "assistants": [_report(r) for r in reports]}
    if not imported:
        detail = "No assistant was imported; see each one's errors in `assistants`."
        return problem(422, detail, extra=import_result_schema.dump(result))
    return jsonify(import_result_schema.dump(result))


@bp.post("/assistants/export", endpoint="export_assistants")
@scope_required(WRITE)
def export_assistants() -> Any:
    try:
        ids = export_request_schema.load(json_object())["assistant_ids"]
    except ValidationError as err:
        raise ValidationProblem(flatten_messages(err.messages)) from None
    missing = service.missing_ids(ids)
    if missing:
        shown = ", ".join(str(i) for i in missing[:20])
        raise ValidationProblem({"assistant_ids": f"No assistant with id {shown}."})
    document = service.export_document_for(ids)
    names = ", ".join(f"“{a['name']}”" for a in document["assistants"])
    audit(
        "assistants.exported",
        None,
        f"Exported {names} (API)"[:2000],
        assistant_ids=ids,
        **_via_api(),
    )
    response = jsonify(document)
    filename = service.export_filename(len(document["assistants"]))
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
