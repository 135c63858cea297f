"""Every SQL query in docs/DEPLOYMENT.md runs, read-only, on the schema our migrations build."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from app import migrate
from app.db import bind_database, database
from tests.support.postgres import temporary_database
from tests.support.seed_queries import CLASSIC_QUERIES

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "DEPLOYMENT.md"


def _normalize(sql: str) -> str:
    return " ".join(sql.split()).rstrip(";").strip()


def guide_statements() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    statements = []
    for block in blocks:
        without_comments = "\n".join(
            line for line in block.splitlines() if not line.strip().startswith("--")
        )
        statements += [s.strip() for s in without_comments.split(";") if s.strip()]
    return statements


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    previous = database.obj  # another lane's binding, put back afterwards
    with temporary_database("aa_guide") as url:
        bind_database(url, pool_size=2)
        try:
            migrate.upgrade(str(ROOT / "migrations"))
            database.close()
            database.obj.close_all()
        finally:
            database.initialize(previous)
        yield url


def test_guide_has_the_classic_queries_unchanged() -> None:
    statements = {_normalize(s) for s in guide_statements()}
    for query in CLASSIC_QUERIES:
        assert _normalize(query) in statements, query


@pytest.mark.parametrize("statement", guide_statements(), ids=lambda s: _normalize(s)[:60])
def test_guide_query_runs_read_only(database_url: str, statement: str) -> None:
    connection = psycopg2.connect(database_url)
    try:
        connection.set_session(readonly=True)  # monitoring never writes
        with connection.cursor() as cursor:
            cursor.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()
    finally:
        connection.rollback()
        connection.close()
