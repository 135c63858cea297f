"""The JSON API v1 through HTTP: starting runs, reading them, their event stream, cancel."""

from __future__ import annotations

import json

import pytest

from app.chain.queue import start_execution
from app.models import AuditEvent, Execution
from app.models.token import ApiToken
from tests.integration.api_support import (
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
    return make_world(make, fake_openai)


# --- starting runs -----------------------------------------------------------------------------
def test_start_answers_202_with_links_and_location(client, world):
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    response = client.post(
        url, json={"inputs": {"user_input": "tides"}}, headers=bearer(world["student"])
    )
    assert response.status_code == 202
    execution = Execution.get()
    assert response.headers["Location"] == f"/api/v1/executions/{execution.id}"
    assert response.get_json() == {
        "id": execution.id,
        "status": "pending",
        "queue_position": 0,
        "links": {
            "self": f"/api/v1/executions/{execution.id}",
            "events": f"/api/v1/executions/{execution.id}/events",
            "cancel": f"/api/v1/executions/{execution.id}/cancel",
            "page": f"/runs/{execution.id}",
        },
    }
    assert execution.user_id == world["student"].id and execution.input_data == {
        "user_input": "tides"
    }
    audit = AuditEvent.get(AuditEvent.action == "execution.started")
    assert audit.actor_id == world["student"].id and audit.details["via"] == "api"
    assert audit.details["token"] == ApiToken.get(ApiToken.user == world["student"]).prefix


def test_queue_position_counts_runs_ahead(client, world):
    start_execution(world["shared"], world["owner"], {"user_input": "first"})
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    response = client.post(
        url, json={"inputs": {"user_input": "x"}}, headers=bearer(world["owner"])
    )
    assert response.get_json()["queue_position"] == 1


@pytest.mark.parametrize(
    ("inputs", "errors"),
    [
        ({}, {"user_input": "Fill in “Your text”."}),
        ({"user_input": "  "}, {"user_input": "Fill in “Your text”."}),
        (
            {"user_input": "x", "extra": "y"},
            {"extra": "Unknown field: this assistant has no input with this name."},
        ),
        ({"user_input": 5}, {"user_input": "Send a string."}),
        ({"user_input": ["a"]}, {"user_input": "Send a string."}),
        ({"user_input": "nul\x00"}, {"user_input": "Text cannot contain NUL characters."}),
    ],
)
def test_invalid_inputs_answer_422_with_a_message_per_field(client, world, inputs, errors):
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    response = client.post(url, json={"inputs": inputs}, headers=bearer(world["owner"]))
    body = assert_problem(response, 422)
    assert body["errors"] == errors
    assert body["type"] == "urn:assistant-architect:problem:validation"
    assert Execution.select().count() == 0


def test_unknown_body_members_and_a_non_object_inputs_answer_422(client, world):
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    headers = bearer(world["owner"])
    body = assert_problem(client.post(url, json={"inputs": {}, "mode": "x"}, headers=headers), 422)
    assert body["errors"] == {"mode": "Unknown field."}
    body = assert_problem(client.post(url, json={"inputs": "text"}, headers=headers), 422)
    assert body["errors"] == {"inputs": "Not a valid mapping type."}


def test_text_limit_at_the_limit_passes_and_above_fails(client, world):
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    headers = bearer(world["owner"])
    limit = 150 * 1024
    over = client.post(
        url, json={"inputs": {"user_input": "é" * (limit // 2) + "x"}}, headers=headers
    )
    assert "150 KiB" in assert_problem(over, 422)["errors"]["_form"]
    at = client.post(url, json={"inputs": {"user_input": "é" * (limit // 2)}}, headers=headers)
    assert at.status_code == 202


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"{not json", "The body is not valid JSON"),
        (b"[1, 2]", "The body must be a JSON object"),
        (b'"inputs"', "The body must be a JSON object"),
        (b"", "The body must be a JSON object"),
        (b'{"inputs": NaN}', "The body is not valid JSON"),
        (b"\xff\xfe\xfa", "The body is not valid JSON"),
        (b"[" * 100_000, "The body is not valid JSON"),
    ],
)
def test_malformed_bodies_answer_400(client, world, data, detail):
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    response = client.post(
        url, data=data, content_type="application/json", headers=bearer(world["owner"])
    )
    assert assert_problem(response, 400)["detail"].startswith(detail)


def test_bodies_over_one_mebibyte_answer_413(client, world):
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    data = json.dumps({"inputs": {"user_input": "x" * (1024 * 1024)}})
    response = client.post(
        url, data=data, content_type="application/json", headers=bearer(world["owner"])
    )
    assert_problem(response, 413)
    assert Execution.select().count() == 0


def test_multi_select_and_file_fields_take_lists_and_text(client, make, world):
    choices = [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]
    assistant = make.assistant(
        user=world["owner"],
        fields=[
            {"name": "topics", "field_type": "multi_select", "options": {"choices": choices}},
            {"name": "level", "field_type": "select", "options": {"choices": choices}},
            {"name": "doc", "field_type": "file_upload", "options": {"accept": [".pdf"]}},
        ],
    )
    url = f"/api/v1/assistants/{assistant.id}/executions"
    headers = bearer(world["owner"])
    inputs = {"topics": ["a", "b"], "level": "b", "doc": "The text of the document."}
    assert client.post(url, json={"inputs": inputs}, headers=headers).status_code == 202
    assert Execution.get().input_data == inputs
    single = client.post(url, json={"inputs": {"topics": "a"}}, headers=headers)
    assert single.status_code == 202
    bad = client.post(url, json={"inputs": {"topics": ["c"], "level": "z"}}, headers=headers)
    assert assert_problem(bad, 422)["errors"] == {
        "topics": "Choose from the options shown.",
        "level": "Choose one of the options shown.",
    }


# --- reading runs and their events -------------------------------------------------------------
def test_a_run_started_by_api_completes_and_reads_back_in_step_order(client, world):
    headers = bearer(world["student"])
    started = client.post(
        f"/api/v1/assistants/{world['shared'].id}/executions",
        json={"inputs": {"user_input": "moons"}},
        headers=headers,
    ).get_json()
    drain()
    body = client.get(started["links"]["self"], headers=headers).get_json()
    first = answer_text("Analyze this: moons")
    second = answer_text(f"Summarize: {first}")
    assert body["status"] == "completed" and body["error"] is None
    assert body["queue_position"] is None and body["inputs"] == {"user_input": "moons"}
    assert [(r["step"], r["name"], r["status"], r["output"]) for r in body["prompt_results"]] == [
        (1, "Analyze", "completed", first),
        (2, "Summarize", "completed", second),
    ]
    result = body["prompt_results"][0]
    assert result["tokens_out"] == len(first.split()) and result["execution_time_ms"] >= 0
    assert (result["reused"], result["fallback"], result["cost"]) == (False, False, None)
    assert result["started_at"].endswith("+00:00") and result["completed_at"].endswith("+00:00")
    assert body["tokens_out"] == len(first.split()) + len(second.split())
    assert body["unpriced"] is True and body["cost"] is None


def test_cost_is_a_decimal_string(client, make, world, fake_openai):
    priced = make.model(
        name="Priced",
        model_id="openai/priced",
        api_base=fake_openai.base_url,
        input_cost_per_1k="0.5",
        output_cost_per_1k="1.5",
    )
    assistant = make.assistant(
        user=world["owner"], prompts=[{"name": "P", "content": "hello there", "model": priced}]
    )
    execution = start_execution(assistant, world["owner"], {})
    drain()
    body = client.get(
        f"/api/v1/executions/{execution.id}", headers=bearer(world["owner"])
    ).get_json()
    [result] = body["prompt_results"]
    assert result["cost"] == body["cost"] and isinstance(body["cost"], str)
    assert float(body["cost"]) > 0 and body["unpriced"] is False


def test_events_replay_resume_and_end_after_the_terminal_event(client, world):
    headers = bearer(world["owner"])
    execution = start_execution(world["shared"], world["owner"], {"user_input": "tides"})
    drain()
    url = f"/api/v1/executions/{execution.id}/events"
    response = client.get(url, headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    text = response.get_data(as_text=True)
    assert text.startswith("retry: 2000\n: connected\n\n")
    full = sse_events(text)
    ids = [e["id"] for e in full]
    assert ids == list(range(1, len(ids) + 1))
    assert full[0]["event"] == "execution-start" and full[-1]["event"] == "execution-complete"
    assert [e["data"]["name"] for e in full if e["event"] == "prompt-start"] == [
        "Analyze",
        "Summarize",
    ]
    deltas = "".join(
        e["data"]["text"] for e in full if e["event"] == "prompt-delta" and e["data"]["step"] == 1
    )
    assert deltas == answer_text("Analyze this: tides")
    resumed = sse_events(
        client.get(url, headers={**headers, "Last-Event-ID": str(ids[3])}).get_data(as_text=True)
    )
    assert [e["id"] for e in resumed] == ids[4:]
    by_query = sse_events(
        client.get(f"{url}?after={ids[-2]}", headers=headers).get_data(as_text=True)
    )
    assert [e["id"] for e in by_query] == [ids[-1]]
    finished = client.get(url, headers={**headers, "Last-Event-ID": str(ids[-1])})
    assert finished.status_code == 204 and finished.get_data() == b""


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999", "²"])
def test_a_malformed_resume_point_answers_400(client, world, value):
    execution = start_execution(world["shared"], world["owner"], {"user_input": "x"})
    url = f"/api/v1/executions/{execution.id}/events"
    headers = bearer(world["owner"])
    assert_problem(client.get(url, headers={**headers, "Last-Event-ID": value}), 400)
    assert_problem(client.get(url, query_string={"after": value}, headers=headers), 400)


def test_events_of_a_queued_run_ping_first_and_keep_alive(app, client, world):
    execution = start_execution(world["shared"], world["owner"], {"user_input": "x"})
    app.config["SSE_KEEPALIVE_SECONDS"] = 0.05
    try:
        response = client.get(
            f"/api/v1/executions/{execution.id}/events", headers=bearer(world["owner"])
        )
        chunks: list[str] = []
        for chunk in response.response:
            chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if sum(c.count(": ping\n\n") for c in chunks) >= 2:
                break
        response.close()
    finally:
        app.config["SSE_KEEPALIVE_SECONDS"] = 15
    assert chunks[0] == "retry: 2000\n: connected\n\n"
    assert sum(c.count(": ping\n\n") for c in chunks) == 2 and not any(
        "event:" in c for c in chunks
    )


@pytest.mark.parametrize(("who", "status"), [("owner", 404), ("other", 404), ("admin", 200)])
def test_runs_of_others_answer_404_except_to_administrators(client, world, who, status):
    execution = start_execution(world["shared"], world["student"], {"user_input": "x"})
    headers = bearer(world[who])
    response = client.get(f"/api/v1/executions/{execution.id}", headers=headers)
    assert response.status_code == status
    if status == 404:
        assert_problem(response, 404)
        url = f"/api/v1/executions/{execution.id}"
        assert_problem(client.get(f"{url}/events", headers=headers), 404)
        assert_problem(client.post(f"{url}/cancel", headers=headers), 404)
        assert Execution.get_by_id(execution.id).status == "pending"


# --- cancel ------------------------------------------------------------------------------------
def test_cancel_of_a_queued_run_answers_202_then_409(client, world):
    execution = start_execution(world["shared"], world["student"], {"user_input": "x"})
    url = f"/api/v1/executions/{execution.id}/cancel"
    headers = bearer(world["student"])
    response = client.post(url, headers=headers)
    assert response.status_code == 202
    assert response.get_json() == {
        "id": execution.id,
        "status": "cancelled",
        "cancel_requested": True,
    }
    assert Execution.get_by_id(execution.id).status == "cancelled"
    assert (
        AuditEvent.get(AuditEvent.action == "execution.cancelled").actor_id == world["student"].id
    )
    body = assert_problem(client.post(url, headers=headers), 409)
    assert body["detail"] == "This run has already finished."
    events = sse_events(
        client.get(f"/api/v1/executions/{execution.id}/events", headers=headers).get_data(
            as_text=True
        )
    )
    assert [e["event"] for e in events] == ["execution-cancelled"]


def test_cancel_of_a_running_run_is_requested(client, world):
    execution = start_execution(world["shared"], world["owner"], {"user_input": "x"})
    Execution.update(status="running").where(Execution.id == execution.id).execute()
    response = client.post(
        f"/api/v1/executions/{execution.id}/cancel", headers=bearer(world["owner"])
    )
    assert response.status_code == 202 and response.get_json()["status"] == "running"
    assert Execution.get_by_id(execution.id).cancel_requested_at is not None


def test_cancel_of_a_completed_run_answers_409(client, world):
    execution = start_execution(world["shared"], world["owner"], {"user_input": "x"})
    drain()
    response = client.post(
        f"/api/v1/executions/{execution.id}/cancel", headers=bearer(world["owner"])
    )
    assert_problem(response, 409)
    assert Execution.get_by_id(execution.id).status == "completed"
