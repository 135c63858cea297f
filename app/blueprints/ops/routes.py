"""Liveness and readiness for the load balancer and ops."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from app import migrate
from app.blueprints.ops import bp
from app.db import database


@bp.get("/healthz")
def healthz() -> Any:
    """The process answers. Never touches the database (a slow database must not kill tasks)."""
    return jsonify(status="ok")


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
