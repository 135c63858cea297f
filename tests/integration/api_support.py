"""Shared by the API tests: a world of users and assistants, tokens, SSE parsing, problems."""

from __future__ import annotations

import json

from app.blueprints.api.limits import limiter
from app.chain.queue import claim_next
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.models.token import ApiToken

FAST = RunnerSettings(flush_interval=0.02, retry_backoff=0.01, read_timeout=2, prompt_timeout=5)
ALL = ("assistants:read", "assistants:execute")
PROBLEM = "application/problem+json"


def bearer(user, *scopes: str) -> dict[str, str]:
    _, secret = ApiToken.issue(user, "test", list(scopes or ALL))
    return {"Authorization": f"Bearer {secret}"}


def drain() -> None:
    while (claimed := claim_next(FAST)) is not None:
        run_execution(claimed.id, FAST)


def sse_events(body: str) -> list[dict]:
    events = []
    for block in body.split("\n\n"):
        fields: dict = {}
        for line in block.split("\n"):
            if line and not line.startswith(":") and ": " in line:
                key, value = line.split(": ", 1)
                fields[key] = value
        if "event" in fields:
            events.append(
                {
                    "id": int(fields["id"]),
                    "event": fields["event"],
                    "data": json.loads(fields["data"]),
                }
            )
    return events


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["instance"] == response.request.path
    assert {"type", "title", "detail"} <= set(body)
    return body


def reset_rate_limits() -> None:
    limiter.reset()


def make_world(make, fake_openai) -> dict:
    """Two authors, a student and an administrator; assistants in the states that matter."""
    model = make.model(name="Fake GPT", model_id="openai/fake-model", api_base=fake_openai.base_url)
    admin = make.user(roles=("administrator",), name="Ada Admin")
    owner = make.user(roles=("staff",), name="Olive Owner")
    other = make.user(roles=("staff",), name="Oscar Other")
    student = make.user(roles=("student",), name="Sam Student")
    field = {"name": "user_input", "label": "Your text", "options": {"required": True}}
    prompts = [
        {
            "name": "Summarize",
            "content": "Summarize: {{prompt_1_output}}",
            "model": model,
            "position": 1,
        },
        {
            "name": "Analyze",
            "content": "Analyze this: {{user_input}}",
            "model": model,
            "position": 0,
        },
    ]
    shared = make.assistant(
        user=owner,
        name="A shared",
        status="approved",
        audience=["staff", "student"],
        fields=[field],
        prompts=prompts,
    )
    staff_only = make.assistant(user=owner, name="B staff only", status="approved")
    draft = make.assistant(user=owner, name="C draft", status="draft", fields=[field])
    disabled = make.assistant(user=owner, name="D disabled", status="disabled")
    other_draft = make.assistant(user=other, name="E other's draft", status="draft")
    return {
        "admin": admin,
        "owner": owner,
        "other": other,
        "student": student,
        "shared": shared,
        "staff_only": staff_only,
        "draft": draft,
        "disabled": disabled,
        "other_draft": other_draft,
        "model": model,
    }
