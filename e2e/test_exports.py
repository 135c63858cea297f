"""The runs CSV: the owner downloads it from the builder and it holds each prompt's output."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page

from e2e.accounts import sign_in
from e2e.pages import add_field, add_prompt, expect_status, new_assistant, start_run, unique


def test_the_runs_csv_downloads_and_holds_the_outputs(page: Page, live_server, accounts) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    name = unique("CSV check")
    assistant = new_assistant(page, url, name)
    add_field(page, "Your text", "user_input")
    add_prompt(page, "Analyze", "Analyze this: {{user_input}}")
    add_prompt(page, "Summarize", "Summarize: {{prompt_1_output}}")
    run_id = start_run(page, {"Your text": "Comets are icy bodies that grow tails near the sun."})
    expect_status(page, "Done")
    page.get_by_role("link", name="JSON").wait_for()  # the run's downloads appear when it ends

    page.goto(f"{url}/assistants/{assistant}/edit")
    with page.expect_download() as info:
        page.get_by_role("link", name="Runs as CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["run id"] for row in rows] == [str(run_id)]
    row = rows[0]
    assert row["status"] == "completed"
    assert row["user email"] == accounts["staff"]["email"]
    assert row["user_input"] == "Comets are icy bodies that grow tails near the sun."
    assert row["Analyze"].startswith(
        "**Offline demo — no AI.** You asked me to: Analyze this: Comets are icy bodies"
    )
    assert row["Summarize"].startswith(
        "**Offline demo — no AI.** You asked me to: Summarize: **Offline demo — no AI.**"
    )
    assert row["Analyze"].endswith("_12 words received; no model was called._")
