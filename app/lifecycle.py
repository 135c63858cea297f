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
from app.retention import RetentionSweeper

log = logging.getLogger(__name__)

shutting_down = threading.Event()
_pool: RunnerPool | None = None
_listener: PostgresListener | None = None
_sweeper: RetentionSweeper | None = None


def start_background(app: Any) -> None:
    global _pool, _listener, _sweeper
    if _pool is not None:
        return
    if is_postgres():
        params = dict(database.obj.connect_params)
        _listener = PostgresListener(params, database.obj.database)
        _listener.start()
    _pool = RunnerPool(RunnerSettings.from_config(app.config))
    _pool.start()
    log.info("runner.started", extra={"pool_size": _pool.settings.pool_size})
    _sweeper = RetentionSweeper(float(app.config["RETENTION_SWEEP_SECONDS"]))
    _sweeper.start()


def begin_shutdown() -> None:
    """From the SIGTERM handler: set the flag (streams close) and hand runs back right away.

    Inside gevent's signal callback a thread cannot be started (BlockingSwitchOutError), so the
    database work goes to a greenlet; `finish_shutdown` repeats it synchronously at exit.
    """
    if shutting_down.is_set():
        return
    shutting_down.set()
    if _sweeper is not None:
        _sweeper.stop()
    if _pool is None:
        return
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        gevent.spawn(_pool.stop)
    else:
        threading.Thread(target=_pool.stop, name="runner-stop", daemon=True).start()


def finish_shutdown() -> None:
    """At worker exit: make sure every lease we still hold is released (idempotent)."""
    shutting_down.set()
    if _pool is not None:
        _pool.stop()


def pool() -> RunnerPool | None:
    return _pool
