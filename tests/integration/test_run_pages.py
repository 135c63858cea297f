"""The run form, the live run page and its SSE stream, cancel and retry — through HTTP."""

from __future__ import annotations

import re
import threading

import pytest

from app.chain.follow import follow_events
from app.chain.queue import claim_next, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.models import Execution, PromptResult
from tests.support.fake_openai import answer_text

FAST = RunnerSettings(flush_interval=0.02, retry_backoff=0.01, read_timeout=2, prompt_timeout=5)


@pytest.fixture
def seed(make, fake_openai):
    model = make.model(name="Fake GPT", model_id="openai/fake-model", api_base=fake_openai.base_url)
    owner = make.user(roles=("staff",))
    assistant = make.assistant(
        user=owner,
        status="approved",
        fields=[{"name": "user_input", "label": "Your text", "options": {"required": True}}],
        prompts=[
            {
                "name": "Analyze",
                "content": "Analyze this: {{user_input}}",
                "model": model,
                "position": 0,
            },
            {
                "name": "Summarize",
                "content": "Summarize: {{prompt_1_output}}",
                "model": model,
                "position": 1,
            },
        ],
    )
    return assistant


def drain() -> None:
    while (claimed := claim_next(FAST)) is not None:
        run_execution(claimed.id, FAST)


def sse_events(body: str) -> list[dict]:
    events = []
    for block in body.split("\n\n"):
        fields: dict = {"data": []}
        for line in block.split("\n"):
            if line.startswith("data: "):
                fields["data"].append(line[6:])
            elif ": " in line and not line.startswith(":"):
                key, value = line.split(": ", 1)
                fields[key] = value
        if "event" in fields:
            fields["data"] = "\n".join(fields["data"])
            events.append(fields)
    return events


def test_run_form_is_generated_from_the_fields(client, auth, seed):
    auth.sign_in(seed.user)
    html = client.get(f"/assistants/{seed.id}/run").get_data(as_text=True)
    assert 'name="user_input"' in html and "Your text" in html and "<textarea" in html


def test_missing_required_input_gets_a_message_beside_it(client, auth, seed):
    auth.sign_in(seed.user)
    response = auth.post(f"/assistants/{seed.id}/run", {"user_input": "  "})
    assert response.status_code == 422
    assert "Fill in “Your text”." in response.get_data(as_text=True)
    assert Execution.select().count() == 0


