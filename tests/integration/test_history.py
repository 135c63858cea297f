"""After the run: My runs, failed runs, run detail, feedback, downloads and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest

from app.chain.queue import claim_next, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.models import AuditEvent, Execution, PromptResult
from tests.support.fake_openai import answer_text

FAST = RunnerSettings(flush_interval=0.02, retry_backoff=0.01, read_timeout=2, prompt_timeout=5)
FRAGMENT = {"HX-Request": "true"}
STARTED = dt.datetime(2026, 3, 2, 9, 30, 0)


@pytest.fixture
def seed(make, fake_openai):
    model = make.model(name="Fake GPT", model_id="openai/fake-model", api_base=fake_openai.base_url)
    owner = make.user(roles=("staff",), email="owner@school.example")
    return make.assistant(
        user=owner,
        name="Essay Helper",
        status="approved",
        fields=[{"name": "user_input", "label": "Your text", "options": {"required": True}}],
        prompts=[
            {
                "name": "Analyze",
                "content": "Analyze this: {{user_input}}",
                "system_context": "You are a patient tutor.",
                "model": model,
            },
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


def completed_run(assistant, user, text: str = "hello world") -> Execution:
    execution = start_execution(assistant, user, {"user_input": text})
    drain()
    Execution.update(started_at=STARTED, completed_at=STARTED + dt.timedelta(seconds=4)).where(
        Execution.id == execution.id
    ).execute()
    return Execution.get_by_id(execution.id)


def plain_run(assistant, user, status="completed", started=STARTED, **values) -> Execution:
    return Execution.create(
        assistant=assistant,
        user=user,
        status=status,
        definition=assistant.definition(),
        started_at=started,
        **values,
    )


# --- My runs --------------------------------------------------------------------------------
def test_my_runs_lists_only_mine_with_plain_words(client, auth, make, seed):
    other = make.user()
    plain_run(seed, seed.user, tokens_in=10, tokens_out=5, cost=Decimal("0.0123"))
    plain_run(seed, other, status="failed")
    auth.sign_in(seed.user)
    html = client.get("/runs").get_data(as_text=True)
    assert html.count("<tr>") == 2  # header + my one run
    assert "Essay Helper" in html and ">Done</span>" in html and ">Failed</span>" not in html
    assert ">15<" in html and "$0.0123" in html
    assert other.email not in html


def test_unpriced_run_says_so(client, auth, seed):
    plain_run(seed, seed.user, completed_at=STARTED + dt.timedelta(seconds=3))
    auth.sign_in(seed.user)
    html = client.get("/runs").get_data(as_text=True)
    assert ">unpriced<" in html and "3.0 s" in html


def test_filters_status_assistant_and_dates(client, auth, make, seed):
    second = make.assistant(user=seed.user, name="Quiz Maker", status="approved")
    plain_run(seed, seed.user, status="failed", started=dt.datetime(2026, 3, 1, 12))
    plain_run(seed, seed.user, status="completed", started=dt.datetime(2026, 3, 5, 12))
    plain_run(second, seed.user, status="completed", started=dt.datetime(2026, 3, 9, 12))
    auth.sign_in(seed.user)

    def rows(query: str) -> int:
        response = client.get(f"/runs?{query}", headers=FRAGMENT)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "<html" not in html
        return html.count("<tr>") - 1 if "<table" in html else 0

    assert rows("") == 3
    assert rows("status=failed") == 1
    assert rows(f"assistant={second.id}") == 1
    assert rows("date_from=2026-03-05") == 2
    assert rows("date_to=2026-03-05") == 2  # the whole "to" day counts
    assert rows("date_from=2026-03-02&date_to=2026-03-06&status=completed") == 1
    assert rows("date_from=2026-04-01") == 0
    page = client.get("/runs").get_data(as_text=True)
    assert page.count("<option value=") == 2 + 5 + 2  # "Any" twice, statuses, the two I ran


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=yesterday", "“From” must be a date like 2026-01-31."),
        ("date_to=2026-02-30", "“To” must be a date like 2026-01-31."),
        ("date_from=2026-03-05&date_to=2026-03-01", "“To” must be on or after “From”."),
        ("status=nonsense", "Choose a status from the list."),
    ],
)
def test_bad_filters_get_a_message(client, auth, seed, query, message):
    auth.sign_in(seed.user)
    response = client.get(f"/runs?{query}", headers=FRAGMENT)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_pagination_50_per_page_keeps_filters(client, auth, seed):
    for n in range(51):
        plain_run(seed, seed.user, started=STARTED + dt.timedelta(minutes=n))
    auth.sign_in(seed.user)
    first = client.get("/runs?status=completed").get_data(as_text=True)
    assert first.count("<tr>") == 51  # header + 50
    assert "Newer</a>" not in first
    assert 'href="/runs?status=completed&amp;page=2"' in first
    second = client.get("/runs?status=completed&page=2").get_data(as_text=True)
    assert second.count("<tr>") == 2
    assert "Older</a>" not in second
    assert 'href="/runs?status=completed"' in second and "Newer</a>" in second


def test_exactly_50_runs_have_no_older_link(client, auth, seed):
    for _ in range(50):
        plain_run(seed, seed.user)
    auth.sign_in(seed.user)
    html = client.get("/runs").get_data(as_text=True)
    assert html.count("<tr>") == 51 and "Older</a>" not in html


def test_admin_sees_everyone_with_all_and_failed_runs(client, auth, make, seed):
    admin = make.user(roles=("administrator",))
    plain_run(seed, seed.user, status="failed", error_message="Provider said no")
    plain_run(seed, seed.user)
    auth.sign_in(admin)
    assert client.get("/runs").get_data(as_text=True).count("<tr>") == 0  # none of their own
    everyone = client.get("/runs?all=1").get_data(as_text=True)
    assert everyone.count("<tr>") == 3 and "owner@school.example" in everyone
    response = client.get("/admin/runs/failed")
    assert response.status_code == 302
    assert response.headers["Location"] == "/runs?status=failed&all=1"
    failed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert failed.count("<tr>") == 2 and "Provider said no" in failed


def test_all_is_ignored_for_non_admins_and_failed_page_is_admin_only(client, auth, make, seed):
    plain_run(seed, make.user())
    auth.sign_in(seed.user)
    assert client.get("/runs?all=1").get_data(as_text=True).count("<tr>") == 0
    assert client.get("/admin/runs/failed").status_code == 403


# --- Run detail ------------------------------------------------------------------------------
def test_detail_shows_what_the_model_received(client, auth, seed):
    run = completed_run(seed, seed.user, "hello <b>world</b>")
    auth.sign_in(seed.user)
    response = client.get(f"/runs/{run.id}/detail")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Analyze this: hello &lt;b&gt;world&lt;/b&gt;" in html  # processed content, escaped
    first = answer_text("Analyze this: hello <b>world</b>")
    assert f"Summarize: {first}".replace("<", "&lt;").replace(">", "&gt;") in html
    assert "<b>" not in html  # the output is sanitized Markdown
    assert "Fake GPT" in html and "2026-03-02 09:30:00" in html and "4.0 s" in html
    assert html.count("You are a patient tutor.") == 1  # only the prompt that has one


def test_streamed_step_carries_its_actions(client, auth, seed):
    run = completed_run(seed, seed.user)
    auth.sign_in(seed.user)
    body = client.get(f"/runs/{run.id}/stream").get_data(as_text=True)
    assert body.count('data-copy-target="#step-2-raw" hidden') == 1
    assert f'data:   <form method="post" action="/runs/{run.id}/results/2/feedback"' in body


def test_detail_marks_reused_and_fallback(client, auth, seed):
    run = completed_run(seed, seed.user)
    PromptResult.update(used_fallback=True).where(PromptResult.step == 2).execute()
    PromptResult.update(
        reused_from=PromptResult.select(PromptResult.id).where(PromptResult.step == 2)
    ).where(PromptResult.step == 1).execute()
    auth.sign_in(seed.user)
    html = client.get(f"/runs/{run.id}/detail").get_data(as_text=True)
    assert html.count("Reused from an earlier run") == 1 and html.count(">Fallback model<") == 1


def test_detail_of_others_run_is_404_admin_sees_it(client, auth, make, seed):
    run = plain_run(seed, seed.user)
    auth.sign_in(make.user())
    assert client.get(f"/runs/{run.id}/detail").status_code == 404
    assert client.get(f"/runs/{run.id}/export.md").status_code == 404
    assert client.get(f"/runs/{run.id}/export.json").status_code == 404
    auth.sign_in(make.user(roles=("administrator",)))
    assert client.get(f"/runs/{run.id}/detail").status_code == 200


# --- Results: copy, feedback, downloads -------------------------------------------------------
def test_run_page_has_copy_and_feedback_buttons(client, auth, seed):
    run = completed_run(seed, seed.user)
    auth.sign_in(seed.user)
    html = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert html.count("data-copy-target=") == 2 and 'data-copy-target="#step-1-raw" hidden' in html
    first = answer_text("Analyze this: hello world")
    assert (
        f'<textarea id="step-1-raw" hidden readonly tabindex="-1" aria-hidden="true">{first}'
        in html
    )
    assert html.count('aria-pressed="false"') == 4
    assert f'href="/runs/{run.id}/export.md"' in html and f'href="/runs/{run.id}/detail"' in html


def test_feedback_saved_toggled_and_cleared(client, auth, seed):
    run = completed_run(seed, seed.user)
    auth.sign_in(seed.user)
    url = f"/runs/{run.id}/results/1/feedback"
    response = auth.post(url, {"value": "up"}, headers=FRAGMENT)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and html.count('aria-pressed="true"') == 1
    assert 'name="value" value="clear"' in html  # pressing it again clears
    assert PromptResult.get(PromptResult.step == 1).user_feedback == "up"
    response = auth.post(url, {"value": "down"})  # no JS: back to the run page
    assert response.status_code == 303
    assert response.headers["Location"] == f"/runs/{run.id}#step-1"
    assert PromptResult.get(PromptResult.step == 1).user_feedback == "down"
    back = auth.post(url, {"value": "up", "back": "detail"})
    assert back.headers["Location"] == f"/runs/{run.id}/detail#detail-step-1"
    detail = client.get(f"/runs/{run.id}/detail").get_data(as_text=True)
    assert detail.count('name="back" value="detail"') == 4 and 'aria-pressed="true"' in detail
    auth.post(url, {"value": "clear"})
    assert PromptResult.get(PromptResult.step == 1).user_feedback is None
    assert auth.post(url, {"value": "sideways"}).status_code == 400
    assert auth.post(f"/runs/{run.id}/results/9/feedback", {"value": "up"}).status_code == 404


def test_feedback_on_others_run(client, auth, make, seed):
    run = completed_run(seed, seed.user)
    auth.sign_in(make.user())
    assert auth.post(f"/runs/{run.id}/results/1/feedback", {"value": "up"}).status_code == 404
    auth.sign_in(make.user(roles=("administrator",)))
    assert auth.post(f"/runs/{run.id}/results/1/feedback", {"value": "up"}).status_code == 403
    assert PromptResult.get(PromptResult.step == 1).user_feedback is None


def expected_outputs(text: str) -> tuple[str, str]:
    first = answer_text(f"Analyze this: {text}")
    return first, answer_text(f"Summarize: {first}")


def test_markdown_download_exact(client, auth, seed):
    run = completed_run(seed, seed.user)
    auth.sign_in(seed.user)
    response = client.get(f"/runs/{run.id}/export.md")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="essay-helper-run-{run.id}.md"'
    )
    assert response.mimetype == "text/markdown"
    first, second = expected_outputs("hello world")
    assert response.get_data(as_text=True) == (
        f"# Essay Helper — run {run.id}\n\n"
        "- Status: Done\n"
        "- Started: 2026-03-02T09:30:00Z\n"
        "- Completed: 2026-03-02T09:30:04Z\n"
        f"- Tokens: {run.tokens_in} in, {run.tokens_out} out\n"
        "- Cost: unpriced\n\n"
        "## Inputs\n\n"
        "- **user_input**: hello world\n\n"
        f"## 1. Analyze\n\n{first}\n\n"
        f"## 2. Summarize\n\n{second}\n"
    )
    assert run.tokens_out > 0
    event = AuditEvent.select().where(AuditEvent.action == "execution.exported").get()
    assert event.summary == f"Downloaded run {run.id} as md"


def test_json_download_exact(client, auth, seed):
    run = completed_run(seed, seed.user)
    auth.sign_in(seed.user)
    response = client.get(f"/runs/{run.id}/export.json")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="essay-helper-run-{run.id}.json"'
    )
    document = json.loads(response.get_data(as_text=True))
    first, second = expected_outputs("hello world")
    results = list(PromptResult.select().order_by(PromptResult.step))
    assert document["run"] == {
        "id": run.id,
        "assistant": "Essay Helper",
        "assistant_id": seed.id,
        "user": "owner@school.example",
        "status": "completed",
        "started_at": "2026-03-02T09:30:00Z",
        "completed_at": "2026-03-02T09:30:04Z",
        "duration_seconds": 4.0,
        "tokens_in": run.tokens_in,
        "tokens_out": run.tokens_out,
        "cost": None,
        "has_unpriced": True,
        "error_message": None,
    }
    assert document["inputs"] == {"user_input": "hello world"}
    assert [(r["step"], r["prompt"], r["output"], r["model"]) for r in document["results"]] == [
        (1, "Analyze", first, "Fake GPT"),
        (2, "Summarize", second, "Fake GPT"),
    ]
    assert document["results"][0]["tokens_out"] == results[0].tokens_out
    assert AuditEvent.select().where(AuditEvent.action == "execution.exported").count() == 1


# --- CSV export --------------------------------------------------------------------------------
def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_export_for_owner(client, auth, seed):
    run = completed_run(seed, seed.user, "=HYPERLINK(1)")
    plain_run(seed, seed.user, status="failed", input_data={"user_input": "-2+3"})
    auth.sign_in(seed.user)
    response = client.get(f"/assistants/{seed.id}/runs.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="essay-helper-runs.csv"'
    header, row, failed = read_csv(response)
    assert header == [
        "run id", "user email", "status", "started", "completed", "duration seconds",
        "tokens in", "tokens out", "cost", "user_input", "Analyze", "Summarize",
    ]  # fmt: skip
    first, second = expected_outputs("=HYPERLINK(1)")
    assert row == [
        str(run.id), "owner@school.example", "completed", "2026-03-02T09:30:00Z",
        "2026-03-02T09:30:04Z", "4.0", str(run.tokens_in), str(run.tokens_out), "",
        "'=HYPERLINK(1)", first, second,
    ]  # fmt: skip
    assert failed[2] == "failed" and failed[9] == "'-2+3" and failed[10:] == ["", ""]
    assert AuditEvent.select().where(AuditEvent.action == "execution.exported").count() == 1


def test_csv_fills_older_definitions_by_prompt_name(client, auth, seed):
    run = completed_run(seed, seed.user)
    PromptResult.update(step=PromptResult.step + 10).execute()  # older order, same names
    auth.sign_in(seed.user)
    row = read_csv(client.get(f"/assistants/{seed.id}/runs.csv"))[1]
    assert row[0] == str(run.id) and row[10:] == list(expected_outputs("hello world"))


def test_csv_admin_yes_others_404(client, auth, make, seed):
    plain_run(seed, seed.user)
    auth.sign_in(make.user(roles=("staff",)))
    assert client.get(f"/assistants/{seed.id}/runs.csv").status_code == 404
    assert client.get("/assistants/999999/runs.csv").status_code == 404
    auth.sign_in(make.user(roles=("administrator",)))
    response = client.get(f"/assistants/{seed.id}/runs.csv")
    assert response.status_code == 200 and len(read_csv(response)) == 2
