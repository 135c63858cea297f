"""Invalid assistants test-run by their owner fail at once, with a message that names the prompt
and the problem, and no model is called (DESIGN §3: an unknown variable; an inactive model)."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from e2e.accounts import sign_in
from e2e.pages import (
    add_field,
    add_model,
    add_prompt,
    deactivate_model,
    expect_status,
    new_assistant,
    run_status,
    start_run,
    step,
    unique,
)


def expect_failed_before_any_prompt(page: Page, run_id: int, message: str, sql) -> None:
    expect_status(page, "Failed")
    expect(run_status(page).get_by_role("alert")).to_contain_text(message)
    expect(step(page, 1).get_by_text("Not run", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My runs").click()
    page.get_by_label("Status").select_option(label="Failed")
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=str(run_id), exact=True))
    expect(row.get_by_text(message)).to_be_visible()  # the failed view shows the error
    if sql:
        rows = sql("SELECT status, error_message FROM tool_executions WHERE id = %s", run_id)
        assert rows[0][0] == "failed" and message in rows[0][1]
        assert sql("SELECT COUNT(*) FROM prompt_results WHERE execution_id = %s", run_id) == [(0,)]


def test_an_unknown_variable_fails_the_run_with_its_message(
    page: Page, live_server, accounts, sql
) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    new_assistant(page, url, unique("Typo"))
    add_field(page, "Your text", "user_input")
    add_prompt(page, "Analyze", "Analyze this: {{user_inptu}}")  # saved: drafts may be unfinished
    expect(page.get_by_role("heading", name="Prompt 1: Analyze 1 problem")).to_be_visible()
    run_id = start_run(page, {"Your text": "Anything at all."})
    expect_failed_before_any_prompt(
        page,
        run_id,
        "there is no input field or earlier prompt called “user_inptu”. Did you mean "
        "{{user_input}}?",
        sql,
    )


def test_an_inactive_model_fails_the_run_with_its_message(
    browser: Browser, page: Page, live_server, accounts, sql
) -> None:
    url = live_server["url"]
    model = unique("Spare model")
    admin = browser.new_context().new_page()
    sign_in(admin, url, accounts["admin"])
    # Never called: the run must fail before reaching it.
    add_model(admin, url, model, f"openai/{model.split()[-1]}", "http://127.0.0.1:9/v1")

    sign_in(page, url, accounts["staff"])
    new_assistant(page, url, unique("Retired model"))
    add_field(page, "Your text", "user_input")
    add_prompt(page, "Analyze", "Analyze this: {{user_input}}", model=model)

    deactivate_model(admin, url, model)
    admin.context.close()

    page.reload()
    expect(page.get_by_role("heading", name="Prompt 1: Analyze 1 problem")).to_be_visible()
    run_id = start_run(page, {"Your text": "Anything at all."})
    expect_failed_before_any_prompt(
        page, run_id, f"uses the model “{model}”, which is turned off", sql
    )