def test_text_limit_at_the_limit_passes_and_above_fails(client, auth, seed):
    auth.sign_in(seed.user)
    limit = 150 * 1024
    over = auth.post(f"/assistants/{seed.id}/run", {"user_input": "é" * (limit // 2) + "x"})
    assert over.status_code == 422
    assert "too long" in over.get_data(as_text=True) and "150 KiB" in over.get_data(as_text=True)
    at = auth.post(f"/assistants/{seed.id}/run", {"user_input": "é" * (limit // 2)})
    assert at.status_code == 303
    assert Execution.select().count() == 1


def test_start_redirects_to_the_run_page_which_shows_the_result(client, auth, seed, fake_openai):
    auth.sign_in(seed.user)
    response = auth.post(f"/assistants/{seed.id}/run", {"user_input": "tides"})
    assert response.status_code == 303
    execution = Execution.get()
    assert response.headers["Location"] == f"/runs/{execution.id}"
    pending = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Queued" in pending and 'http-equiv="refresh"' in pending and "sse-connect" in pending
    drain()
    html = client.get(f"/runs/{execution.id}").get_data(as_text=True)
    assert "Done" in html and "sse-connect" not in html and 'http-equiv="refresh"' not in html
    assert "echo: Analyze this: tides" in html


def test_stream_replays_from_a_seq_and_closes_on_the_terminal_event(client, auth, seed):
    auth.sign_in(seed.user)
    execution = start_execution(seed, seed.user, {"user_input": "moons"})
    drain()
    full = sse_events(client.get(f"/runs/{execution.id}/stream").get_data(as_text=True))
    ids = [int(e["id"]) for e in full if "id" in e]
    assert ids == sorted(ids) and full[-1]["event"] == "done"
    assert any("beforeend:#step-1-output" in e["data"] for e in full)
    resumed = client.get(f"/runs/{execution.id}/stream", headers={"Last-Event-ID": str(ids[3])})
    later = [int(e["id"]) for e in sse_events(resumed.get_data(as_text=True)) if "id" in e]
    assert later[0] > ids[3] and later[-1] == ids[-1]
    assert all(i > ids[3] for i in later)


def test_stream_sends_a_first_ping_and_keepalives_while_queued(app, client, auth, seed):
    auth.sign_in(seed.user)
    execution = start_execution(seed, seed.user, {"user_input": "x"})
    app.config["SSE_KEEPALIVE_SECONDS"] = 0.05
    try:
        response = client.get(f"/runs/{execution.id}/stream")
        chunks = []
        for chunk in response.response:
            chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if sum(c.count(": ping") for c in chunks) >= 2:
                break
        response.close()
    finally:
        app.config["SSE_KEEPALIVE_SECONDS"] = 15
    assert chunks[0].startswith("retry: 2000\n: connected")
    assert any("Waiting for a free slot" in c or "Starting" in c for c in chunks)


def test_model_output_is_sanitized_markdown(client, auth, make, fake_openai):
    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    owner = make.user()
    hostile = "<script>alert(1)</script> [click](javascript:alert(2)) **bold**"
    assistant = make.assistant(
        user=owner, prompts=[{"name": "P", "content": hostile, "model": model}]
    )
    auth.sign_in(owner)
    execution = start_execution(assistant, owner, {})
    drain()
    html = client.get(f"/runs/{execution.id}").get_data(as_text=True)
    output = html[html.index('id="step-1-output"') :]
    assert "<script>alert(1)" not in output and 'href="javascript' not in output
    assert "<strong>bold</strong>" in output and "&lt;script&gt;" in output


def test_followers_never_skip_an_event_of_parallel_prompts(make, fake_openai):
    """A reader following while two prompts of one stage stream sees every seq, in order."""
    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    fake_openai.tokens = 60
    assistant = make.assistant(
        prompts=[
            {"name": "A", "content": "[[slow:3]] alpha", "model": model, "position": 0},
            {"name": "B", "content": "[[slow:2]] beta", "model": model, "position": 0},
        ]
    )
    execution = start_execution(assistant, assistant.user, {})
    seen: list = []
    reader = threading.Thread(
        target=lambda: seen.extend(e for e in follow_events(execution.id) if e)
    )
    reader.start()
    claimed = claim_next(FAST)
    run_execution(claimed.id, FAST)
    reader.join(timeout=10)
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
    for step, prompt in ((1, "alpha"), (2, "beta")):
        text = "".join(
            e.event_data["text"]
            for e in seen
            if e.event_type == "prompt-delta" and e.event_data["step"] == step
        )
        assert text == answer_text(prompt, 60)
    assert seen[-1].event_type == "execution-complete"


def test_cancel_and_retry_from_the_failed_prompt(client, auth, make, fake_openai):
    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    owner = make.user()
    assistant = make.assistant(
        user=owner,
        fields=[{"name": "user_input"}],
        prompts=[
            {"name": "First", "content": "First {{user_input}}", "model": model, "position": 0},
            {
                "name": "Second",
                "content": "Second {{prompt_1_output}}",
                "model": model,
                "position": 1,
            },
        ],
    )
    auth.sign_in(owner)
    fake_openai.script("ok", "fail:401")
    failed = start_execution(assistant, owner, {"user_input": "go"})
    drain()
    assert Execution.get_by_id(failed.id).status == "failed"
    page = client.get(f"/runs/{failed.id}").get_data(as_text=True)
    assert "Retry from this prompt" in page and "Prompt “Second” failed" in page
    response = auth.post(f"/runs/{failed.id}/retry", {"step": "2"})
    assert response.status_code == 303
    retry = Execution.get(Execution.retry_of == failed.id)
    assert response.headers["Location"] == f"/runs/{retry.id}"
    requests_before = len(fake_openai.requests)
    drain()
    done = Execution.get_by_id(retry.id)
    assert done.status == "completed" and done.retry_from_step == 2
    first, second = (
        PromptResult.select().where(PromptResult.execution == retry.id).order_by(PromptResult.step)
    )
    assert first.reused_from_id is not None and first.attempts == 0  # reused, not recomputed
    assert second.status == "completed"
    assert len(fake_openai.requests) == requests_before + 1  # only prompt 2 was called


def test_cancel_a_queued_run_from_the_page(client, auth, seed):
    auth.sign_in(seed.user)
    execution = start_execution(seed, seed.user, {"user_input": "x"})
    response = auth.post(f"/runs/{execution.id}/cancel")
    assert response.status_code == 303
    assert Execution.get_by_id(execution.id).status == "cancelled"
    assert "Stopped" in client.get(f"/runs/{execution.id}").get_data(as_text=True)


def test_other_peoples_runs_are_404(client, auth, seed, make):
    execution = start_execution(seed, seed.user, {"user_input": "x"})
    auth.sign_in(make.user())
    for url in (f"/runs/{execution.id}", f"/runs/{execution.id}/stream"):
        assert client.get(url).status_code == 404
    assert auth.post(f"/runs/{execution.id}/cancel").status_code == 404
    assert Execution.get_by_id(execution.id).status == "pending"


def test_students_cannot_run_drafts_or_staff_only_assistants(client, auth, seed, make):
    auth.sign_in(make.user(roles=("student",)))
    assert client.get(f"/assistants/{seed.id}/run").status_code == 404  # audience: staff, admins
    seed.audience = ["student"]
    seed.save()
    assert client.get(f"/assistants/{seed.id}/run").status_code == 200
    seed.status = "draft"
    seed.save()
    assert client.get(f"/assistants/{seed.id}/run").status_code == 404


def test_admin_sees_any_run(client, auth, seed, make):
    execution = start_execution(seed, seed.user, {"user_input": "x"})
    auth.sign_in(make.user(roles=("administrator",)))
    assert client.get(f"/runs/{execution.id}").status_code == 200
    assert re.search(r"Run \d+", client.get(f"/runs/{execution.id}").get_data(as_text=True))


def test_file_uploads_become_text(client, auth, make, fake_openai):
    import io

    from docx import Document

    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    owner = make.user()
    assistant = make.assistant(
        user=owner,
        fields=[
            {
                "name": "notes",
                "label": "Notes",
                "field_type": "file_upload",
                "options": {"required": True},
            },
            {
                "name": "topics",
                "label": "Topics",
                "field_type": "multi_select",
                "options": {
                    "choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
                    "max_selections": 1,
                },
            },
        ],
        prompts=[{"name": "P", "content": "Read {{notes}} on {{topics}}", "model": model}],
    )
    auth.sign_in(owner)
    document = io.BytesIO()
    doc = Document()
    doc.add_paragraph("Photosynthesis in leaves.")
    doc.save(document)
    too_many = auth.post(
        f"/assistants/{assistant.id}/run",
        {"notes": (io.BytesIO(b"x"), "notes.txt"), "topics": ["a", "b"]},
        content_type="multipart/form-data",
    )
    assert too_many.status_code == 422 and "Choose at most 1 option." in too_many.get_data(
        as_text=True
    )
    wrong_kind = auth.post(
        f"/assistants/{assistant.id}/run",
        {"notes": (io.BytesIO(b"MZ"), "tool.exe"), "topics": ["a"]},
        content_type="multipart/form-data",
    )
    assert wrong_kind.status_code == 422
    assert "This kind of file isn't accepted here" in wrong_kind.get_data(as_text=True).replace(
        "&#39;", "'"
    )
    document.seek(0)
    ok = auth.post(
        f"/assistants/{assistant.id}/run",
        {"notes": (document, "notes.docx"), "topics": ["b"]},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 303
    assert Execution.get().input_data == {"notes": "Photosynthesis in leaves.", "topics": ["b"]}


def test_huge_ids_and_nul_characters_are_refused_cleanly(client, auth, seed):
    auth.sign_in(seed.user)
    assert client.get("/runs/99999999999999999999").status_code == 404
    assert client.get("/assistants/99999999999999999999/run").status_code == 404
    response = auth.post(f"/assistants/{seed.id}/run", {"user_input": "a\x00b"})
    assert response.status_code == 422
    assert "NUL character" in response.get_data(as_text=True)
    assert Execution.select().count() == 0


def test_a_queued_run_is_told_its_place_and_when_it_moves_up(client, auth, make, fake_openai):
    """The page says how many runs are ahead; the stream sends only that line when it changes."""
    from app.chain.runner import cancel_pending

    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    owner = make.user()
    assistant = make.assistant(user=owner, prompts=[{"name": "P", "content": "x", "model": model}])
    auth.sign_in(owner)
    first, _, mine = (start_execution(assistant, owner, {}) for _ in range(3))  # nobody runs them
    page = client.get(f"/runs/{mine.id}").get_data(as_text=True)
    assert "Waiting for a free slot — 2 runs ahead of yours." in page
    response = client.get(f"/runs/{mine.id}/stream", buffered=False)
    places = []
    for chunk in response.response:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        for place in re.findall(
            r'<span id="run-queue-place" hx-swap-oob="outerHTML">(.*?)</span>', text
        ):
            places.append(place)
            if len(places) == 1:
                assert cancel_pending(first.id)  # the run ahead leaves the queue
        if len(places) == 2:
            break
    response.close()
    assert places == [
        "Waiting for a free slot — 2 runs ahead of yours.",
        "Waiting for a free slot — 1 run ahead of yours.",
    ]
