"""Steps a person takes on the pages, shared by the flows (roles, labels and text only).

The one exception: a prompt's output pane is found by its id (`#step-N-output`), because it has no
accessible name of its own and the tests measure how it grows while streaming.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, expect

RUN_TIMEOUT = 30_000  # ms: the slowest run in the suite is a few seconds at the demo's speed


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def section(page: Page, name: str) -> Locator:
    """A named region of a page, such as the builder's "Input fields", "Prompts", "Preview"."""
    return page.get_by_role("region", name=name, exact=True)


def run_status(page: Page) -> Locator:
    return page.get_by_role("region", name="Run status")


def step(page: Page, number: int) -> Locator:
    """A prompt's card on the run page: the article named "N. <prompt name>"."""
    return page.get_by_role("article", name=re.compile(rf"^{number}\. "))


def output(page: Page, number: int) -> Locator:
    return page.locator(f"#step-{number}-output")


def expect_status(page: Page, label: str, timeout: int = RUN_TIMEOUT) -> None:
    expect(run_status(page).get_by_text(label, exact=True)).to_be_visible(timeout=timeout)


def assistant_id(page: Page) -> int:
    match = re.search(r"/assistants/(\d+)", page.url)
    assert match, f"not on an assistant's page: {page.url}"
    return int(match.group(1))


def execution_id(page: Page) -> int:
    match = re.search(r"/runs/(\d+)", page.url)
    assert match, f"not on a run's page: {page.url}"
    return int(match.group(1))


def new_assistant(page: Page, url: str, name: str, description: str = "An e2e check.") -> int:
    """Creates a draft from My assistants; leaves the browser on its editor. Returns its id."""
    page.goto(url + "/assistants")
    page.get_by_role("link", name="New assistant").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Book").check()
    page.get_by_role("button", name="Create assistant").click()
    expect(page.get_by_text(f"“{name}” is created")).to_be_visible()
    page.wait_for_load_state()
    return assistant_id(page)


def add_field(page: Page, label: str, name: str, kind: str = "Long text") -> None:
    fields = section(page, "Input fields")
    fields.get_by_label("Label").fill(label)
    fields.get_by_label("Name (variable)").fill(name)
    fields.get_by_label("Type").select_option(label=kind)
    fields.get_by_role("button", name="Add field").click()
    expect(page.get_by_text(f"Added the field “{label}”")).to_be_visible()
    page.wait_for_load_state()


def add_prompt(page: Page, name: str, text: str, model: str | None = None) -> None:
    """From the editor: Add a prompt, fill it in, save; back on the editor."""
    page.get_by_role("link", name="Add a prompt").click()
    page.wait_for_load_state()
    page.get_by_label("Name").fill(name)
    if model is not None:
        page.get_by_label("Model", exact=True).select_option(label=model)
    page.get_by_label("Prompt", exact=True).fill(text)
    page.get_by_role("button", name="Add prompt").click()
    expect(page.get_by_text(f"Added the prompt “{name}”.")).to_be_visible()
    page.wait_for_load_state()


def start_run(page: Page, values: dict[str, str]) -> int:
    """From the editor ("Run it") or the run form: fill the labelled inputs, Run. Returns its id."""
    if not page.get_by_role("button", name="Run", exact=True).count():
        page.get_by_role("link", name="Run it").click()
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    return execution_id(page)


def add_model(page: Page, url: str, name: str, model_id: str, endpoint: str) -> None:
    """As an administrator: a model on an OpenAI-compatible server, from the Models page."""
    page.goto(url + "/admin/models/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Model name (as litellm writes it)").fill(model_id)
    page.get_by_label("Provider").select_option("openai-compatible")
    page.get_by_label("Endpoint address").fill(endpoint)
    page.get_by_role("button", name="Add model").click()
    expect(page.get_by_role("row").filter(has_text=model_id)).to_be_visible()


def deactivate_model(page: Page, url: str, name: str) -> None:
    page.goto(url + "/admin/models")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
    row.get_by_role("link", name="Deactivate…").click()
    page.get_by_role("button", name="Deactivate", exact=True).click()
    expect(row.get_by_text("Inactive", exact=True)).to_be_visible()
