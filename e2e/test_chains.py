"""The ops checks as a person does them: a 1-prompt assistant built and run by its owner, the
seed's 2-prompt chain passing prompt 1's output on, and two prompts of one stage streaming side by
side. Facts are read on the pages; locally the database is checked too."""

from __future__ import annotations

from playwright.sync_api import Page, expect

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

# True while the prompt's pane has grown past `early` characters and its badge still says Running.
GROWING_WHILE_RUNNING = """([n, early]) => {
  const card = document.getElementById(`step-${n}`);
  const pane = document.getElementById(`step-${n}-output`);
  return pane.innerText.length > early && card.querySelector('.badge').innerText === 'Running';
}"""

# Both panes of a parallel stage have text while neither prompt has finished.
BOTH_GROWING = """() => [1, 2].every(n => {
  const card = document.getElementById(`step-${n}`);
  const pane = document.getElementById(`step-${n}-output`);
  return pane.innerText.trim().length > 0 && card.querySelector('.badge').innerText === 'Running';
})"""


def test_one_prompt_assistant_built_and_run_by_its_owner(
    page: Page, live_server, accounts, sql
) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    name = unique("One prompt")
    new_assistant(page, url, name)
    add_field(page, "Your text", "user_input")
    add_prompt(page, "Analyze", "Analyze this: {{user_input}}")
    expect(page.get_by_text("Draft", exact=True).first).to_be_visible()  # never submitted

    run_id = start_run(page, {"Your text": "Octopuses have three hearts and blue blood."})
    expect(step(page, 1).get_by_text("Running", exact=True)).to_be_visible()
    expect(output(page, 1)).to_contain_text("You asked me to")
    early = len(output(page, 1).inner_text())
    page.wait_for_function(GROWING_WHILE_RUNNING, arg=[1, early + 10])  # it streams
    expect_status(page, "Done")
    expect(output(page, 1)).to_contain_text(
        "You asked me to: Analyze this: Octopuses have three hearts and blue blood."
    )
    expect(output(page, 1)).to_contain_text("9 words received; no model was called.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My runs").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=str(run_id), exact=True))
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name=name)).to_be_visible()
    expect(row.get_by_text("Done", exact=True)).to_be_visible()

    if sql:
        rows = sql(
            "SELECT te.status, aa.name, te.completed_at IS NOT NULL FROM tool_executions te "
            "JOIN assistant_architects aa ON te.assistant_architect_id = aa.id WHERE te.id = %s",
            run_id,
        )
        assert rows == [("completed", name, True)]
        results = sql(
            "SELECT status, LENGTH(output_data) > 0 FROM prompt_results WHERE execution_id = %s",
            run_id,
        )
        assert results == [("completed", True)]


def test_two_prompt_chain_passes_prompt_1s_output_on(
    page: Page, live_server, accounts, sql
) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    new_assistant(page, url, unique("Seed chain"))
    add_field(page, "Your text", "user_input")
    add_prompt(page, "Analyze", "Analyze this: {{user_input}}")
    add_prompt(page, "Summarize", "Summarize: {{prompt_1_output}}")
    text = "Mangroves protect coastlines from storms and erosion."
    run_id = start_run(page, {"Your text": text})
    expect_status(page, "Done")
    expect(output(page, 2)).to_contain_text("You asked me to: Summarize: Offline demo — no AI.")

    page.get_by_role("link", name="Details").click()
    expect(page.get_by_role("heading", name=f"run {run_id} in detail", level=1)).to_be_visible()
    first = page.get_by_role("article", name="1. Analyze")
    second = page.get_by_role("article", name="2. Summarize")
    expect(first.get_by_text(f"Analyze this: {text}", exact=True)).to_be_attached()
    # What prompt 2 was sent is "Summarize: " + prompt 1's answer, word for word (raw Markdown).
    answer_1 = f"**Offline demo — no AI.** You asked me to: Analyze this: {text}"
    sent_2 = second.get_by_role("group").filter(has_text="Prompt sent to the model")
    sent_2.get_by_text("Prompt sent to the model").click()
    expect(sent_2.get_by_text("Summarize: " + answer_1)).to_be_visible()
    expect(sent_2.get_by_text("_9 words received; no model was called._")).to_be_visible()

    if sql:
        rows = sql(
            "SELECT pr.step, pr.status, pr.output_data, pr.input_data->>'processed_content' "
            "FROM prompt_results pr WHERE pr.execution_id = %s ORDER BY pr.step",
            run_id,
        )
        assert [(r[0], r[1]) for r in rows] == [(1, "completed"), (2, "completed")]
        assert rows[0][3] == f"Analyze this: {text}"
        assert rows[1][3] == f"Summarize: {rows[0][2]}"  # prompt 2 received prompt 1's output


def test_two_parallel_prompts_stream_side_by_side(page: Page, live_server, accounts, sql) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    new_assistant(page, url, unique("Side by side"))
    add_field(page, "Your text", "user_input")
    add_prompt(page, "Pros", "List the pros of: {{user_input}}")
    add_prompt(page, "Cons", "List the cons of: {{user_input}}")
    page.get_by_role("button", name="Run alongside the one above (“Cons”)").click()
    expect(page.get_by_text("Stage 1: these 2 run at the same time")).to_be_visible()

    run_id = start_run(page, {"Your text": "a four-day school week for every pupil"})
    expect(page.get_by_role("region", name="Stage 1: 2 prompts side by side")).to_be_visible()
    # Run one after the other, the second pane would stay empty until the first was done.
    page.wait_for_function(BOTH_GROWING, timeout=20_000)
    expect_status(page, "Done")
    expect(output(page, 1)).to_contain_text("List the pros of: a four-day school week")
    expect(output(page, 2)).to_contain_text("List the cons of: a four-day school week")

    if sql:
        (overlap,) = sql(
            "SELECT a.started_at < b.completed_at AND b.started_at < a.completed_at "
            "FROM prompt_results a JOIN prompt_results b ON a.execution_id = b.execution_id "
            "WHERE a.execution_id = %s AND a.step = 1 AND b.step = 2",
            run_id,
        )
        assert overlap == (True,)
