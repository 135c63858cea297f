"""Every error under /api/ answers RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, g, json, request
from werkzeug.exceptions import HTTPException, InternalServerError, UnprocessableEntity
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"
API_PREFIX = "/api/"
# Our own problem types (URNs: stable identifiers, nothing to fetch); the rest are about:blank.
PROBLEM_TYPES = {
    401: "urn:assistant-architect:problem:unauthorized",
    403: "urn:assistant-architect:problem:insufficient-scope",
    422: "urn:assistant-architect:problem:validation",
}
DETAILS = {
    400: "The request could not be understood.",
    404: "There is nothing here, or it is not yours to see.",
    405: "This method is not allowed on this resource.",
    413: "The request body is larger than 1 MiB.",
    429: "Too many requests: slow down and retry after the time in Retry-After.",
    500: "Something went wrong on our side. It has been logged with the request id.",
}


class ValidationProblem(UnprocessableEntity):
    """422 with a message per field: `errors: {field: message}`."""

    def __init__(self, errors: dict[str, str], detail: str | None = None) -> None:
        super().__init__(detail or "Some inputs are not valid; see `errors`.")
        self.errors = errors


def is_api_path() -> bool:
    return request.path.startswith(API_PREFIX)


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: dict[str, str] | None = None,
    headers: list[tuple[str, str]] | None = None,
    type_: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": type_ or PROBLEM_TYPES.get(status, "about:blank"),
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or DETAILS.get(status) or HTTP_STATUS_CODES.get(status, "Error"),
        "instance": request.path,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})  # members of a specific problem type (RFC 9457 §3.2)
    if g.get("request_id"):
        body["request_id"] = g.request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in headers or []:
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def http_problem(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = exc.description if _own_description(exc) else None
    errors = exc.errors if isinstance(exc, ValidationProblem) else None
    return problem(status, detail, errors=errors, headers=exc.get_headers())


def _own_description(exc: HTTPException) -> bool:
    """Ours (abort("…")) rather than werkzeug's generic HTML-minded default text."""
    default = type(exc).description
    return bool(exc.description) and exc.description != default


def unexpected_problem(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return http_problem(exc)
    log.exception("unhandled API error on %s %s", request.method, request.path)
    from app.db import database

    if not database.is_closed() and database.in_transaction():
        database.rollback()
    return problem(InternalServerError.code)


def install(bp: Blueprint) -> None:
    bp.register_error_handler(HTTPException, http_problem)
    bp.register_error_handler(Exception, unexpected_problem)
