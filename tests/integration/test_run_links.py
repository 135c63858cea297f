"""Links a person needs after a run: the downloads and Details as soon as a run ends (also when the
end arrives through the stream), and the runs CSV from the builder."""

from __future__ import annotations

import pytest

from app.chain.queue import claim_next, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings

FAST = RunnerSettings(flush_interval=0.02, retry_backoff=0.01, read_timeout=2, prompt_timeout=5)


@pytest.fixture
def seed(make, fake_openai):
    model = make.model(name="Fake GPT", model_id="openai/fake-model", api_base=fake_openai.base_url)
    owner = make.user(roles=("staff",), email="owner@school.example")
    return make.assistant(
        user=owner,
        name="Essay Helper",
        status="approved",
        fields=[{"name": "user_input", "label": "Your text", "options": {"required": True}}],
        prompts=[{"name": "Analyze", "content": "Analyze this: {{user_input}}", "model": model}],
    )


def test_the_streamed_end_of_a_run_brings_its_downloads_and_details(client, auth, seed):
    execution = start_execution(seed, seed.user, {"user_input": "hello"})
    auth.sign_in(seed.user)
    running = client.get(f"/runs/{execution.id}").get_data(as_text=True)
    assert f'href="/runs/{execution.id}/detail"' not in running  # nothing to download yet
    while (claimed := claim_next(FAST)) is not None:
        run_execution(claimed.id, FAST)
    stream = client.get(f"/runs/{execution.id}/stream?after=0").get_data(as_text=True)
    assert f'href="/runs/{execution.id}/detail"' in stream
    assert f'href="/runs/{execution.id}/export.md"' in stream
    page = client.get(f"/runs/{execution.id}").get_data(as_text=True)
    assert page.count(f'href="/runs/{execution.id}/detail"') == 1


def test_the_builder_links_the_runs_csv_for_its_owner(client, auth, seed):
    auth.sign_in(seed.user)
    html = client.get(f"/assistants/{seed.id}/edit").get_data(as_text=True)
    assert f'href="/assistants/{seed.id}/runs.csv" download' in html
    assert client.get(f"/assistants/{seed.id}/runs.csv").status_code == 200
