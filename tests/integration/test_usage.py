"""The administrators' usage report: exact figures per user, assistant, model and ISO week."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from app.models import Execution, ExecutionMessage, PromptResult
from app.usage import usage_report, week_range

# Two ISO weeks: 2026-W10 (Mon 2 March) and 2026-W11 (Mon 9 March); one run a week earlier.
W10, W11 = dt.date(2026, 3, 2), dt.date(2026, 3, 9)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


@pytest.fixture
def seeded(make):
    priced = make.model(
        name="Priced", input_cost_per_1k=Decimal("1"), output_cost_per_1k=Decimal("2")
    )
    free = make.model(name="Local Llama", model_id="openai/llama-local")
    ada = make.user(roles=("staff",), name="Ada", email="ada@school.example")
    bob = make.user(roles=("student",), name="Bob", email="bob@school.example")
    essay = make.assistant(user=ada, name="Essay Helper", status="approved")
    quiz = make.assistant(user=ada, name="Quiz Maker", status="approved")

    def run(assistant, user, started, *prompts, chat=()):
        execution = Execution.create(
            assistant=assistant,
            user=user,
            status="completed",
            definition=assistant.definition(),
            started_at=started,
        )
        for step, (model, t_in, t_out, cost) in enumerate(prompts, start=1):
            PromptResult.create(
                execution=execution,
                step=step,
                prompt_name=f"P{step}",
                status="completed",
                model=model,
                tokens_in=t_in,
                tokens_out=t_out,
                cost=cost,
                started_at=started,
            )
        for model, t_in, t_out, cost, asked in chat:
            ExecutionMessage.create(execution=execution, role="user", content="?", created_at=asked)
            ExecutionMessage.create(
                execution=execution,
                role="assistant",
                content="!",
                model=model,
                tokens_in=t_in,
                tokens_out=t_out,
                cost=cost,
                created_at=asked,
            )
        return execution

    # W10: Ada runs Essay (priced + free), Bob runs Essay (priced) — Sunday 23:30 is still W10.
    run(essay, ada, at(W10), (priced, 100, 50, Decimal("0.2")), (free, 10, 5, None))
    first_bob = run(
        essay,
        bob,
        dt.datetime.combine(W10 + dt.timedelta(days=6), dt.time(23, 30)),
        (priced, 200, 100, Decimal("0.4")),
        chat=[(priced, 30, 20, Decimal("0.07"), at(W11, 8))],  # asked the next week: W11
    )
    # W11: Bob runs Quiz (free only); a failed prompt (no usage) is not "unpriced".
    run(quiz, bob, at(W11 + dt.timedelta(days=2)), (free, 40, 60, None))
    failed = run(quiz, ada, at(W11 + dt.timedelta(days=3)))
    PromptResult.create(
        execution=failed,
        step=1,
        prompt_name="P1",
        status="failed",
        model=priced,
        started_at=at(W11),
    )
    # A retry's reused copy is not counted twice.
    retry = run(essay, bob, at(W11 + dt.timedelta(days=4)))
    original = PromptResult.get(PromptResult.execution == first_bob.id)
    PromptResult.create(
        execution=retry,
        step=1,
        prompt_name="P1",
        status="completed",
        model=priced,
        tokens_in=200,
        tokens_out=100,
        cost=Decimal("0.4"),
        reused_from=original,
        started_at=at(W11),
    )
    # Outside the range (W09).
    run(essay, ada, at(W10 - dt.timedelta(days=1)), (priced, 999, 999, Decimal("9")))
    return {"priced": priced, "free": free, "ada": ada, "bob": bob, "essay": essay, "quiz": quiz}


def figures(rows, week):
    return {
        r.name: (
            r.runs,
            r.prompt_calls,
            r.chat_answers,
            r.tokens_in,
            r.tokens_out,
            r.cost,
            r.unpriced,
        )
        for r in rows
        if r.week == week
    }


def test_figures_per_user_assistant_model_and_week(seeded):
    report = usage_report(W10, W11)
    assert report.weeks == [W11, W10] and report.start == W10
    assert report.end == W11 + dt.timedelta(days=6)
    D = Decimal
    assert figures(report.by["user"], W10) == {
        "Ada": (1, 2, 0, 110, 55, D("0.2"), 1),
        "Bob": (1, 1, 0, 200, 100, D("0.4"), 0),
    }
    assert figures(report.by["user"], W11) == {
        "Ada": (1, 1, 0, 0, 0, D("0"), 0),
        "Bob": (2, 1, 1, 70, 80, D("0.07"), 1),
    }
    assert figures(report.by["assistant"], W10) == {
        "Essay Helper": (2, 3, 0, 310, 155, D("0.6"), 1)
    }
    assert figures(report.by["assistant"], W11) == {
        "Essay Helper": (1, 0, 1, 30, 20, D("0.07"), 0),
        "Quiz Maker": (2, 2, 0, 40, 60, D("0"), 1),
    }
    assert figures(report.by["model"], W10) == {
        "Priced": (2, 2, 0, 300, 150, D("0.6"), 0),
        "Local Llama": (1, 1, 0, 10, 5, D("0"), 1),
    }
    assert figures(report.by["model"], W11) == {
        "Priced": (1, 1, 1, 30, 20, D("0.07"), 0),
        "Local Llama": (1, 1, 0, 40, 60, D("0"), 1),
    }
    week10, week11 = (r for r in sorted(report.by_week, key=lambda r: r.week))
    assert (week10.runs, week10.tokens, week10.cost, week10.unpriced) == (2, 465, D("0.6"), 1)
    assert (week11.runs, week11.tokens, week11.cost, week11.unpriced) == (3, 150, D("0.07"), 1)
    assert report.total.runs == 5 and report.total.cost == D("0.67")
    assert report.unpriced_models == ["Local Llama"]


def test_week_range_is_whole_iso_weeks():
    today = dt.date(2026, 3, 12)  # a Thursday in W11
    assert week_range(2, today) == (W10, W11 + dt.timedelta(days=6))
    assert week_range(8, today, dt.date(2026, 3, 4), dt.date(2026, 3, 10)) == (
        W10,
        W11 + dt.timedelta(days=6),
    )


def test_page_shows_the_report_and_calls_out_unpriced(client, auth, make, seeded):
    auth.sign_in(make.user(roles=("administrator",)))
    response = client.get("/admin/usage?date_from=2026-03-02&date_to=2026-03-15")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2026-W10" in html and "2026-W11" in html and "2026-W09" not in html
    assert "2 calls used a model with no price" in html and "Local Llama" in html
    assert "$0.6700" in html and "ada@school.example" in html
    assert 'href="/admin/usage"' in client.get("/admin/users").get_data(as_text=True)
    fragment = client.get("/admin/usage?weeks=4", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)


def test_bad_range_gets_a_message(client, auth, make):
    auth.sign_in(make.user(roles=("administrator",)))
    response = client.get("/admin/usage?date_from=2026-03-10&date_to=2026-03-01&weeks=x")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "“To” must be on or after “From”." in html and "Choose between 1 and 104 weeks." in html


def test_csv_download_has_the_same_figures(client, auth, make, seeded):
    auth.sign_in(make.user(roles=("administrator",)))
    response = client.get("/admin/usage.csv?date_from=2026-03-02&date_to=2026-03-15")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "usage-2026-03-02-to-2026-03-15.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    model = {(r["iso_week"], r["name"]): r for r in rows if r["dimension"] == "model"}
    assert model[("2026-W10", "Local Llama")]["unpriced_calls"] == "1"
    assert model[("2026-W11", "Priced")]["cost"] == "0.07000000"
    assert model[("2026-W11", "Priced")]["chat_answers"] == "1"
    people = {(r["iso_week"], r["email"]): r for r in rows if r["dimension"] == "user"}
    assert people[("2026-W11", "bob@school.example")]["runs"] == "2"
    weeks = [r for r in rows if r["dimension"] == "week"]
    assert [r["iso_week"] for r in weeks] == ["2026-W11", "2026-W10"]


def test_not_for_staff_or_students(client, auth, make):
    auth.sign_in(make.user(roles=("staff",)))
    assert client.get("/admin/usage").status_code == 403
    assert client.get("/admin/usage.csv").status_code == 403


def test_signed_out_goes_to_sign_in(client):
    response = client.get("/admin/usage")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
