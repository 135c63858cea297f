"""The database: one proxy, bound in the factory to SQLite (embedded) or pooled Postgres."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from typing import Any
from urllib.parse import unquote, urlparse

from peewee import AutoField, DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import parse as parse_db_url
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)
database = DatabaseProxy()


def utcnow() -> dt.datetime:
    """Naive UTC: every timestamp column stores UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(Model):
    id = AutoField()  # what Peewee would add anyway; declared so type checkers see it

    class Meta:
        database = database
        legacy_table_names = False


class PooledPostgres(PooledPostgresqlDatabase):
    """Peewee 4 checks every connection it hands out with a `SELECT 1` round trip, under the
    pool's lock: checkouts queue behind one another's round trips. Under load (bench/streaming.py:
    every flush tick, every stream read, every request checks one out) that doubled the round
    trips and serialized them. A connection returned idle within the last `RECENT` seconds is
    handed out without the ping; an older one is still pinged (a restarted server is noticed).
    """

    RECENT = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._returned: dict[int, float] = {}  # conn key → when it came back to the pool
        super().__init__(*args, **kwargs)

    def _is_closed(self, conn: Any) -> bool:
        returned = self._returned.get(self.conn_key(conn))
        if (
            not conn.closed
            and returned is not None
            and time.monotonic() - returned < self.RECENT
            and conn.get_transaction_status() == TRANSACTION_STATUS_IDLE
        ):
            return False
        return super()._is_closed(conn)

    def _close(self, conn: Any, close_conn: bool = False) -> None:
        self._returned[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)

    def _close_raw(self, conn: Any) -> None:
        self._returned.pop(self.conn_key(conn), None)
        super()._close_raw(conn)


def make_database(url: str, *, pool_size: int = 10, pool_timeout: int = 10) -> Any:
    """A Peewee database for a URL: `sqlite:///path` or `postgresql://…` (pooled)."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) or ":memory:"
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)  # instance/
        return SqliteDatabase(
            path,
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": 5000,
                "synchronous": "normal",
            },
            check_same_thread=False,
            returning_clause=True,  # UPDATE … RETURNING: claim or renew and read in one statement
        )
    if scheme in {"postgres", "postgresql"}:
        params = parse_db_url(
            url.replace("postgres://", "postgresql://", 1), unquote_password=True, unquote_user=True
        )
        name = params.pop("database")
        params.setdefault("application_name", "assistant-architect")
        return PooledPostgres(
            name,
            max_connections=pool_size,
            stale_timeout=300,
            timeout=pool_timeout,
            **params,
        )
    raise ValueError(f"Unsupported DATABASE_URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def bind_database(url: str, **kwargs: Any) -> Any:
    """Create the database for `url` and point the proxy at it."""
    db = make_database(url, **kwargs)
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, PooledPostgresqlDatabase)


def init_app(app: Any) -> None:
    bind_database(
        app.config["DATABASE_URL"],
        pool_size=app.config["DB_POOL_SIZE"],
        pool_timeout=app.config["DB_POOL_TIMEOUT"],
    )

    @app.before_request
    def _connect() -> None:
        from flask import request

        if request.blueprint != "ops":  # health checks must answer while the database is down
            try:
                database.connect(reuse_if_open=True)
            except MaxConnectionsExceeded:
                # Every pooled connection stayed busy for DB_POOL_TIMEOUT: say "busy, retry"
                # (503 + Retry-After) instead of a 500 (bench/streaming.py, overloaded machine).
                log.warning("db.pool_exhausted", extra={"path": request.path})
                raise ServiceUnavailable(
                    "The service is busy. Please try again in a few seconds.", retry_after=5
                ) from None

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()
