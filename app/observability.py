"""JSON logs and Prometheus metrics (multiprocess: every gunicorn worker writes, /metrics sums).

Logs are JSON lines on stdout with time, level, event, component "assistant-architect", and the
request id, user id and execution id when known — so one CloudWatch filter finds a run's story.
Inputs, outputs and secrets are never logged.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from app.metrics import HTTP_LATENCY

COMPONENT = "assistant-architect"


class _Context(logging.Filter):
    """Adds the request id and user id of the current request, when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(record, "request_id", None) or g.get("request_id")
            user = g.get("user")
            if user is not None and not hasattr(record, "user_id"):
                record.user_id = user.id
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={
            "asctime": "time",
            "levelname": "level",
            "message": "event",
            "name": "logger",
        },
        static_fields={"component": COMPONENT},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure_logging(level: str, json_logs: bool) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    # The server logs to stdout (the container's log stream); `flask …` commands to stderr, so
    # their own output (`--json`) stays clean.
    from_cli = os.environ.get("FLASK_RUN_FROM_CLI") == "true"
    handler = logging.StreamHandler(sys.stderr if from_cli else sys.stdout)
    handler.addFilter(_Context())
    if json_logs:
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    for noisy in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "peewee"):
        # litellm logs every call at INFO (with prompt fragments); our own events say what matters.
        logging.getLogger(noisy).setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_LEVEL"], app.config["JSON_LOGS"])

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Any) -> Any:
        started = g.get("started")
        if started is not None and request.endpoint != "ops.metrics":
            HTTP_LATENCY.labels(
                request.endpoint or "unknown", request.method, f"{response.status_code // 100}xx"
            ).observe(time.perf_counter() - started)
        return response
