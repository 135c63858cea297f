"""Errors in one place: friendly pages, the right status, a request id in the log."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        "Something was wrong with that request",
        "Please go back, reload the page and try again.",
    ),
    403: ("This page is not for your account", "Ask an administrator if you think you need it."),
    404: ("We can't find that page", "It may have moved, or the link may be mistyped."),
    405: ("That action isn't allowed here", "Please go back and try again."),
    413: ("That was too large", "Please send less text or a smaller file."),
    429: ("Too many requests", "Please wait a moment and try again."),
    500: ("Something went wrong on our side", "It has been logged. Please try again in a moment."),
    503: ("The service is busy", "Please try again in a moment."),
}


def render_error(code: int, message: str | None = None) -> tuple[str, int]:
    title, text = MESSAGES.get(code, MESSAGES[500])
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=title,
            text=message or text,
            request_id=g.get("request_id"),
        ),
        code,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_exc: CSRFError) -> Any:
        return render_error(400, "Your form expired or was sent from elsewhere. Reload and retry.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):  # routing 404/405 belong to no blueprint
            from app.blueprints.api.problems import http_problem

            return http_problem(exc)
        code = exc.code or 500
        if code < 400:
            return exc
        retry_after = getattr(exc, "retry_after", None)
        if code == 429 and retry_after is not None:  # our own limits say how long to wait
            body, status = render_error(code, exc.description)
            return body, status, {"Retry-After": dict(exc.get_headers())["Retry-After"]}
        return render_error(code)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception(
            "unhandled error on %s %s (request %s)",
            request.method,
            request.path,
            g.get("request_id"),
        )
        from app.db import database

        if not database.is_closed() and database.in_transaction():
            database.rollback()
        return render_error(InternalServerError.code)
