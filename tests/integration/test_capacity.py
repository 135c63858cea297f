"""Under load: when every pooled Postgres connection stays busy, requests are told to retry
(503 + Retry-After), never a 500 — bench/streaming.py hit this on an overloaded machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.db import database
from tests.integration.api_support import bearer


@contextmanager
def exhausted_pool() -> Iterator[None]:
    """The pool at its limit: its only connection held by another thread meanwhile."""
    pool = database.obj
    saved = pool._max_connections, pool._wait_timeout
    pool._max_connections, pool._wait_timeout = 1, 0.2
    database.close()  # this thread holds none: a request must check one out
    pool.close_idle()  # and none waits idle in the pool (it would be handed out regardless)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.connection_context():
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert holding.wait(10)
        yield
    finally:
        release.set()
        holder.join(10)
        pool._max_connections, pool._wait_timeout = saved


@pytest.mark.postgres
def test_api_says_busy_with_retry_after_when_no_connection_is_free(client, make):
    headers = bearer(make.user(roles=("staff",)), "assistants:read")
    database.close()
    assert client.get("/api/v1/assistants", headers=headers).status_code == 200

    with exhausted_pool():
        response = client.get("/api/v1/assistants", headers=headers)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/assistants", headers=headers).status_code == 200  # recovered


@pytest.mark.postgres
def test_pages_say_busy_when_no_connection_is_free(client, make):
    make.user(roles=("administrator",))  # no first-run setup redirect
    database.close()
    with exhausted_pool():
        response = client.get("/sign-in")
    assert response.status_code == 503
    assert "The service is busy" in response.get_data(as_text=True)
