"""Numbered Peewee migrations (migrations/NNNN_name.py), applied once even with many tasks."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any

from peewee import OperationalError
from playhouse.migrations import Migration, Runner

from app.db import database, is_postgres

log = logging.getLogger(__name__)

HISTORY_TABLE = "schema_migrations"
# Any constant: tasks starting together serialise on it, so the schema migrates once.
ADVISORY_LOCK_KEY = 734_219_001


def runner(directory: str) -> Runner:
    return Runner(database.obj, directory, table_name=HISTORY_TABLE)


def status(directory: str) -> list[Migration]:
    return runner(directory).status()


def pending(directory: str) -> list[str]:
    return [m.name for m in status(directory) if not m.applied and m.path is not None]


@contextmanager
def _migration_lock():
    if not is_postgres():
        yield
        return
    database.execute_sql("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        yield
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def upgrade(directory: str, *, wait_seconds: float = 0) -> list[str]:
    """Apply pending migrations under the advisory lock; retry while the database comes up."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            database.connect(reuse_if_open=True)
            break
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("database not ready (%s); retrying", exc)
            time.sleep(1)
    with _migration_lock():
        applied: list[str] = runner(directory).up()
    for name in applied:
        log.info("applied migration %s", name)
    return applied


def describe(migrations: list[Any]) -> list[str]:
    return [f"{'applied ' if m.applied else 'pending '} {m.name}" for m in migrations]
