"""The builder in a browser: the seed's 2-prompt chain built by hand, live lint, renames that
follow, and the same pages with JavaScript off."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from e2e.accounts import sign_in
from e2e.pages import section


def new_assistant(page: Page, url: str, name: str) -> None:
    page.goto(url + "/assistants")
    page.get_by_role("link", name="New assistant").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("Analyzes a text, then summarizes the analysis.")
    page.get_by_label("Book").check()
    page.get_by_role("button", name="Create assistant").click()
    expect(page.get_by_text(f"“{name}” is created")).to_be_visible()
    page.wait_for_load_state()  # htmx answered HX-Redirect: let the new page's scripts start


def add_text_field(page: Page) -> None:
    fields = section(page, "Input fields")
    fields.get_by_label("Label").fill("Your text")
    fields.get_by_label("Name (variable)").press_sequentially("user_input")
    expect(fields.get_by_text("Prompts will use it as {{user_input}}")).to_be_visible()
    fields.get_by_label("Type").select_option(label="Long text")
    fields.get_by_role("button", name="Add field").click()
    expect(fields.get_by_text("Use it in a prompt as {{user_input}}")).to_be_visible()
    expect(fields.get_by_role("heading", name="Your text")).to_be_visible()


def add_prompt(page: Page, name: str, text: str, variable: str) -> None:
    """Types `text`, then inserts `variable` from the palette at the cursor."""
    section(page, "Prompts").get_by_role("link", name="Add a prompt").click()
    page.wait_for_load_state()
    page.get_by_label("Name").fill(name)
    content = page.get_by_label("Prompt", exact=True)
    content.press_sequentially(text)
    page.get_by_role("button", name=f"Insert {variable}").click()
    expect(content).to_have_value(text + variable)
    expect(page.locator("#prompt-lint").get_by_text("No problems found.")).to_be_visible()
    page.get_by_role("button", name="Add prompt").click()
    expect(page.get_by_text(f"Added the prompt “{name}”.")).to_be_visible()
    page.wait_for_load_state()


def test_build_the_seed_chain_and_preview_it(page: Page, live_server, accounts) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    name = f"Seed chain {uuid.uuid4().hex[:6]}"
    new_assistant(page, url, name)
    add_text_field(page)
    add_prompt(page, "Analyze", "Analyze this: ", "{{user_input}}")
    add_prompt(page, "Summarize", "Summarize: ", "{{prompt_1_output}}")
    prompts = section(page, "Prompts")
    expect(prompts.get_by_text("Analyze this: {{user_input}}")).to_be_visible()
    expect(prompts.get_by_text("Summarize: {{prompt_1_output}}")).to_be_visible()

    page.get_by_role("link", name="Open preview").click()
    expect(page.get_by_role("heading", name="Preview", level=1)).to_be_visible()
    page.get_by_label("Your text").fill("Rainbows form when sunlight meets raindrops.")
    page.get_by_role("button", name="Show what the models receive").click()
    results = page.locator("#preview-results")
    expect(results.get_by_text("Analyze this: Rainbows form when sunlight")).to_be_visible()
    expect(results.get_by_text("Summarize: «output of Analyze»")).to_be_visible()

    page.goto(url + "/assistants")
    page.get_by_label("Search my assistants").fill(name)
    expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()


def test_live_lint_and_a_rename_that_follows(page: Page, live_server, accounts) -> None:
    url = live_server["url"]
    sign_in(page, url, accounts["staff"])
    new_assistant(page, url, f"Rename check {uuid.uuid4().hex[:6]}")
    add_text_field(page)
    add_prompt(page, "Analyze", "Analyze this: ", "{{user_input}}")
    add_prompt(page, "Summarize", "Summarize: ", "{{analyze}}")

    page.get_by_role("link", name="Edit the prompt “Analyze”").click()
    page.wait_for_load_state()
    content = page.get_by_label("Prompt", exact=True)
    content.press("End")
    content.press_sequentially(" and {{prompt_2_output}}")
    lint = page.locator("#prompt-lint")
    expect(
        lint.get_by_text(re.compile(r"uses \{\{prompt_2_output\}\}, but prompt “Summarize”"))
    ).to_be_visible()
    expect(lint.locator("mark")).to_have_text("{{prompt_2_output}}")

    content.fill("Analyze this: {{user_input}}")
    page.get_by_label("Name").fill("Analyze input")
    page.get_by_role("button", name="Save prompt").click()
    expect(page.get_by_text("In “Summarize”: {{analyze}} → {{analyze-input}}")).to_be_visible()
    expect(section(page, "Prompts").get_by_text("Summarize: {{analyze-input}}")).to_be_visible()
    page.get_by_role("link", name="Edit the prompt “Summarize”").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("Summarize: {{analyze-input}}")


def test_the_builder_without_javascript(browser: Browser, live_server, accounts) -> None:
    url = live_server["url"]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, url, accounts["staff"])
    new_assistant(page, url, f"No script {uuid.uuid4().hex[:6]}")

    fields = section(page, "Input fields")
    fields.get_by_label("Label").fill("Your text")
    fields.get_by_label("Name (variable)").fill("BAD NAME")
    fields.get_by_role("button", name="Add field").click()
    expect(section(page, "Input fields").get_by_text("Use 1 to 24 lowercase")).to_be_visible()
    expect(section(page, "Input fields").get_by_label("Label")).to_have_value("Your text")
    section(page, "Input fields").get_by_label("Name (variable)").fill("user_input")
    section(page, "Input fields").get_by_role("button", name="Add field").click()
    expect(page.get_by_text("Added the field “Your text”")).to_be_visible()

    section(page, "Prompts").get_by_role("link", name="Add a prompt").click()
    page.get_by_label("Name").fill("Analyze")
    page.get_by_label("Prompt", exact=True).fill("Analyze this: {{user_inptu}}")
    page.get_by_role("button", name="Check for problems").click()
    expect(page.get_by_text("Did you mean {{user_input}}?")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("Analyze this: {{user_input}}")
    page.get_by_role("button", name="Add prompt").click()
    expect(page.get_by_text("Added the prompt “Analyze”.")).to_be_visible()

    section(page, "Prompts").get_by_role("link", name="Add a prompt").click()
    page.get_by_label("Name").fill("Summarize")
    page.get_by_label("Prompt", exact=True).fill("Summarize: {{prompt_1_output}}")
    page.get_by_role("button", name="Add prompt").click()

    page.get_by_role("button", name="Delete the prompt “Analyze”").click()
    expect(page.get_by_text("Other prompts use “Analyze”")).to_be_visible()
    page.get_by_role("link", name="Keep it").click()
    page.get_by_role("button", name="Move “Summarize” up").click()
    expect(page.get_by_text("{{prompt_1_output}} → {{prompt_2_output}}")).to_be_visible()

    section(page, "Preview").get_by_label("Your text").fill("Tides")
    page.get_by_role("button", name="Show what the models receive").click()
    expect(page.get_by_text("Analyze this: Tides")).to_be_visible()
    context.close()
