"""The e2e suite: real gunicorn + gevent server on a free port, fresh Postgres, Debian's Chromium.

With BASE_URL set, the same tests run against a deployed server instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from e2e import server  # noqa: E402
from e2e.accounts import ADMIN, STAFF, STUDENT, add_person, first_run, sign_in  # noqa: E402
from tests.support.postgres import temporary_database  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "e2e" / "artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def live_server() -> Iterator[dict]:
    """{"url": …, "local": bool, "setup_token": …} for the server under test."""
    if os.environ.get("BASE_URL"):
        yield {
            "url": os.environ["BASE_URL"].rstrip("/"),
            "local": False,
            "setup_token": os.environ.get("SETUP_TOKEN"),
        }
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with temporary_database("aa_e2e") as database_url:
        port = server.free_port()
        env = server.server_env(database_url, port)
        server.prepare_database(env)
        process = server.start(env, ARTIFACTS / "server.log")
        url = f"http://127.0.0.1:{port}"
        try:
            server.wait_until_ready(url, process)
            from app.security import setup_token

            yield {
                "url": url,
                "local": True,
                "database_url": database_url,
                "setup_token": setup_token(server.SECRET_KEY),
            }
        finally:
            server.stop(process)


@pytest.fixture(scope="session")
def base_url(live_server: dict) -> str:
    return live_server["url"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first-run test needs a server nobody has set up yet: it goes first."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("first_run") else 1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "first_run: needs the server before any account exists")
    config.addinivalue_line(
        "markers", "local_only(reason): needs the local server (SQL, the fake provider)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """With BASE_URL, a test that needs the local server is skipped, saying why."""
    marker = item.get_closest_marker("local_only")
    if marker is not None and os.environ.get("BASE_URL"):
        reason = marker.args[0] if marker.args else "needs the local server"
        pytest.skip(f"local only: {reason}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped and os.environ.get("BASE_URL"):
        terminalreporter.section("not run against BASE_URL")
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            terminalreporter.line(f"{report.nodeid}: {reason}")


@pytest.fixture(scope="session")
def sql(live_server: dict):
    """sql(query, *params) -> rows on the local server's database; None against BASE_URL, where
    the tests check the same facts through the pages only."""
    if not live_server["local"]:
        yield None
        return
    import psycopg2

    connection = psycopg2.connect(live_server["database_url"])
    connection.autocommit = True

    def run(query: str, *params: object) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()

    yield run
    connection.close()


@pytest.fixture(scope="session")
def fake_provider(live_server: dict):
    """The fake OpenAI-compatible server on loopback (a deployed server cannot reach it)."""
    if not live_server["local"]:
        pytest.skip("local only: the fake provider listens on this machine's loopback")
    from tests.support.fake_openai import FakeOpenAIServer

    with FakeOpenAIServer(tokens=30, token_delay_ms=10) as server:
        yield server


@pytest.fixture(scope="session")
def accounts(live_server: dict, browser) -> dict:
    """An administrator, a staff member and a student, made through the pages (any server)."""
    context = browser.new_context()
    page = context.new_page()
    url = live_server["url"]
    if page.goto(url + "/setup").status == 200:
        first_run(page, live_server)
    else:
        sign_in(page, url, ADMIN)
    add_person(page, url, STAFF, "staff")
    add_person(page, url, STUDENT, "student")
    context.close()
    return {"admin": ADMIN, "staff": STAFF, "student": STUDENT}
