"""A failing prompt on a (fake) provider: the run fails there; "Retry from this prompt" completes.

The provider is the fake OpenAI-compatible server on loopback; an administrator adds it on the
Models page as any district would add a vLLM or Ollama server.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from e2e.accounts import sign_in
from e2e.pages import output, run_status, section, step
from e2e.test_builder import add_text_field, new_assistant


def add_fake_model(page: Page, url: str, base_url: str) -> str:
    name = f"Fake GPT {uuid.uuid4().hex[:4]}"
    page.goto(url + "/admin/models/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Model name (as litellm writes it)").fill(
        f"openai/fake-{uuid.uuid4().hex[:6]}"
    )
    page.get_by_label("Provider").select_option("openai-compatible")
    page.get_by_label("Endpoint address").fill(base_url)
    page.get_by_role("button", name=re.compile("Add model|Save")).click()
    expect(page.get_by_text(name).first).to_be_visible()
    return name


def add_prompt_with_model(page: Page, name: str, text: str, model: str) -> None:
    section(page, "Prompts").get_by_role("link", name="Add a prompt").click()
    page.wait_for_load_state()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Model", exact=True).select_option(label=model)
    page.get_by_label("Prompt", exact=True).fill(text)
    page.get_by_role("button", name="Add prompt").click()
    expect(page.get_by_text(f"Added the prompt “{name}”.")).to_be_visible()
    page.wait_for_load_state()


@pytest.mark.local_only("the failing provider is the fake one on this machine's loopback")
def test_retry_from_the_failed_prompt_completes(page: Page, live_server, accounts, fake_provider):
    url = live_server["url"]
    sign_in(page, url, accounts["admin"])
    model = add_fake_model(page, url, fake_provider.base_url)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, url, accounts["staff"])
    new_assistant(page, url, f"Retry check {uuid.uuid4().hex[:6]}")
    add_text_field(page)
    marker = f"[[fail-times:1:401]] {uuid.uuid4().hex[:6]}"  # refused once, then answered
    add_prompt_with_model(page, "Analyze", "Analyze this: {{user_input}}", model)
    add_prompt_with_model(page, "Summarize", f"Summarize {marker}: {{{{prompt_1_output}}}}", model)

    page.get_by_role("link", name=re.compile("Run it|Test run")).first.click()
    page.get_by_label("Your text").fill("Tides rise twice a day.")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(run_status(page).get_by_text("Failed", exact=True)).to_be_visible(timeout=30_000)
    expect(run_status(page)).to_contain_text("Prompt “Summarize” failed")
    expect(step(page, 1).get_by_text("Done", exact=True)).to_be_visible()
    first_output = output(page, 1).inner_text()
    failed_url = page.url

    step(page, 2).get_by_role("button", name="Retry from this prompt").click()
    expect(page).not_to_have_url(failed_url)
    expect(page.get_by_text("a retry of")).to_be_visible()
    expect(run_status(page).get_by_text("Done", exact=True)).to_be_visible(timeout=30_000)
    assert output(page, 1).inner_text() == first_output  # reused, not recomputed
    expect(output(page, 2)).to_contain_text("echo: Summarize")
