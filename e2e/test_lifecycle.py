"""An assistant's lifecycle in a browser (issue 8): a staff member submits the seed's 2-prompt
chain, an administrator rejects it with a reason the owner then sees, the owner fixes it and
resubmits, the administrator approves it; a colleague finds it in their catalog, a student does
not (its audience has no students), and the versions page shows what changed between the two."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.accounts import add_person, sign_in
from e2e.conftest import ARTIFACTS

EXAMPLE = "Analyze and summarize"
COLLEAGUE = {
    "email": "colleague@school.example",
    "password": "a strong colleague password",
    "name": "Cleo Colleague",
}
REASON = "Ask for a summary in one line: the answers are too long for a lesson."


@pytest.fixture(scope="module")
def people(browser: Browser, live_server, accounts) -> dict:
    """The suite's accounts plus a second staff member, each in their own browser session."""
    url = live_server["url"]
    pages: dict[str, Page] = {}
    for role, who in (
        ("admin", accounts["admin"]),
        ("owner", accounts["staff"]),
        ("colleague", COLLEAGUE),
        ("student", accounts["student"]),
    ):
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        if role == "colleague":
            add_person(pages["admin"], url, COLLEAGUE, "staff")
        sign_in(page, url, who)
        pages[role] = page
    yield pages
    for page in pages.values():
        page.context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lifecycle-{name}.png"), full_page=True)


def copy_the_example(page: Page, url: str, name: str) -> None:
    page.goto(url + "/catalog")
    page.get_by_role("button", name=f"Make a copy of {EXAMPLE}").click()
    expect(page.get_by_text(f"“Copy of {EXAMPLE}” is your own draft")).to_be_visible()
    details = page.locator("#details")
    details.get_by_label("Name").fill(name)
    expect(details.get_by_label("Student")).not_to_be_checked()  # audience without students
    details.get_by_role("button", name="Save details").click()
    expect(details.get_by_text("Details saved.")).to_be_visible()
    prompts = page.locator("#prompts")
    expect(prompts.get_by_text("Analyze this: {{user_input}}")).to_be_visible()
    expect(prompts.get_by_text("Summarize: {{prompt_1_output}}")).to_be_visible()


def submit(page: Page, version: int) -> None:
    panel = page.locator("#lifecycle")
    expect(panel.get_by_text("The check finds no problems")).to_be_visible()
    panel.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text(f"Submitted for approval as version {version}.")).to_be_visible()
    expect(page.locator("#lifecycle").get_by_text("Waiting for approval")).to_be_visible()


def review(page: Page, url: str, name: str):
    page.goto(url + "/catalog")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name=re.compile("Approvals")).click()
    expect(page.get_by_role("heading", name="Approvals", level=1)).to_be_visible()
    card = page.locator("article", has=page.get_by_role("heading", name=name, level=2))
    expect(card.get_by_text("No problems found.")).to_be_visible()
    expect(card.get_by_role("link", name=f"Test run {name}")).to_be_visible()
    return card


def test_submit_reject_resubmit_approve_catalog_and_diff(people: dict, live_server) -> None:
    url = live_server["url"]
    owner, admin = people["owner"], people["admin"]
    name = f"Seed chain {uuid.uuid4().hex[:6]}"

    # The owner submits the seed's 2-prompt chain (copied from the example).
    copy_the_example(owner, url, name)
    submit(owner, 1)

    # The administrator rejects it with a reason.
    card = review(admin, url, name)
    expect(card.get_by_text("First review")).to_be_visible()
    screenshot(admin, "approval-queue")
    card.get_by_label(f"Reason for rejecting {name}").fill(REASON)
    card.get_by_role("button", name=f"Reject {name}").click()
    expect(admin.get_by_text(f"Rejected “{name}” (version 1)")).to_be_visible()

    # The owner sees the decision on the next visit, and on My assistants.
    owner.goto(url + "/assistants")
    expect(owner.get_by_text(f"“{name}” was not approved (version 1)")).to_be_visible()
    expect(owner.get_by_text(REASON).first).to_be_visible()
    row = owner.get_by_role("row", name=re.compile(re.escape(name)))
    expect(row.get_by_text("Rejected")).to_be_visible()
    expect(row.get_by_text(REASON)).to_be_visible()

    # The owner fixes the second prompt and resubmits.
    row.get_by_role("link", name=f"Edit {name}").click()
    expect(owner.locator("#lifecycle").get_by_text(REASON)).to_be_visible()
    screenshot(owner, "editor-rejected")
    owner.get_by_role("link", name="Edit the prompt “Summarize”").click()
    content = owner.get_by_label("Prompt", exact=True)
    content.fill("Summarize in one line: {{prompt_1_output}}")
    owner.get_by_role("button", name="Save prompt").click()
    expect(owner.get_by_text("Saved the prompt “Summarize”.")).to_be_visible()
    submit(owner, 2)

    # The administrator approves version 2.
    card = review(admin, url, name)
    card.get_by_role("button", name=f"Approve {name}").click()
    expect(admin.get_by_text(f"Approved “{name}” (version 2)")).to_be_visible()

    # A colleague finds it in their catalog (active search); a student does not.
    colleague = people["colleague"]
    colleague.goto(url + "/catalog")
    expect(colleague.get_by_role("heading", name=name)).to_be_visible()
    screenshot(colleague, "catalog")
    colleague.get_by_label("Search assistants").fill(name)
    results = colleague.locator("#catalog-results")
    expect(results.get_by_role("heading", name=name)).to_be_visible()
    expect(results.get_by_role("heading", name=EXAMPLE)).to_have_count(0)
    expect(results.get_by_role("link", name=f"Run {name}")).to_be_visible()
    expect(colleague).to_have_url(re.compile(r"/catalog\?q="))  # the search is in the URL
    student = people["student"]
    student.goto(url + "/catalog")
    student.get_by_label("Search assistants").fill(name)
    expect(student.get_by_text(f"No assistant matches “{name}”")).to_be_visible()

    # The owner hears about the approval, then compares the two versions side by side.
    owner.goto(url + "/assistants")
    expect(owner.get_by_text(f"“{name}” was approved (version 2)")).to_be_visible()
    owner.get_by_role("link", name=f"Edit {name}").click()
    owner.locator("#lifecycle").get_by_role("link", name=re.compile(r"Versions \(2\)")).click()
    expect(owner.get_by_role("heading", name="Versions", level=1)).to_be_visible()
    versions = owner.get_by_role("table", name=f"Versions of {name}")
    expect(versions.get_by_role("row", name=re.compile(r"^2 .*Approved"))).to_be_visible()
    expect(versions.get_by_role("row", name=re.compile(r"^1 .*Rejected"))).to_be_visible()
    diff = owner.locator("#version-diff")
    expect(diff.get_by_role("heading", name="Version 1 → Version 2")).to_be_visible()
    expect(diff.locator("ins", has_text="in one line")).to_be_visible()
    expect(diff.get_by_text("Summarize: {{prompt_1_output}}")).to_be_visible()
    screenshot(owner, "versions-diff")
    # Turn the comparison around with the selects (htmx swaps the diff in place).
    owner.get_by_label("From", exact=True).select_option(label="Version 2 — approved")
    owner.get_by_label("To", exact=True).select_option(label="Version 1 — rejected")
    expect(diff.get_by_role("heading", name="Version 2 → Version 1")).to_be_visible()
    expect(diff.locator("del", has_text="in one line")).to_be_visible()
