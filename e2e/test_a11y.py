"""Accessibility: axe-core (axe-playwright-python) on every main page — no serious or critical
violation. Pages are checked as an administrator sees them (the fullest navigation), sign-in signed
out, the run page once the run is done."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, expect

from e2e.accounts import sign_in
from e2e.pages import execution_id, expect_status

BLOCKING = {"serious", "critical"}
EXAMPLE = "Analyze and summarize"
PAGES = {
    "sign-in": "/sign-in",
    "catalog": "/catalog",
    "my assistants": "/assistants",
    "new assistant": "/assistants/new",
    "builder": "/assistants/{assistant}/edit",
    "prompt editor": "/assistants/{assistant}/prompts/new",
    "preview": "/assistants/{assistant}/preview",
    "run form": "/assistants/{assistant}/run",
    "run": "/runs/{run}",
    "run detail": "/runs/{run}/detail",
    "history": "/runs",
    "admin": "/admin",
    "admin people": "/admin/users",
    "admin models": "/admin/models",
    "profile": "/profile",
}
axe = Axe()


@pytest.fixture(scope="module")
def admin_context(browser: Browser, live_server, accounts) -> BrowserContext:
    context = browser.new_context()
    sign_in(context.new_page(), live_server["url"], accounts["admin"])
    yield context
    context.close()


@pytest.fixture(scope="module")
def ids(admin_context: BrowserContext, live_server) -> dict[str, int]:
    """The example assistant and one finished run of it."""
    page = admin_context.new_page()
    page.goto(live_server["url"] + "/catalog")
    page.get_by_role("link", name=f"Run {EXAMPLE}").click()
    assistant = int(re.search(r"/assistants/(\d+)/run", page.url).group(1))
    page.get_by_label("Your text").fill("Coral reefs shelter a quarter of all marine species.")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    expect_status(page, "Done")
    run = execution_id(page)
    page.close()
    return {"assistant": assistant, "run": run}


def blocking_violations(page) -> list[dict]:
    return [v for v in axe.run(page).response["violations"] if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"{v['impact']}: {v['id']} — {v['help']} ({len(v['nodes'])}×: {targets})")
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violation(
    name: str, browser: Browser, admin_context: BrowserContext, ids, live_server
) -> None:
    signed_out = name == "sign-in"
    context = browser.new_context() if signed_out else admin_context
    page = context.new_page()
    response = page.goto(live_server["url"] + PAGES[name].format(**ids))
    assert response is not None and response.status == 200
    blocking = blocking_violations(page)
    page.close()
    if signed_out:
        context.close()
    assert not blocking, f"{name}:\n{describe(blocking)}"


def test_the_check_itself_finds_a_planted_violation(page) -> None:
    """Guards the guard: an image without alt text and an unlabelled input are reported."""
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text">'
        "</main></body></html>"
    )
    found = {v["id"] for v in axe.run(page).response["violations"] if v["impact"] in BLOCKING}
    assert {"image-alt", "label"} <= found
