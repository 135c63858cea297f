"""Run-form limits (DESIGN §8): text inputs up to 150 KiB of UTF-8 run; one byte more is refused
with a clear message and nothing typed is lost."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.accounts import sign_in
from e2e.pages import expect_status, output

LIMIT = 150 * 1024
EXAMPLE = "Analyze and summarize"


def test_an_input_over_150_kib_is_refused_and_one_at_the_limit_runs(
    page: Page, live_server, accounts
) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    page.goto(url + "/catalog")
    page.get_by_role("link", name=f"Run {EXAMPLE}").click()
    form_url = page.url
    box = page.get_by_label("Your text")

    # "é" is 2 bytes: the limit counts UTF-8 bytes, not characters.
    too_long = "é" * (LIMIT // 2) + "x"
    box.fill(too_long)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(
        page.get_by_text("Your answers are too long: 151 KiB of text, and the limit is 150 KiB.")
    ).to_be_visible()
    expect(page).to_have_url(form_url)
    assert len(page.get_by_label("Your text").input_value()) == len(too_long)  # nothing lost

    at_limit = "word " * (LIMIT // 5)
    assert len(at_limit.encode()) == LIMIT
    page.get_by_label("Your text").fill(at_limit)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    expect_status(page, "Done")
    expect(output(page, 1)).to_contain_text("You asked me to: Analyze this: word word")
    expect(output(page, 1)).to_contain_text(f"{LIMIT // 5 + 2} words received")
