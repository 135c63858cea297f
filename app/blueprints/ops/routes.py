"""Liveness and readiness for the load balancer and ops."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from app import migrate
from app.blueprints.ops import bp
from app.db import database
from app.metrics import metrics_payload
from app.models import Execution


@bp.get("/healthz")
def healthz() -> Any:
    """The process answers. Never touches the database (a slow database must not kill tasks)."""
    return jsonify(status="ok")


@bp.get("/metrics")
def metrics() -> Any:
    """Prometheus metrics of every worker of this task (multiprocess mode)."""
    token = current_app.config["METRICS_TOKEN"]
    if token and not hmac.compare_digest(
        request.headers.get("Authorization", ""), f"Bearer {token}"
    ):
        return Response("metrics need a token\n", 401, {"WWW-Authenticate": "Bearer"})
    try:
        with database.connection_context():
            queued = Execution.select().where(Execution.status == "pending").count()
    except Exception:
        queued = -1  # the database is down; the rest still scrapes
    return Response(metrics_payload(queued), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/readyz")
def readyz() -> Any:
    """The database answers and no migration is pending."""
    try:
        database.execute_sql("SELECT 1")
        waiting = migrate.pending(current_app.config["MIGRATIONS_DIR"])
    except Exception as exc:
        current_app.logger.warning("readiness: database unavailable: %s", exc)
        return jsonify(status="unavailable", database="unreachable"), 503
    if waiting:
        return jsonify(status="unavailable", database="ok", pending_migrations=waiting), 503
    return jsonify(status="ok", database="ok")
