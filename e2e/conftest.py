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
        server.flask(env, "db", "upgrade")
        server.flask(env, "demo", "load")
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
