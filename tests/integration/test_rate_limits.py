"""Rate limits (issue 18): sign-in per address and per email, run starts per person, API per token.

TestConfig raises the limits so ordinary tests never meet them; each test here lowers one and
proves it trips: a friendly 429 page for the pages, problem+json for the API, Retry-After in both.
"""

from __future__ import annotations

import pytest

from app import rate_limits
from app.models import Execution
from tests.factories import Factory
from tests.integration.api_support import assert_problem, bearer, reset_rate_limits

FIELD = {"name": "user_input", "label": "Your text", "options": {"required": True}}


@pytest.fixture(autouse=True)
def _fresh_counters():
    rate_limits.limiter.reset()
    reset_rate_limits()
    yield
    rate_limits.limiter.reset()
    reset_rate_limits()


@pytest.fixture
def assistant(make):
    model = make.model(model_id="openai/rate-model")
    return make.assistant(
        status="approved",
        audience=["staff", "student"],
        fields=[FIELD],
        prompts=[{"name": "One", "content": "Say {{user_input}}", "model": model, "position": 0}],
    )


def sign_in_attempt(auth, email: str, password: str = "wrong password!", ip: str = "10.0.0.1"):
    return auth.client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": auth.csrf()},
        environ_base={"REMOTE_ADDR": ip},
    )


def assert_friendly_429(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert "Too many" in html and "Traceback" not in html
    assert 0 < int(response.headers["Retry-After"]) <= 61


def test_failed_sign_ins_are_limited_per_address(app, auth, make, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_RATE_LIMIT", "3 per minute")
    make.user(roles=("administrator",))
    for n in range(3):
        assert sign_in_attempt(auth, f"nobody{n}@school.example").status_code == 422
    assert_friendly_429(sign_in_attempt(auth, "nobody9@school.example"))
    # Another address is not affected.
    assert sign_in_attempt(auth, "nobody9@school.example", ip="10.0.0.2").status_code == 422


def test_failed_sign_ins_are_limited_per_email(app, auth, make, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_RATE_LIMIT", "3 per minute")
    make.user(roles=("administrator",))
    victim = make.user(roles=("staff",), email="victim@school.example")
    for n in range(3):
        assert sign_in_attempt(auth, victim.email, ip=f"10.0.1.{n}").status_code == 422
    # A fourth address guessing the same account is stopped — even with the right password.
    blocked = sign_in_attempt(auth, " VICTIM@school.example", Factory.PASSWORD, ip="10.0.1.9")
    assert_friendly_429(blocked)


def test_successful_sign_ins_do_not_count(app, auth, make, monkeypatch):
    """A class signing in through one school address is not throttled."""
    monkeypatch.setitem(app.config, "SIGN_IN_RATE_LIMIT", "2 per minute")
    make.user(roles=("administrator",))
    for _ in range(5):
        user = make.user(roles=("student",))
        response = sign_in_attempt(auth, user.email, Factory.PASSWORD)
        assert response.status_code == 303
        auth.client.post("/sign-out", data={"csrf_token": auth.csrf()})


def test_run_starts_are_limited_per_person_across_form_and_api(app, auth, assistant, monkeypatch):
    monkeypatch.setitem(app.config, "RUN_START_RATE_LIMIT", "2 per minute")
    user = auth.sign_in(roles=("staff",))
    url = f"/assistants/{assistant.id}/run"
    assert auth.post(url, {"user_input": "one"}).status_code == 303
    assert auth.post(url, {"user_input": "two"}).status_code == 303
    refused = auth.post(url, {"user_input": "three <kept>"})
    assert_friendly_429(refused)
    html = refused.get_data(as_text=True)
    assert "Too many runs started in a short time (the limit is 2 per minute)" in html
    assert "three &lt;kept&gt;</textarea>" in html  # the form comes back with what was typed
    # A retry counts too, and says so on the run page it returns to.
    failed = Execution.create(
        assistant=assistant, user=user, status="failed", definition=assistant.definition()
    )
    retried = auth.post(f"/runs/{failed.id}/retry", {"step": "1"})
    assert_friendly_429(retried)
    # The API counts against the same person.
    api = auth.client.post(
        f"/api/v1/assistants/{assistant.id}/executions",
        json={"inputs": {"user_input": "four"}},
        headers=bearer(user),
    )
    body = assert_problem(api, 429)
    assert "Too many runs started" in body["detail"]
    assert 0 < int(api.headers["Retry-After"]) <= 61
    assert Execution.select().count() == 3  # two runs and the failed one


def test_run_start_limit_is_per_person(app, auth, assistant, make, monkeypatch):
    monkeypatch.setitem(app.config, "RUN_START_RATE_LIMIT", "1 per minute")
    first, second = make.user(roles=("staff",)), make.user(roles=("staff",))
    url = f"/api/v1/assistants/{assistant.id}/executions"
    body = {"inputs": {"user_input": "x"}}
    assert auth.client.post(url, json=body, headers=bearer(first)).status_code == 202
    assert auth.client.post(url, json=body, headers=bearer(first)).status_code == 429
    assert auth.client.post(url, json=body, headers=bearer(second)).status_code == 202


def test_token_use_is_limited_per_token(app, client, make, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    user = make.user(roles=("staff",))
    token, other_token = bearer(user), bearer(user)
    for _ in range(3):
        assert client.get("/api/v1/assistants", headers=token).status_code == 200
    refused = client.get("/api/v1/assistants", headers=token)
    assert_problem(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    assert client.get("/api/v1/assistants", headers=other_token).status_code == 200
