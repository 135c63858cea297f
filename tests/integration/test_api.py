"""The JSON API v1 through HTTP: assistants, tokens and scopes, problems, the OpenAPI document."""

from __future__ import annotations

import datetime as dt

import pytest

from app.blueprints.api import present
from app.chain.queue import start_execution
from app.db import utcnow
from app.models import Execution
from app.models.token import ApiToken
from tests.integration.api_support import (
    ALL,
    assert_problem,
    bearer,
    make_world,
    reset_rate_limits,
)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    reset_rate_limits()


@pytest.fixture
def world(make, fake_openai):
    return make_world(make, fake_openai)


# --- assistants --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("student", ["shared"]),
        ("other", ["shared", "staff_only", "other_draft"]),
        ("owner", ["shared", "staff_only", "draft", "disabled"]),
        ("admin", ["shared", "staff_only", "draft", "disabled", "other_draft"]),
    ],
)
def test_list_shows_what_the_caller_may_run_or_edit(client, world, who, expected):
    response = client.get("/api/v1/assistants", headers=bearer(world[who]))
    assert response.status_code == 200 and response.mimetype == "application/json"
    listed = response.get_json()["assistants"]
    assert [a["id"] for a in listed] == [world[name].id for name in expected]
    first = listed[0]
    assert first == {
        "id": world["shared"].id,
        "name": "A shared",
        "description": "",
        "status": "approved",
        "can_run": True,
        "can_edit": who in ("owner", "admin"),
        "links": {
            "self": f"/api/v1/assistants/{world['shared'].id}",
            "executions": f"/api/v1/assistants/{world['shared'].id}/executions",
            "page": f"/assistants/{world['shared'].id}/run",
        },
    }


def test_disabled_is_listed_for_its_owner_but_not_runnable(client, world):
    listed = client.get("/api/v1/assistants", headers=bearer(world["owner"])).get_json()
    disabled = next(a for a in listed["assistants"] if a["id"] == world["disabled"].id)
    assert (disabled["can_run"], disabled["can_edit"]) == (False, True)
    url = f"/api/v1/assistants/{world['disabled'].id}/executions"
    body = assert_problem(client.post(url, json={}, headers=bearer(world["owner"])), 409)
    assert "disabled" in body["detail"]


def test_definition_lists_fields_and_prompts_in_step_order(client, world):
    url = f"/api/v1/assistants/{world['shared'].id}"
    as_owner = client.get(url, headers=bearer(world["owner"])).get_json()
    assert as_owner["fields"] == [
        {
            "name": "user_input",
            "label": "Your text",
            "type": "long_text",
            "position": 0,
            "options": {"required": True},
        }
    ]
    assert as_owner["prompts"] == [
        {
            "step": 1,
            "name": "Analyze",
            "position": 0,
            "model": "Fake GPT",
            "content": "Analyze this: {{user_input}}",
        },
        {
            "step": 2,
            "name": "Summarize",
            "position": 1,
            "model": "Fake GPT",
            "content": "Summarize: {{prompt_1_output}}",
        },
    ]
    as_runner = client.get(url, headers=bearer(world["student"])).get_json()
    assert [(p["name"], p["content"]) for p in as_runner["prompts"]] == [
        ("Analyze", None),
        ("Summarize", None),
    ]
    as_admin = client.get(url, headers=bearer(world["admin"])).get_json()
    assert as_admin["prompts"][0]["content"] == "Analyze this: {{user_input}}"


@pytest.mark.parametrize(
    ("who", "target"),
    [
        ("student", "draft"),
        ("student", "staff_only"),
        ("other", "draft"),
        ("other", "disabled"),
        ("owner", "other_draft"),
    ],
)
def test_others_assistants_answer_404(client, world, who, target):
    assistant_id = world[target].id
    headers = bearer(world[who])
    assert_problem(client.get(f"/api/v1/assistants/{assistant_id}", headers=headers), 404)
    url = f"/api/v1/assistants/{assistant_id}/executions"
    assert_problem(client.post(url, json={"inputs": {}}, headers=headers), 404)
    assert Execution.select().count() == 0


def test_absent_and_out_of_range_ids_answer_404(client, world):
    headers = bearer(world["admin"])
    for url in ("/api/v1/assistants/999999", "/api/v1/assistants/99999999999999999999"):
        assert_problem(client.get(url, headers=headers), 404)
    assert_problem(client.get("/api/v1/executions/0", headers=headers), 404)


# --- tokens and scopes -------------------------------------------------------------------------
def test_a_read_token_cannot_start_or_cancel(client, world):
    headers = bearer(world["owner"], "assistants:read")
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    response = client.post(url, json={"inputs": {"user_input": "x"}}, headers=headers)
    body = assert_problem(response, 403)
    assert body["detail"] == "This token lacks the `assistants:execute` scope."
    assert "error=insufficient_scope" in response.headers["WWW-Authenticate"]
    execution = start_execution(world["shared"], world["owner"], {"user_input": "x"})
    assert_problem(client.post(f"/api/v1/executions/{execution.id}/cancel", headers=headers), 403)
    assert client.get(f"/api/v1/executions/{execution.id}", headers=headers).status_code == 200


