"""Who sees what, and hostile text: a student sees no drafts and no admin page; `<script>` in a
field's label, a prompt's name and a model's output stays text — nothing runs."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from e2e.accounts import sign_in
from e2e.pages import (
    add_field,
    add_prompt,
    expect_status,
    new_assistant,
    output,
    start_run,
    step,
    unique,
)


def test_a_student_sees_no_drafts_and_no_admin_page(
    browser: Browser, live_server, accounts
) -> None:
    url = live_server["url"]
    staff = browser.new_context().new_page()
    sign_in(staff, url, accounts["staff"])
    draft = unique("Staff draft")
    draft_id = new_assistant(staff, url, draft)
    add_field(staff, "Your text", "user_input")
    add_prompt(staff, "Analyze", "Analyze this: {{user_input}}")
    # The author can run their own draft: the page exists, so what the student gets is refusal.
    assert staff.goto(f"{url}/assistants/{draft_id}/run").status == 200
    staff.context.close()

    page = browser.new_context().new_page()
    sign_in(page, url, accounts["student"])
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Catalog")).to_be_visible()
    expect(nav.get_by_role("link", name="My runs")).to_be_visible()
    expect(nav.get_by_role("link", name="My assistants")).to_have_count(0)
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)

    page.get_by_label("Search assistants").fill(draft)
    expect(page.get_by_text("No assistant matches")).to_be_visible()
    expect(page.get_by_role("heading", name=draft, exact=True)).to_have_count(0)

    for path, status in (
        (f"/assistants/{draft_id}/run", 404),  # not theirs to see: as if it did not exist
        (f"/assistants/{draft_id}/edit", 403),  # authors only
        ("/assistants", 403),
        ("/admin", 403),
        ("/admin/users", 403),
        ("/admin/models", 403),
    ):
        response = page.goto(url + path)
        assert response is not None and response.status == status, path
        expect(page.get_by_text(draft)).to_have_count(0)
    expect(page.get_by_role("heading", name="This page is not for your account")).to_be_visible()
    page.context.close()


def test_script_in_a_label_a_prompt_name_and_the_output_stays_text(
    page: Page, live_server, accounts
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    label = "<script>window.__pwned = 1; alert('label')</script>Your text"
    prompt_name = "<script>alert('name')</script>"
    hostile_input = (
        "<script>window.__pwned = 4; alert('output')</script><b onmouseover=alert(5)>hi</b>"
    )

    new_assistant(page, url, unique("Hostile"))
    add_field(page, label, "user_input")
    add_prompt(page, prompt_name, "Analyze this: {{user_input}}")
    page.reload()
    expect(
        page.get_by_text(label, exact=True).first
    ).to_be_visible()  # the builder shows it as text
    expect(page.get_by_text(prompt_name).first).to_be_visible()

    start_run(page, {label: hostile_input})  # the run form's field is labelled with the raw text
    expect(step(page, 1)).to_have_accessible_name(f"1. {prompt_name}")
    expect_status(page, "Done")
    expect(output(page, 1)).to_contain_text(hostile_input)
    page.reload()  # the stored page, not only the streamed one
    expect(output(page, 1)).to_contain_text(hostile_input)
    expect(step(page, 1)).to_have_accessible_name(f"1. {prompt_name}")
    expect(output(page, 1).get_by_text("hi", exact=True)).to_have_count(0)  # no <b> element

    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert page.locator("#step-1-output script, #step-1-output img, #step-1-output b").count() == 0
