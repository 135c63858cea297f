"""Follow-up questions over the JSON API: ask, follow the answer's events, read the conversation."""

from __future__ import annotations

import pytest

from app.chain.chat_runner import answer_message, claim_next_answer
from app.chain.events import events_after
from app.chain.queue import start_execution
from app.models import AuditEvent, ExecutionMessage
from tests.integration.api_support import (
    FAST,
    assert_problem,
    bearer,
    drain,
    make_world,
    reset_rate_limits,
    sse_events,
)
from tests.support.fake_openai import answer_text


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    reset_rate_limits()


@pytest.fixture
def world(make, fake_openai):
    world = make_world(make, fake_openai)
    world["run"] = start_execution(world["shared"], world["student"], {"user_input": "tides"})
    drain()
    return world


def answer_all() -> None:
    while (claimed := claim_next_answer(FAST)) is not None:
        answer_message(claimed.id, FAST)


def test_ask_then_follow_the_answer_as_events(client, world):
    run = world["run"]
    url = f"/api/v1/executions/{run.id}/messages"
    last = max(e.seq for e in events_after(run.id))
    response = client.post(url, json={"content": "Why?"}, headers=bearer(world["student"]))
    assert response.status_code == 202
    body = response.get_json()
    assert body["question"]["content"] == "Why?" and body["answer"]["status"] == "pending"
    assert body["links"]["events"] == f"/api/v1/executions/{run.id}/events?after={last}"
    answer_all()
    stream = client.get(body["links"]["events"], headers=bearer(world["student"]))
    events = sse_events(stream.get_data(as_text=True))
    assert events[0]["id"] == last + 1 and events[-1]["event"] == "chat-complete"
    text = "".join(e["data"]["text"] for e in events if e["event"] == "chat-delta")
    assert text == answer_text("Why?")
    listed = client.get(url, headers=bearer(world["student"], "assistants:read")).get_json()
    assert [(m["role"], m["status"]) for m in listed["messages"]] == [
        ("user", "completed"),
        ("assistant", "completed"),
    ]
    assert listed["messages"][1]["content"] == answer_text("Why?")
    assert listed["messages"][1]["model"] == "Fake GPT"
    assert AuditEvent.get(AuditEvent.action == "execution.chat").details["via"] == "api"


def test_a_pending_answer_keeps_the_finished_runs_stream_open(client, world):
    run = world["run"]
    last = max(e.seq for e in events_after(run.id))
    url = f"/api/v1/executions/{run.id}/events?after={last}"
    assert client.get(url, headers=bearer(world["student"])).status_code == 204
    client.post(
        f"/api/v1/executions/{run.id}/messages",
        json={"content": "Open?"},
        headers=bearer(world["student"]),
    )
    answer_all()
    assert client.get(url, headers=bearer(world["student"])).status_code == 200


def test_refusals(client, world):
    run = world["run"]
    url = f"/api/v1/executions/{run.id}/messages"
    student = bearer(world["student"])
    body = assert_problem(client.post(url, json={"content": "x" * 20_001}, headers=student), 422)
    assert "limit is 20,000" in body["errors"]["content"]
    assert_problem(client.post(url, json={"content": "  "}, headers=student), 422)
    assert_problem(client.post(url, json={"question": "wrong key"}, headers=student), 422)
    assert client.post(url, json={"content": "First"}, headers=student).status_code == 202
    busy = assert_problem(client.post(url, json={"content": "Second"}, headers=student), 409)
    assert "still being written" in busy["detail"]
    assert_problem(client.post(url, json={"content": "Hi"}, headers=bearer(world["other"])), 404)
    assert_problem(client.post(url, json={"content": "Hi"}, headers=bearer(world["admin"])), 403)
    assert client.get(url, headers=bearer(world["admin"])).status_code == 200
    read_only = bearer(world["student"], "assistants:read")
    assert_problem(client.post(url, json={"content": "Hi"}, headers=read_only), 403)
    assert ExecutionMessage.select().count() == 2


def test_not_on_a_failed_run(client, world):
    failed = start_execution(world["draft"], world["owner"], {"user_input": "x"})
    drain()
    url = f"/api/v1/executions/{failed.id}/messages"
    body = assert_problem(
        client.post(url, json={"content": "Hi"}, headers=bearer(world["owner"])), 409
    )
    assert "completed run" in body["detail"]
