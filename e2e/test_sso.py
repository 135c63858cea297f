"""Single sign-on end to end: gunicorn + gevent in production mode, SSO only, a loopback provider.

The server under test talks real HTTP (requests, under gevent) to the OpenID Connect provider
running in this test process; the browser goes to the provider and back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from e2e import server
from e2e.conftest import ARTIFACTS
from tests.support.oidc_provider import OidcProvider
from tests.support.postgres import temporary_database


@pytest.fixture(scope="module")
def sso_server() -> Iterator[dict]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with OidcProvider() as provider, temporary_database("aa_e2e_sso") as database_url:
        port = server.free_port()
        env = server.server_env(
            database_url,
            port,
            OIDC_ISSUER=provider.issuer,
            OIDC_CLIENT_ID=provider.client_id,
            OIDC_CLIENT_SECRET=provider.client_secret,
            OIDC_PROVIDER_NAME="District account",
            OIDC_GROUPS_CLAIM="cognito:groups",
            OIDC_ROLE_MAP="teachers=staff,admins=administrator,admins=staff",
            PASSWORD_LOGIN="off",
            WEB_CONCURRENCY="1",  # a second server beside the suite's: go easy on Postgres
            DB_POOL_SIZE="3",
        )
        server.flask(env, "db", "upgrade")
        process = server.start(env, ARTIFACTS / "server-sso.log")
        url = f"http://127.0.0.1:{port}"
        try:
            server.wait_until_ready(url, process)
            yield {"url": url, "provider": provider}
        finally:
            server.stop(process)


def test_sso_only_server_first_administrator_and_group_sync(page: Page, sso_server: dict):
    url, provider = sso_server["url"], sso_server["provider"]
    # No setup page with SSO: the first administrator comes from the admins group.
    assert page.goto(url + "/setup").status == 404
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page.get_by_label("Password")).to_have_count(0)  # PASSWORD_LOGIN=off

    provider.claims["cognito:groups"] = ["teachers", "admins"]
    page.get_by_role("link", name="Sign in with District account").click()
    expect(page).to_have_url(re.compile(r"/catalog$"))
    expect(page.get_by_role("link", name="Terry Teacher")).to_be_visible()
    assert page.goto(url + "/admin/users").status == 200
    expect(page.get_by_text("From single sign-on groups: Administrator, Staff.")).to_be_visible()

    # Out of the admins group at the provider: administrator no more at the next sign-in.
    page.get_by_role("button", name="Sign out").click()
    provider.claims["cognito:groups"] = ["teachers"]
    page.get_by_role("link", name="Sign in with District account").click()
    expect(page).to_have_url(re.compile(r"/catalog$"))
    assert page.goto(url + "/admin/users").status == 403
    assert len(provider.log.token) == 2  # each sign-in exchanged its own code
