"""First run: the administrator is created, signs out and in again, and sees the catalog."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.accounts import ADMIN
from e2e.test_a11y import blocking_violations, describe

ADMIN_EMAIL = ADMIN["email"]
ADMIN_PASSWORD = ADMIN["password"]


@pytest.mark.first_run
def test_first_run_setup_sign_in_and_catalog(page: Page, live_server: dict) -> None:
    url = live_server["url"]
    if not live_server["local"] and page.goto(url + "/setup").status != 200:
        pytest.skip("local only: this server already has its administrator (needs a fresh one)")
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="Welcome to Assistant Architect")).to_be_visible()
    blocking = blocking_violations(page)  # the one page only a fresh server shows
    assert not blocking, describe(blocking)

    # The setup token from the server log is required in production.
    page.get_by_label("Setup token").fill("not-the-token")
    page.get_by_label("Your name").fill("Ada Admin")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Repeat the password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("That setup token is not right")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(ADMIN_EMAIL)  # nothing typed is lost

    page.get_by_label("Setup token").fill(live_server["setup_token"])
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Repeat the password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("Your administrator account is ready")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("don't match an active account")

    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Catalog", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Analyze and summarize")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Catalog", "My assistants", "My runs", "Admin"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()

    # Active search narrows the catalog without a page load.
    page.get_by_label("Search assistants").fill("zzz-nothing")
    expect(page.get_by_text("No assistant matches")).to_be_visible()
    page.get_by_label("Search assistants").fill("analyze")
    expect(page.get_by_role("heading", name="Analyze and summarize")).to_be_visible()
