"""Running the example assistant live: streaming, reload, cancel, hostile output, no JavaScript."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.accounts import sign_in
from e2e.pages import execution_id, output, run_status, step

EXAMPLE = "Analyze and summarize"


def start_example(page: Page, url: str, text: str) -> None:
    page.goto(url + "/catalog")
    page.get_by_role("link", name=f"Run {EXAMPLE}").click()
    page.get_by_label("Your text").fill(text)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))


def test_output_grows_while_streaming_then_completes(page: Page, live_server, accounts) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    start_example(page, url, "Rainbows form when sunlight is refracted in raindrops.")
    first = output(page, 1)
    expect(step(page, 1).get_by_text("Running")).to_be_visible()
    expect(first).to_contain_text("Offline demo")
    early = len(first.inner_text())
    expect(step(page, 1).get_by_text("Running")).to_be_visible()  # still streaming
    page.wait_for_function(
        "n => document.querySelector('#step-1-output').innerText.length > n", arg=early + 20
    )
    expect(run_status(page).get_by_text("Done", exact=True)).to_be_visible(timeout=30_000)
    # Completed output is rendered Markdown: bold and a list, not raw asterisks.
    expect(output(page, 2).get_by_role("strong").first).to_have_text("Offline demo — no AI.")
    expect(output(page, 2).get_by_role("listitem").first).to_be_visible()
    expect(page.locator("#run-announcer")).to_have_text("The run is complete.")


def test_reload_mid_run_resumes(page: Page, live_server, accounts) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    start_example(page, url, "Volcanoes release gas and molten rock from deep inside the earth.")
    expect(output(page, 1)).to_contain_text("You asked me to")
    page.reload()
    # Everything so far is there at once, the run is still going, and the stream continues.
    expect(output(page, 1)).to_contain_text("You asked me to")
    expect(run_status(page).get_by_text("Running", exact=True)).to_be_visible()
    page.wait_for_function(  # the reloaded page keeps receiving: some pane grows after the reload
        """(before) => document.querySelector('#step-1-output').innerText.length
             + document.querySelector('#step-2-output').innerText.length > before""",
        arg=len(output(page, 1).inner_text()) + len(output(page, 2).inner_text()),
    )
    expect(run_status(page).get_by_text("Done", exact=True)).to_be_visible(timeout=30_000)
    expect(output(page, 2)).to_contain_text("Summarize")
    expect(output(page, 1)).to_contain_text("words received; no model was called")


def test_cancel_stops_the_run(page: Page, live_server, accounts, sql) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    start_example(page, url, "Glaciers carve valleys over thousands of years.")
    run_id = execution_id(page)
    expect(output(page, 1)).to_contain_text("You asked me to")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop").click()
    expect(run_status(page).get_by_text("Stopped", exact=True)).to_be_visible(timeout=15_000)
    expect(step(page, 2).get_by_text("Not run", exact=True)).to_be_visible()
    page.reload()  # what is stored, once the stop has settled
    partial = output(page, 1).inner_text()
    assert "You asked me to" in partial  # what was written so far is kept
    assert "words received" not in partial  # the demo's closing line never came
    if sql:
        rows = sql(
            "SELECT pr.status, pr.output_data, pr.input_data->>'processed_content', te.status "
            "FROM prompt_results pr JOIN tool_executions te ON te.id = pr.execution_id "
            "WHERE pr.execution_id = %s ORDER BY pr.step",
            run_id,
        )
        assert len(rows) == 1 and rows[0][3] == "cancelled"  # prompt 2 never started
        status, kept, sent, _ = rows[0]
        from app.chain.demo_provider import demo_answer  # the answer it would have finished

        full = demo_answer([{"role": "user", "content": sent}])
        assert status == "cancelled" and 0 < len(kept) < len(full) and full.startswith(kept)


def test_hostile_output_stays_inert(page: Page, live_server, accounts) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    hostile = (
        "<script>window.__pwned = 1</script>"
        '<img src=x onerror="window.__pwned = 2"> [go](javascript:alert(1))'
    )
    start_example(page, url, hostile)
    expect(run_status(page).get_by_text("Done", exact=True)).to_be_visible(timeout=30_000)
    expect(output(page, 1)).to_contain_text("<script>window.__pwned = 1</script>")
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator("#step-1-output img, #step-1-output script").count() == 0


def test_run_without_javascript(browser: Browser, live_server, accounts) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    start_example(page, url, "Bees pollinate flowers.")
    # No SSE without JavaScript: the page refreshes itself until the run is done.
    expect(run_status(page).get_by_text("Done", exact=True)).to_be_visible(timeout=40_000)
    expect(output(page, 1)).to_contain_text(
        "You asked me to: Analyze this: Bees pollinate flowers."
    )
    expect(output(page, 2)).to_contain_text("You asked me to: Summarize:")
    context.close()
