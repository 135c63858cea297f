"""Background work of a serving process: the runner pool and the Postgres doorbell listener.

Started once per worker process (wsgi.py), never by the CLI or the tests' app. On SIGTERM the
process stops claiming, hands its runs back (leases released) and tells open streams to close so
their clients reconnect to another process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from app.chain.doorbell import PostgresListener
from app.chain.pool import RunnerPool
from app.chain.settings import RunnerSettings
from app.db import database, is_postgres

log = logging.getLogger(__name__)

shutting_down = threading.Event()
_pool: RunnerPool | None = None
_listener: PostgresListener | None = None


def start_background(app: Any) -> None:
    global _pool, _listener
    if _pool is not None:
        return
    if is_postgres():
        params = dict(database.obj.connect_params)
        _listener = PostgresListener(params, database.obj.database)
        _listener.start()
    _pool = RunnerPool(RunnerSettings.from_config(app.config))
    _pool.start()
    log.info("runner.started", extra={"pool_size": _pool.settings.pool_size})


def begin_shutdown() -> None:
    """Signal-handler safe: set the flag, do the database work in its own thread."""
    if shutting_down.is_set():
        return
    shutting_down.set()
    if _pool is not None:
        threading.Thread(target=_pool.stop, name="runner-stop", daemon=True).start()


def pool() -> RunnerPool | None:
    return _pool
