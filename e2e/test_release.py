"""From an author's draft to a colleague's run, as QA checks a release: an assistant built by one
person, submitted, approved by an administrator and run by a staff member from their catalog; and
an AI Studio file imported, approved and run. Each step is read on the pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.accounts import sign_in
from e2e.pages import (
    add_field,
    add_prompt,
    expect_status,
    new_assistant,
    output,
    step,
    unique,
)

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "aistudio"


@pytest.fixture
def admin_and_staff(browser: Browser, live_server, accounts):
    """An administrator and a staff member, each in their own browser session."""
    url = live_server["url"]
    pages = {}
    for role in ("admin", "staff"):
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, url, accounts[role])
        pages[role] = page
    yield pages
    for page in pages.values():
        page.context.close()


def approve(admin: Page, url: str, name: str) -> None:
    admin.goto(url + "/admin/approvals")
    card = admin.locator("article", has=admin.get_by_role("heading", name=name, level=2))
    expect(card.get_by_text("No problems found.")).to_be_visible()
    card.get_by_role("button", name=f"Approve {name}").click()
    expect(
        admin.get_by_text(re.compile(rf"Approved “{re.escape(name)}” \(version \d+\)"))
    ).to_be_visible()


def run_from_catalog(page: Page, url: str, name: str, values: dict[str, str]) -> None:
    page.goto(url + "/catalog")
    page.get_by_label("Search assistants").fill(name)
    page.locator("#catalog-results").get_by_role("link", name=f"Run {name}").click()
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))


def test_built_submitted_approved_and_run_by_staff(admin_and_staff: dict, live_server) -> None:
    url = live_server["url"]
    admin, staff = admin_and_staff["admin"], admin_and_staff["staff"]
    name = unique("Released")

    # An administrator builds the seed's 1-prompt assistant and submits it.
    new_assistant(admin, url, name, description="Analyzes a text.")
    add_field(admin, "Your text", "user_input")
    add_prompt(admin, "Analyze", "Analyze this: {{user_input}}")
    panel = admin.locator("#lifecycle")
    panel.get_by_role("button", name="Submit for approval").click()
    expect(admin.get_by_text("Submitted for approval as version 1.")).to_be_visible()

    # Not in a staff member's catalog while it waits.
    staff.goto(url + "/catalog")
    expect(staff.get_by_role("heading", name=name)).to_have_count(0)

    approve(admin, url, name)

    # Staff find it, run it, and watch the answer stream in.
    run_from_catalog(staff, url, name, {"Your text": "Tides follow the moon."})
    run_id = int(staff.url.rsplit("/", 1)[1])
    expect(step(staff, 1).get_by_text("Running", exact=True)).to_be_visible()
    expect(output(staff, 1)).to_contain_text("You asked me to")
    expect_status(staff, "Done")
    expect(output(staff, 1)).to_contain_text(
        "You asked me to: Analyze this: Tides follow the moon."
    )

    staff.get_by_role("navigation", name="Main").get_by_role("link", name="My runs").click()
    row = staff.get_by_role("row").filter(
        has=staff.get_by_role("link", name=str(run_id), exact=True)
    )
    expect(row.get_by_role("link", name=name)).to_be_visible()
    expect(row.get_by_text("Done", exact=True)).to_be_visible()


def test_an_ai_studio_file_imported_approved_and_run(admin_and_staff: dict, live_server) -> None:
    url = live_server["url"]
    admin, staff = admin_and_staff["admin"], admin_and_staff["staff"]
    name = "Parent Email Polisher"

    admin.goto(url + "/admin/interchange")
    admin.get_by_label("JSON file").set_input_files(FIXTURES / "single_prompt.json")
    admin.get_by_role("button", name="Import", exact=True).click()
    report = admin.locator("#import-report")
    expect(report.get_by_text("1 of 1 assistant imported, pending approval.")).to_be_visible()
    link = report.locator("article", has_text=name).get_by_role("link", name="assistant")
    imported_id = int(re.search(r"/assistants/(\d+)", link.get_attribute("href") or "")[1])

    # The queue may hold other imports of this same file: this one is found by its id.
    admin.goto(url + "/admin/approvals")
    card = admin.locator(f"#approval-{imported_id}")
    expect(card.get_by_text("No problems found.")).to_be_visible()
    card.get_by_role("button", name=f"Approve {name}").click()
    expect(admin.get_by_text(re.compile(rf"Approved “{name}”"))).to_be_visible()

    staff.goto(url + f"/assistants/{imported_id}/run")
    staff.get_by_label("Your draft email", exact=True).fill("hi, your kid was late again")
    staff.get_by_role("button", name="Run", exact=True).click()
    expect(staff).to_have_url(re.compile(r"/runs/\d+$"))
    expect_status(staff, "Done")
    expect(output(staff, 1)).to_contain_text("hi, your kid was late again")
