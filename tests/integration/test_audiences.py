"""Audiences hold on every path that lists or runs an assistant: catalog, run page, API, CLI.

DESIGN §8: anyone but the owner and administrators runs an assistant only when it is approved
and their role is in its audience; the rest answers 404 ("not found"), never 403.
"""

from __future__ import annotations

import pytest

from app.db import database
from app.models import Execution
from tests.integration.api_support import bearer, reset_rate_limits

PATHS = ["catalog", "run page", "run form", "API list", "API get", "API run", "CLI run"]
CASES = [
    # (audience, status, may a student see and run it?)
    (["administrator", "staff"], "approved", False),
    (["staff"], "approved", False),
    (["student"], "approved", True),
    (["administrator", "staff", "student"], "approved", True),
    (["student"], "draft", False),
    (["student"], "pending_approval", False),
    (["student"], "rejected", False),
    (["student"], "disabled", False),
]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    reset_rate_limits()


@pytest.fixture
def setting(make, auth):
    model = make.model(provider="demo", model_id="demo/offline-audiences")
    owner = make.user(roles=("staff",), name="Owner")
    student = auth.sign_in(roles=("student",))
    return {"model": model, "owner": owner, "student": student}


def reaches(path: str, assistant, user, client, auth, runner) -> bool:
    """Whether `user` sees (lists, opens or runs) `assistant` by this path."""
    inputs = {"topic": "tides"}
    if path == "catalog":
        html = client.get("/catalog").get_data(as_text=True)
        return f"/assistants/{assistant.id}/run" in html
    if path == "run page":
        return _allowed(client.get(f"/assistants/{assistant.id}/run").status_code)
    if path == "run form":
        return _allowed(auth.post(f"/assistants/{assistant.id}/run", inputs).status_code)
    headers = bearer(user)
    if path == "API list":
        found = client.get("/api/v1/assistants", headers=headers).get_json()["assistants"]
        return assistant.id in [a["id"] for a in found]
    if path == "API get":
        return _allowed(
            client.get(f"/api/v1/assistants/{assistant.id}", headers=headers).status_code
        )
    if path == "API run":
        url = f"/api/v1/assistants/{assistant.id}/executions"
        return _allowed(client.post(url, headers=headers, json={"inputs": inputs}).status_code)
    assert path == "CLI run"
    args = ["assistants", "run", str(assistant.id), "--as", user.email, "--input", "topic=tides"]
    result = runner.invoke(args=args)
    database.connect(reuse_if_open=True)
    if result.exit_code != 0:
        assert result.output.strip() == (
            f"Error: Assistant {assistant.id} not found for {user.email}: it does not exist, "
            "or they may not run it."
        )
        return False
    return True


def _allowed(status: int) -> bool:
    assert status in (200, 202, 303, 404), status
    return status != 404


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("audience", "status", "allowed"), CASES)
def test_a_student_reaches_an_assistant_only_when_approved_for_students(
    make, client, auth, runner, setting, path, audience, status, allowed
):
    assistant = make.assistant(
        user=setting["owner"],
        status=status,
        audience=audience,
        fields=[{"name": "topic", "label": "Topic"}],
        prompts=[{"name": "A", "content": "About {{topic}}", "model": setting["model"]}],
    )
    assert reaches(path, assistant, setting["student"], client, auth, runner) is allowed
    runs = Execution.select().where(Execution.user == setting["student"]).count()
    assert runs == (1 if allowed and path in ("run form", "API run", "CLI run") else 0)


@pytest.mark.parametrize("path", ["run page", "run form", "API get", "API run", "CLI run"])
def test_the_owner_runs_a_draft_their_students_cannot_see(
    make, client, auth, runner, setting, path
):
    """The owner test-runs in any status (and an audience without students changes nothing)."""
    owner = setting["owner"]
    assistant = make.assistant(
        user=owner,
        status="draft",
        audience=["staff"],
        fields=[{"name": "topic", "label": "Topic"}],
        prompts=[{"name": "A", "content": "About {{topic}}", "model": setting["model"]}],
    )
    auth.sign_in(owner)
    assert reaches(path, assistant, owner, client, auth, runner)
    assert not reaches("catalog", assistant, owner, client, auth, runner)  # drafts: not listed


def test_cli_refuses_another_staff_members_draft_with_a_clear_message(runner, make, setting):
    other = make.user(roles=("staff",), email="other@school.example")
    draft = make.assistant(user=setting["owner"], status="draft")
    result = runner.invoke(args=["assistants", "run", str(draft.id), "--as", other.email])
    assert result.exit_code == 1
    assert (
        f"Assistant {draft.id} not found for other@school.example: it does not exist, or they "
        "may not run it." in result.output
    )
    database.connect(reuse_if_open=True)
    assert Execution.select().count() == 0


def test_cli_refuses_someone_elses_run_and_unknown_or_inactive_accounts(runner, make, setting):
    assistant = make.assistant(user=setting["owner"], status="approved")
    run = Execution.create(
        assistant=assistant, user=setting["owner"], status="running", definition={}
    )
    student = setting["student"].email
    refused = runner.invoke(args=["assistants", "cancel", str(run.id), "--as", student])
    assert refused.exit_code == 1
    assert f"Run {run.id} not found for {student}: it does not exist, or is not theirs." in (
        refused.output
    )
    make.user(roles=("administrator",), email="gone@school.example", is_active=False)
    for email in ("gone@school.example", "nobody@school.example"):
        result = runner.invoke(args=["assistants", "run", str(assistant.id), "--as", email])
        assert result.exit_code == 1 and f"No active account {email}." in result.output
    database.connect(reuse_if_open=True)
    assert Execution.get_by_id(run.id).cancel_requested_at is None
