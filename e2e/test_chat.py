"""Follow-up chat on a finished run: ask, watch the answer stream, reload, it is still there."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.accounts import sign_in

EXAMPLE = "Analyze and summarize"


def finished_run(page: Page, url: str, text: str) -> None:
    page.goto(url + "/catalog")
    page.get_by_role("link", name=f"Run {EXAMPLE}").click()
    page.get_by_label("Your text").fill(text)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    expect(page.locator("#run-status").get_by_text("Done", exact=True)).to_be_visible(
        timeout=30_000
    )


def test_follow_up_streams_and_is_kept(page: Page, live_server, accounts) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    finished_run(page, url, "Photosynthesis turns light, water and carbon dioxide into sugar.")
    # The chat appears when the run completes, without a reload.
    question = page.get_by_label("Your question")
    expect(question).to_be_visible()
    question.fill("Which gas do plants release while doing this?")
    page.get_by_role("button", name="Ask", exact=True).click()
    answer = page.locator(".chat-msg--answer").last
    output = answer.locator(".output")
    expect(output).to_contain_text("Offline demo", timeout=15_000)
    early = len(output.inner_text())
    expect(answer).to_have_attribute("aria-busy", "true")  # still streaming
    page.wait_for_function(
        "n => document.querySelector('.chat-msg--answer:last-child .output').innerText.length > n",
        arg=early + 20,
    )
    expect(answer).to_have_attribute("aria-busy", "false", timeout=30_000)
    expect(answer.locator(".output strong").first).to_have_text("Offline demo — no AI.")
    expect(answer).to_contain_text("tokens")
    expect(page.locator("#run-announcer")).to_have_text("The answer is ready.")
    # A second question while none is open; then reload: the conversation is kept.
    question.fill("And where does the sugar go?")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator(".chat-msg--answer")).to_have_count(2)
    expect(page.locator(".chat-msg--answer").last).to_have_attribute(
        "aria-busy", "false", timeout=30_000
    )
    page.reload()
    expect(page.locator(".chat-msg--question")).to_have_count(2)
    expect(page.locator(".chat-msg--question").first).to_contain_text("Which gas")
    expect(page.locator(".chat-msg--answer").first.locator(".output")).to_contain_text(
        "You asked me to: Which gas do plants release while doing this?"
    )
    expect(page.locator(".chat-msg--answer").last.locator(".output")).to_contain_text(
        "And where does the sugar go?"
    )


def test_follow_up_without_javascript(browser: Browser, live_server, accounts) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    finished_run(page, url, "Bees pollinate flowers.")
    page.get_by_label("Your question").fill("Why do bees visit flowers?")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/\d+#run-chat$"))
    # The page refreshes itself until the answer is written.
    expect(page.locator(".chat-msg--answer .output strong").first).to_have_text(
        "Offline demo — no AI.", timeout=40_000
    )
    context.close()