def test_an_execute_token_cannot_read(client, world):
    """Scopes are independent: reading assistants, runs and events needs assistants:read."""
    headers = bearer(world["owner"], "assistants:execute")
    execution = start_execution(world["shared"], world["owner"], {"user_input": "x"})
    for url in (
        "/api/v1/assistants",
        f"/api/v1/assistants/{world['shared'].id}",
        f"/api/v1/executions/{execution.id}",
        f"/api/v1/executions/{execution.id}/events",
    ):
        assert_problem(client.get(url, headers=headers), 403)
    started = client.post(
        f"/api/v1/assistants/{world['shared'].id}/executions",
        json={"inputs": {"user_input": "x"}},
        headers=headers,
    )
    assert started.status_code == 202


def test_scope_is_checked_before_the_id_so_nothing_leaks(client, world):
    headers = bearer(world["student"], "assistants:execute")
    assert_problem(client.get(f"/api/v1/assistants/{world['draft'].id}", headers=headers), 403)
    assert_problem(client.get("/api/v1/assistants/999999", headers=headers), 403)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer aa_unknown",
        "Bearer a b",
        "Token x",
    ],
)
def test_missing_or_bad_tokens_answer_401_with_a_bearer_challenge(client, world, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/assistants", headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_revocation_expiry_and_deactivation_take_effect_at_once(client, world):
    token, secret = ApiToken.issue(world["owner"], "t", list(ALL))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/assistants", headers=headers).status_code == 200
    token.revoke()
    response = client.get("/api/v1/assistants", headers=headers)
    assert_problem(response, 401)
    assert "invalid_token" in response.headers["WWW-Authenticate"]

    expiring, secret = ApiToken.issue(
        world["owner"], "t", list(ALL), utcnow() + dt.timedelta(hours=1)
    )
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/assistants", headers=headers).status_code == 200
    ApiToken.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
        ApiToken.id == expiring.id
    ).execute()
    assert_problem(client.get("/api/v1/assistants", headers=headers), 401)

    _, secret = ApiToken.issue(world["owner"], "t", list(ALL))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/assistants", headers=headers).status_code == 200
    world["owner"].is_active = False
    world["owner"].save()
    assert_problem(client.get("/api/v1/assistants", headers=headers), 401)


def test_the_session_cookie_counts_for_nothing(client, auth, world):
    auth.sign_in(world["owner"])
    assert client.get("/catalog").status_code in (200, 302)
    assert_problem(client.get("/api/v1/assistants"), 401)
    url = f"/api/v1/assistants/{world['shared'].id}/executions"
    assert_problem(client.post(url, json={"inputs": {"user_input": "x"}}), 401)
    assert Execution.select().count() == 0


def test_last_used_is_written_at_most_once_a_minute(client, world):
    token, secret = ApiToken.issue(world["owner"], "t", list(ALL))
    headers = {"Authorization": f"Bearer {secret}"}
    client.get("/api/v1/assistants", headers=headers)
    first = ApiToken.get_by_id(token.id).last_used_at
    assert first is not None
    client.get("/api/v1/assistants", headers=headers)
    assert ApiToken.get_by_id(token.id).last_used_at == first
    earlier = first - dt.timedelta(minutes=2)
    ApiToken.update(last_used_at=earlier).where(ApiToken.id == token.id).execute()
    client.get("/api/v1/assistants", headers=headers)
    assert ApiToken.get_by_id(token.id).last_used_at > first


# --- errors ------------------------------------------------------------------------------------
def test_unknown_paths_and_methods_answer_problems(client, world):
    headers = bearer(world["owner"])
    assert_problem(client.get("/api/v1/nothing-here", headers=headers), 404)
    assert_problem(client.get("/api/elsewhere"), 404)
    response = client.delete("/api/v1/assistants", headers=headers)
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert_problem(
        client.get(f"/api/v1/assistants/{world['shared'].id}/executions", headers=headers), 405
    )
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_an_unexpected_error_answers_500_without_a_trace(client, world, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(present, "assistant_summary", boom)
    response = client.get("/api/v1/assistants", headers=bearer(world["owner"]))
    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_too_many_requests_answer_429_with_retry_after(app, client, world):
    headers = bearer(world["owner"])
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [client.get("/api/v1/assistants", headers=headers).status_code for _ in range(3)]
        response = client.get("/api/v1/assistants", headers=headers)
        other = client.get("/api/v1/assistants", headers=bearer(world["admin"]))
    finally:
        app.config.pop("API_RATE_LIMIT")
    assert statuses == [200, 200, 200]
    assert_problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert other.status_code == 200  # limits are per token


# --- the OpenAPI document ----------------------------------------------------------------------
def test_openapi_document_describes_every_operation_and_the_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.0.3"
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token.",
    }
    operations = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert operations == {
        ("GET", "/api/v1/assistants"),
        ("GET", "/api/v1/assistants/{assistant_id}"),
        ("POST", "/api/v1/assistants/{assistant_id}/executions"),
        ("GET", "/api/v1/executions/{execution_id}"),
        ("GET", "/api/v1/executions/{execution_id}/events"),
        ("POST", "/api/v1/executions/{execution_id}/cancel"),
        ("POST", "/api/v1/assistants/import"),
        ("POST", "/api/v1/assistants/export"),
        ("GET", "/api/v1/executions/{execution_id}/messages"),
        ("POST", "/api/v1/executions/{execution_id}/messages"),
        ("GET", "/api/v1/openapi.json"),
    }
    execution = doc["components"]["schemas"]["Execution"]["properties"]
    assert {"prompt_results", "status", "error", "cost"} <= set(execution)
    assert set(doc["components"]["schemas"]["AssistantDetail"]["properties"]) >= {
        "fields",
        "prompts",
    }
