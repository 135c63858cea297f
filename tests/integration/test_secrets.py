"""Provider keys and SECRET_KEY are never logged, rendered, exported or stored (issue 18).

The key is a sentinel short enough that no "looks like a key" pattern would blank it by chance;
the fake provider quotes it back in its errors, as real providers quote a refused key.
"""

from __future__ import annotations

import json
import logging

import pytest

from app.chain.queue import start_execution
from app.models import (
    AIModel,
    ApiToken,
    AuditEvent,
    Execution,
    ExecutionEvent,
    PromptResult,
)
from tests.integration.api_support import drain

SENTINEL = "hunter2-Sentinel-7Q"
FIELD = {"name": "user_input", "label": "Your text", "options": {"required": True}}


@pytest.fixture
def keyed(make, fake_openai, monkeypatch):
    monkeypatch.setenv("FAKE_API_KEY", SENTINEL)
    admin = make.user(roles=("administrator",))
    model = make.model(
        name="Keyed", model_id="openai/fake-model", api_base=fake_openai.base_url,
        api_key_env="FAKE_API_KEY",
    )  # fmt: skip
    assistant = make.assistant(
        user=admin,
        status="approved",
        fields=[FIELD],
        prompts=[
            {"name": "One", "content": "Analyze: {{user_input}}", "model": model, "position": 0},
            {"name": "Two", "content": "Sum: {{prompt_1_output}}", "model": model, "position": 1},
        ],
    )
    return {"admin": admin, "model": model, "assistant": assistant}


def _everything_stored() -> str:
    parts = []
    for model in (Execution, PromptResult, ExecutionEvent, AuditEvent, AIModel, ApiToken):
        for row in model.select().dicts():
            parts.append(json.dumps(row, default=str))
    return "\n".join(parts)


def _log_text(caplog) -> str:
    formatter = logging.Formatter("%(message)s %(exc_info)s")
    return "\n".join(
        formatter.format(r) + " " + json.dumps(r.__dict__, default=str) for r in caplog.records
    )


def test_the_key_is_sent_to_the_provider_but_appears_nowhere_else(
    app, auth, keyed, fake_openai, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    admin, assistant = keyed["admin"], keyed["assistant"]
    done = start_execution(assistant, admin, {"user_input": "hello"})
    drain()
    # Not vacuous: the provider received the key.
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {SENTINEL}"
    failed_400 = start_execution(assistant, admin, {"user_input": "[[fail-echo-key:400]] hi"})
    failed_401 = start_execution(assistant, admin, {"user_input": "[[fail-echo-key:401]] hi"})
    drain()
    for failed in (failed_400, failed_401):
        stored = Execution.get_by_id(failed.id)
        assert stored.status == "failed"
        assert "[hidden]" in stored.error_message or "refused the API key" in stored.error_message
    assert (
        "Incorrect API key provided: [hidden]" in Execution.get_by_id(failed_400.id).error_message
    )

    auth.sign_in(admin)
    pages = []
    for execution in (done, failed_400, failed_401):
        for url in (
            f"/runs/{execution.id}",
            f"/runs/{execution.id}/detail",
            f"/runs/{execution.id}/stream",
            f"/runs/{execution.id}/export.md",
            f"/runs/{execution.id}/export.json",
        ):
            response = auth.client.get(url)
            assert response.status_code == 200, url
            pages.append(response.get_data(as_text=True))
    for url in (
        "/runs?all=1",
        "/admin/runs/failed",
        "/admin/models",
        f"/admin/models/{keyed['model'].id}/edit",
        f"/assistants/{assistant.id}/runs.csv",
        "/admin/budgets",
    ):
        pages.append(auth.client.get(url).get_data(as_text=True))
    # The connection test quotes the key back too.
    fake_openai.script("fail-echo-key:401")
    tested = auth.post(f"/admin/models/{keyed['model'].id}/test", headers={"HX-Request": "true"})
    pages.append(tested.get_data(as_text=True))
    assert "refused" in pages[-1]
    _, secret = ApiToken.issue(admin, "read", ["assistants:read"])
    bearer = {"Authorization": f"Bearer {secret}"}
    for execution in (done, failed_400):
        for url in (
            f"/api/v1/executions/{execution.id}",
            f"/api/v1/executions/{execution.id}/events",
        ):
            pages.append(auth.client.get(url, headers=bearer).get_data(as_text=True))

    secret_key = app.config["SECRET_KEY"]
    out, err = capfd.readouterr()
    for where, text in {
        "pages": "\n".join(pages),
        "database": _everything_stored(),
        "log records": _log_text(caplog),
        "stdout/stderr": out + err,
    }.items():
        assert SENTINEL not in text, where
        assert secret_key not in text, where
    assert "Keyed" in "\n".join(pages)  # the pages were real pages


def test_a_key_variable_outside_the_allowlist_is_never_read(app, keyed, make, monkeypatch, caplog):
    """A row that names SECRET_KEY (saved before the rule, or by hand) fails at call time."""
    caplog.set_level(logging.DEBUG)
    AIModel.update(api_key_env="SECRET_KEY").where(AIModel.id == keyed["model"].id).execute()
    monkeypatch.setenv("SECRET_KEY", SENTINEL)
    run = start_execution(keyed["assistant"], keyed["admin"], {"user_input": "x"})
    drain()
    stored = Execution.get_by_id(run.id)
    assert stored.status == "failed"
    assert "SECRET_KEY is not allowed" in stored.error_message
    assert SENTINEL not in _everything_stored() and SENTINEL not in _log_text(caplog)
