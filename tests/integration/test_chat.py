"""Follow-up chat on a completed run: asked over HTTP, answered by the runner's claim, streamed as
events of the same execution — on a real database and over real HTTP to the fake provider."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from app.chain.chat_runner import answer_message, claim_next_answer
from app.chain.events import events_after
from app.chain.queue import claim_next, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.models import AuditEvent, Execution, ExecutionMessage
from tests.integration.test_run_pages import sse_events
from tests.support.fake_openai import answer_text

FAST = RunnerSettings(flush_interval=0.02, retry_backoff=0.01, read_timeout=2, prompt_timeout=5)
FRAGMENT = {"HX-Request": "true"}
TEXT = "the water cycle"


@pytest.fixture
def model(make, fake_openai):
    return make.model(
        name="Fake GPT",
        model_id="openai/fake-model",
        api_base=fake_openai.base_url,
        input_cost_per_1k=Decimal("0.5"),
        output_cost_per_1k=Decimal("1.5"),
        max_tokens=100_000,
    )


@pytest.fixture
def seed(make, model):
    owner = make.user(roles=("staff",), email="owner@school.example")
    return make.assistant(
        user=owner,
        name="Essay Helper",
        status="approved",
        fields=[{"name": "user_input", "label": "Your text", "options": {"required": True}}],
        prompts=[
            {"name": "Analyze", "content": "Analyze this: {{user_input}}", "model": model},
            {
                "name": "Summarize",
                "content": "Summarize: {{prompt_1_output}}",
                "model": model,
                "position": 1,
            },
        ],
    )


def drain() -> None:
    while (claimed := claim_next(FAST)) is not None:
        run_execution(claimed.id, FAST)


def answer_all(settings: RunnerSettings = FAST) -> list[str]:
    statuses = []
    while (claimed := claim_next_answer(settings)) is not None:
        statuses.append(answer_message(claimed.id, settings))
    return statuses


def completed_run(assistant, user=None) -> Execution:
    execution = start_execution(assistant, user or assistant.user, {"user_input": TEXT})
    drain()
    done = Execution.get_by_id(execution.id)
    assert done.status == "completed"
    return done


def answers(execution) -> list[ExecutionMessage]:
    return list(
        ExecutionMessage.select()
        .where(ExecutionMessage.execution == execution.id, ExecutionMessage.role == "assistant")
        .order_by(ExecutionMessage.id)
    )


def test_answer_streams_as_chat_events_after_the_run_and_is_stored(client, auth, seed, fake_openai):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    last_run_seq = max(e.seq for e in events_after(run.id))
    response = auth.post(f"/runs/{run.id}/messages", {"question": "Why does rain fall?"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/runs/{run.id}#run-chat"
    waiting = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "Why does rain fall?" in waiting and "Waiting for the model" in waiting
    assert f"after={last_run_seq}" in waiting and 'http-equiv="refresh"' in waiting  # no-JS

    fake_openai.script("slow:40")  # a token every 40 ms: several flushes of 20 ms
    assert answer_all() == ["completed"]
    body = client.get(f"/runs/{run.id}/stream?after={last_run_seq}").get_data(as_text=True)
    streamed = sse_events(body)
    ids = [int(e["id"]) for e in streamed if "id" in e]
    assert ids and ids[0] == last_run_seq + 1 and ids == sorted(ids)
    assert streamed[-1]["event"] == "done"
    [answer] = answers(run)
    assert any(f"beforeend:#chat-msg-{answer.id}-output" in e["data"] for e in streamed)
    kinds = [e.event_type for e in events_after(run.id, last_run_seq)]
    assert kinds[0] == "chat-delta" and kinds[-1] == "chat-complete"
    assert set(kinds) == {"chat-delta", "chat-complete"} and kinds.count("chat-delta") >= 3

    expected = answer_text("Why does rain fall?")
    assert answer.status == "completed" and answer.content == expected
    request = fake_openai.requests[-1].body
    tokens_in = sum(len(m["content"].split()) for m in request["messages"])
    assert answer.tokens_in == tokens_in and answer.tokens_out == len(expected.split())
    assert answer.cost == (Decimal("0.5") * tokens_in + Decimal("1.5") * answer.tokens_out) / 1000
    assert answer.model_id == seed.ordered_prompts()[-1].model_id and answer.completed_at

    # What the model received: the run's inputs and every prompt's output, then the question.
    system, question = request["messages"][0], request["messages"][-1]
    first_output = answer_text(f"Analyze this: {TEXT}")
    assert system["role"] == "system" and "Essay Helper" in system["content"]
    assert TEXT in system["content"] and first_output in system["content"]
    assert answer_text(f"Summarize: {first_output}") in system["content"]
    assert question == {"role": "user", "content": "Why does rain fall?"}
    assert AuditEvent.select().where(AuditEvent.action == "execution.chat").count() == 1


def test_second_question_carries_the_first_turn_and_the_page_keeps_both(
    client, auth, seed, fake_openai
):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "First question?"})
    answer_all()
    auth.post(f"/runs/{run.id}/messages", {"question": "And a **second** one?"})
    answer_all()
    messages = fake_openai.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "First question?"
    assert messages[2]["content"] == answer_text("First question?")
    html = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert html.index("First question?") < html.index("And a **second** one?")
    assert "<strong>second</strong>" in html  # answers render as Markdown, questions stay text
    assert "sse-connect" not in html and 'http-equiv="refresh"' not in html


def test_htmx_ask_returns_the_section_with_a_live_stream(client, auth, seed):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    response = auth.post(f"/runs/{run.id}/messages", {"question": "Live?"}, headers=FRAGMENT)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.startswith('\n<section id="run-chat"') or 'id="run-chat"' in html[:200]
    assert "sse-connect" in html and 'sse-close="done"' in html and "Live?" in html


def test_a_question_while_an_answer_is_written_is_refused(client, auth, seed):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "One"})
    response = auth.post(f"/runs/{run.id}/messages", {"question": "Two"}, headers=FRAGMENT)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "still being written" in html and ">Two</textarea>" in html
    assert ExecutionMessage.select().count() == 2


@pytest.mark.parametrize("status", ["failed", "running", "pending", "cancelled"])
def test_questions_on_unfinished_or_failed_runs_are_refused(client, auth, seed, status):
    run = completed_run(seed)
    Execution.update(status=status).where(Execution.id == run.id).execute()
    auth.sign_in(seed.user)
    response = auth.post(f"/runs/{run.id}/messages", {"question": "Hello?"})
    assert response.status_code == 303  # back to the run page, which says why
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "still going" in page if status in ("running", "pending") else "completed run" in page
    assert ExecutionMessage.select().count() == 0
    assert 'name="question"' not in page
    with_htmx = auth.post(f"/runs/{run.id}/messages", {"question": "Hello?"}, headers=FRAGMENT)
    assert with_htmx.headers["HX-Redirect"] == f"/runs/{run.id}"


def test_too_long_and_empty_questions_get_a_message_and_keep_the_text(client, auth, seed):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    at_limit = auth.post(f"/runs/{run.id}/messages", {"question": "x" * 20_000})
    assert at_limit.status_code == 303
    answer_all()
    long = "y" * 20_001
    over = auth.post(f"/runs/{run.id}/messages", {"question": long})
    html = over.get_data(as_text=True)
    assert over.status_code == 422 and "20,001 characters long; the limit is 20,000" in html
    assert long in html and "<html" in html  # without JS: the page, the text kept
    empty = auth.post(f"/runs/{run.id}/messages", {"question": "   "}, headers=FRAGMENT)
    assert empty.status_code == 422 and "Type a question first." in empty.get_data(as_text=True)
    assert ExecutionMessage.select().count() == 2


def test_others_runs_are_404_and_administrators_read_but_do_not_ask(client, auth, make, seed):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Mine?"})
    answer_all()
    client.post("/sign-out", data={"csrf_token": auth.csrf()})
    auth.sign_in(make.user(roles=("staff",)))
    assert auth.post(f"/runs/{run.id}/messages", {"question": "Hi"}).status_code == 404
    assert auth.post("/runs/99999999/messages", {"question": "Hi"}).status_code == 404
    client.post("/sign-out", data={"csrf_token": auth.csrf()})
    auth.sign_in(make.user(roles=("administrator",)))
    page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "Mine?" in page and answer_text("Mine?") in page and 'name="question"' not in page
    assert auth.post(f"/runs/{run.id}/messages", {"question": "Hi"}).status_code == 403
    assert ExecutionMessage.select().count() == 2


def test_provider_failure_is_stored_shown_and_can_be_asked_again(client, auth, seed, fake_openai):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Break [[fail:400]]"})
    assert answer_all() == ["failed"]
    [failed] = answers(run)
    assert failed.status == "failed" and failed.error_message and failed.content == ""
    html = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "No answer." in html and failed.error_message.split(".")[0] in html
    assert "Ask again" in html and 'value="Break [[fail:400]]"' in html
    complete = [e for e in events_after(run.id) if e.event_type == "chat-complete"]
    assert complete[-1].event_data["status"] == "failed"
    # Asked again (the provider is fine now): a new answer, the failed one kept.
    fake_openai.script("ok")
    auth.post(f"/runs/{run.id}/messages", {"question": "Break [[fail:400]]"})
    assert answer_all() == ["completed"]
    assert [a.status for a in answers(run)] == ["failed", "completed"]
    # The failed exchange is not sent as history.
    assert [m["role"] for m in fake_openai.requests[-1].body["messages"]] == ["system", "user"]


def test_retryable_errors_are_retried_then_succeed(client, auth, seed, fake_openai):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Flaky?"})
    fake_openai.script("fail:500", "ok")
    assert answer_all() == ["completed"]
    assert answers(run)[0].content == answer_text("Flaky?")


def test_an_answer_whose_process_died_is_claimed_again_and_restarted(auth, seed, fake_openai):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Still there?"})
    crashed = RunnerSettings(lease_seconds=30, flush_interval=0.02)
    claimed = claim_next_answer(crashed)
    assert claimed is not None and claimed.status == "running"
    assert claim_next_answer(FAST) is None  # its lease is alive: nobody else may take it
    Execution.update(lease_expires_at=dt.datetime(2000, 1, 1)).where(
        Execution.id == run.id
    ).execute()  # the process died; its lease ran out
    assert answer_all() == ["completed"]
    assert answers(run)[0].content == answer_text("Still there?")
    assert Execution.get_by_id(run.id).lease_owner is None


def test_an_answer_interrupted_too_often_fails_with_the_reason(auth, seed):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Unlucky?"})
    settings = RunnerSettings(max_attempts=1, flush_interval=0.02)
    claimed = claim_next_answer(settings)
    assert claimed is not None
    from app.chain.events import EventWriter

    writer = EventWriter(run.id)  # the first attempt's start, as a dead process left it
    writer.append("chat-delta", {"message_id": claimed.id, "text": "Half", "attempt": 1})
    writer.flush()
    Execution.update(lease_expires_at=dt.datetime(2000, 1, 1)).where(
        Execution.id == run.id
    ).execute()
    again = claim_next_answer(settings)
    assert again is not None and answer_message(again.id, settings) == "failed"
    assert "interrupted 1 times" in answers(run)[0].error_message


def test_context_is_capped_to_the_model_window_and_says_so(client, auth, seed, model, fake_openai):
    run = start_execution(seed, seed.user, {"user_input": " ".join(f"w{i}" for i in range(600))})
    drain()
    model.max_tokens = 1_000  # the window shrinks after the run: the chat must fit it
    model.save()
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Short?"})
    assert answer_all() == ["completed"]
    messages = fake_openai.requests[-1].body["messages"]
    sent = sum(len(m["content"]) for m in messages)
    assert sent <= 1_000 * 4 and "characters cut to fit" in messages[0]["content"]
    assert messages[-1]["content"] == "Short?"
    html = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "To fit the model&#39;s context window (1,000 tokens)" in html
    assert "characters of the run&#39;s inputs and outputs were cut" in html


def test_the_answer_shows_its_tokens_and_cost_and_leaves_the_runs_totals(client, auth, seed):
    run = completed_run(seed)
    before = (run.tokens_in, run.tokens_out, run.cost)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Totals?"})
    answer_all()
    after = Execution.get_by_id(run.id)
    assert (after.tokens_in, after.tokens_out, after.cost) == before
    [answer] = answers(run)
    html = client.get(f"/runs/{run.id}").get_data(as_text=True)
    tokens = answer.tokens_in + answer.tokens_out
    assert f"{tokens} tokens · ${answer.cost:.4f}" in html


def test_downloads_include_the_conversation(client, auth, seed):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Downloaded?"})
    answer_all()
    markdown = client.get(f"/runs/{run.id}/export.md").get_data(as_text=True)
    assert "## Follow-up questions" in markdown and "**Question:** Downloaded?" in markdown
    assert answer_text("Downloaded?") in markdown
    document = client.get(f"/runs/{run.id}/export.json").get_json()
    assert [m["role"] for m in document["follow_up"]] == ["user", "assistant"]
    assert document["follow_up"][1]["content"] == answer_text("Downloaded?")


def test_the_runner_pool_answers_questions(auth, seed):
    from app.chain.pool import RunnerPool

    run = completed_run(seed)
    auth.sign_in(seed.user)
    pool = RunnerPool(RunnerSettings(flush_interval=0.02, poll_interval=0.05, pool_size=2))
    pool.start()
    try:
        auth.post(f"/runs/{run.id}/messages", {"question": "Pooled?"})
        deadline = time.monotonic() + 10
        while answers(run)[0].status != "completed" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pool.stop()
    assert answers(run)[0].content == answer_text("Pooled?")


def test_queued_runs_and_questions_take_turns_in_the_pool(auth, seed):
    from app.chain.pool import RunnerPool

    run = completed_run(seed)
    auth.sign_in(seed.user)
    auth.post(f"/runs/{run.id}/messages", {"question": "Not starved?"})
    for text in ("a", "b"):
        start_execution(seed, seed.user, {"user_input": text})
    pool = RunnerPool(FAST)  # not started: its claims are called by hand, one free slot each
    claims = [pool._claim(1) for _ in range(2)]
    kinds = sorted("run" if runs else "answer" for runs, answers in claims if runs or answers)
    assert kinds == ["answer", "run"]  # one of each, although two runs were queued first
    assert all(len(runs) + len(answers) == 1 for runs, answers in claims)


def test_the_run_detail_shows_the_conversation(client, auth, seed):
    run = completed_run(seed)
    auth.sign_in(seed.user)
    assert "Follow-up questions" not in client.get(f"/runs/{run.id}/detail").get_data(as_text=True)
    auth.post(f"/runs/{run.id}/messages", {"question": "Kept <b>in</b> the detail?"})
    answer_all()
    html = client.get(f"/runs/{run.id}/detail").get_data(as_text=True)
    record = html[html.index("Follow-up questions") :]
    assert "Kept &lt;b&gt;in&lt;/b&gt; the detail?" in record  # a question stays text
    answer = answers(run)[-1]
    assert answer.role == "assistant" and answer.status == "completed" and answer.content
    assert record.index("Kept &lt;b&gt;in") < record.index('class="output"')
    assert f"{answer.tokens_in} tokens in, {answer.tokens_out} out" in html


def test_a_failed_chat_flush_loses_nothing(auth, seed, monkeypatch):
    """The database refuses the answer's first flushes (a blip): their events go out with the
    next tick, with the same seqs — the streamed answer is whole."""
    import threading

    import peewee

    from app.db import database

    run = completed_run(seed)
    auth.sign_in(seed.user)
    last_run_seq = max(e.seq for e in events_after(run.id))
    auth.post(f"/runs/{run.id}/messages", {"question": "[[slow:15]] Why does rain fall?"})
    real = type(database.obj).execute_sql
    refused = []

    def blip(self, sql, params=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        flusher = threading.current_thread().name == "chat-flusher"
        if flusher and 'INSERT INTO "assistant_architect_events"' in sql and len(refused) < 2:
            refused.append(sql)
            raise peewee.OperationalError("server closed the connection unexpectedly")
        return real(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(type(database.obj), "execute_sql", blip)
    assert answer_all() == ["completed"]
    monkeypatch.undo()
    assert len(refused) == 2  # the blips happened
    events = [e for e in events_after(run.id) if e.seq > last_run_seq]
    assert [e.seq for e in events] == list(range(last_run_seq + 1, last_run_seq + len(events) + 1))
    streamed = "".join(e.event_data["text"] for e in events if e.event_type == "chat-delta")
    assert streamed and streamed == answers(run)[-1].content
