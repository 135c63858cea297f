"""Import in a browser: an administrator uploads an AI Studio file, reads the report, and finds the
assistants pending approval; the same upload with JavaScript off; a broken file says why."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from e2e.accounts import sign_in

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "aistudio"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def open_import_page(page: Page, url: str) -> None:
    page.goto(url + "/admin")
    page.get_by_role("link", name="Import and export").click()
    expect(page.get_by_role("heading", name="Import and export", level=1)).to_be_visible()


def test_admin_imports_a_file_and_the_assistant_is_pending(page: Page, live_server, accounts):
    url = live_server["url"]
    sign_in(page, url, accounts["admin"])
    open_import_page(page, url)
    page.get_by_label("JSON file").set_input_files(FIXTURES / "parallel_then_synthesis.json")
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.locator("#import-report")
    expect(
        report.get_by_role("heading", name="Import report: parallel_then_synthesis.json")
    ).to_be_visible()
    expect(report.get_by_text("1 of 1 assistant imported, pending approval.")).to_be_visible()
    card = report.locator("article", has_text="Essay Feedback Panel")
    expect(card.get_by_text("Pending approval", exact=True)).to_be_visible()
    expect(
        card.get_by_text("In “Synthesis”: {{prompt_1_output}} → {{prompt_2_output}}")
    ).to_be_visible()
    expect(card.get_by_text("runs together in one stage")).to_be_visible()
    expect(card.get_by_text("No problems found.")).to_be_visible()
    assert page.url.endswith("/admin/interchange")  # htmx swapped the report in place
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "import-report.png"), full_page=True)
    card.get_by_role("link", name="assistant").click()
    expect(page.get_by_text("Grammar reviewer").first).to_be_visible()
    page.goto(url + "/assistants?q=Essay+Feedback+Panel")
    row = page.locator("tr", has_text="Essay Feedback Panel").first
    expect(row.get_by_text("Pending approval", exact=True)).to_be_visible()


def test_a_broken_file_is_refused_with_its_reason(page: Page, live_server, accounts):
    url = live_server["url"]
    sign_in(page, url, accounts["admin"])
    open_import_page(page, url)
    page.get_by_label("JSON file").set_input_files(FIXTURES / "wrong_version.json")
    page.get_by_role("button", name="Import", exact=True).click()
    alert = page.locator("#import-report").get_by_role("alert")
    expect(alert).to_contain_text("wrong_version.json was not imported.")
    expect(alert).to_contain_text('only AI Studio\'s format version "1.0" can be imported')


def test_import_works_without_javascript(browser: Browser, live_server, accounts):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    url = live_server["url"]
    try:
        sign_in(page, url, accounts["admin"])
        page.goto(url + "/admin/interchange")
        page.get_by_label("JSON file").set_input_files(FIXTURES / "single_prompt.json")
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.get_by_text("1 of 1 assistant imported, pending approval.")).to_be_visible()
        expect(page.get_by_role("heading", name="1. Parent Email Polisher")).to_be_visible()
    finally:
        context.close()
