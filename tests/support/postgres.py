"""Throwaway Postgres databases for tests, e2e and benchmarks: created fresh, always dropped."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from psycopg2 import sql

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER)


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def temporary_database(prefix: str = "aa_test", server: str | None = None) -> Iterator[str]:
    """Yield the URL of a new empty database; drop it (even with open connections) afterwards."""
    server = server or server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(_with_database(server, "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield _with_database(server, name)
        finally:
            with admin.cursor() as cur:
                cur.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    finally:
        admin.close()
