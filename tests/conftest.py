"""Fixtures shared by every lane. `--db sqlite|postgres` picks the database for the whole run.

Each run makes its own database (a temporary SQLite file, or a fresh Postgres database created on
TEST_DATABASE_URL's server) and drops it at the end; migrations build the schema, as in production.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app import create_app
from app.config import TestConfig
from app.db import database
from app.models import ALL_MODELS, Role, User
from tests.factories import Factory
from tests.support.postgres import temporary_database

pytest_plugins = ["tests.support.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default="sqlite", choices=["sqlite", "postgres"])


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def database_url(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    with temporary_database() as url:
        yield url
        if not database.is_closed():
            database.close()
        if hasattr(database.obj, "close_all"):
            database.obj.close_all()


@pytest.fixture(scope="session")
def app(database_url: str):
    app = create_app({**_config_dict(), "DATABASE_URL": database_url})
    from app import migrate

    migrate.upgrade(app.config["MIGRATIONS_DIR"])
    yield app


def _config_dict() -> dict:
    return {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}


@pytest.fixture
def clean_tables(app) -> Iterator[None]:
    """Every test starts with empty tables (roles kept: the migration seeds them)."""
    yield
    database.connect(reuse_if_open=True)
    tables = [m for m in reversed(ALL_MODELS) if m is not Role]
    if database.obj.__class__.__name__.startswith("Pooled"):
        names = ", ".join(f'"{m._meta.table_name}"' for m in tables)
        database.execute_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        with database.atomic():
            for model in tables:
                model.delete().execute()
    database.close()


@pytest.fixture
def client(app, clean_tables):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app, clean_tables) -> Factory:
    database.connect(reuse_if_open=True)
    return Factory()


class AuthActions:
    def __init__(self, client, make: Factory) -> None:
        self.client = client
        self.make = make

    def sign_in(self, user=None, *, roles=("staff",), password: str = Factory.PASSWORD):
        if not User.administrators_exist():  # otherwise sign-in sends everyone to /setup
            self.make.user(roles=("administrator",), name="Setup Admin")
        user = user or self.make.user(roles=roles)
        response = self.client.post(
            "/sign-in", data={"email": user.email, "password": password, "csrf_token": self.csrf()}
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return user

    def csrf(self) -> str:
        """The token the pages embed, read from a rendered page as a browser would."""
        html = self.client.get("/no-such-page-csrf-probe").get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', html)
        assert match, "no csrf token in the page"
        return match.group(1)

    def post(self, url: str, data: dict | None = None, **kwargs):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf()}, **kwargs)


@pytest.fixture
def auth(client, make) -> AuthActions:
    return AuthActions(client, make)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` belong to the Postgres lane only (deselected, not skipped)."""
    if config.getoption("--db") == "postgres":
        return
    kept = [item for item in items if item.get_closest_marker("postgres") is None]
    deselected = [item for item in items if item.get_closest_marker("postgres") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    return f"database lane: {config.getoption('--db')}"
