"""Budgets (issue 18): set by administrators, counted in the database, enforced where runs start."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

from app import budgets
from app.budgets import BudgetExceeded
from app.chain.queue import retry_from, start_execution
from app.db import database, utcnow
from app.models import AuditEvent, Budget, Execution, ExecutionMessage
from tests.integration.api_support import assert_problem, bearer, reset_rate_limits

FIELD = {"name": "user_input", "label": "Your text", "options": {"required": True}}


@pytest.fixture
def world(make):
    reset_rate_limits()
    model = make.model(name="Demo", model_id="openai/budget-model")
    owner = make.user(roles=("staff",), name="Olive Owner")
    assistant = make.assistant(
        user=owner,
        name="Essay helper",
        status="approved",
        audience=["staff", "student"],
        fields=[FIELD],
        prompts=[{"name": "One", "content": "Say {{user_input}}", "model": model, "position": 0}],
    )
    return {"owner": owner, "assistant": assistant, "model": model}


def set_budget(scope: str = "default", **values) -> None:
    row, _ = Budget.get_or_create(scope=scope)
    for name, value in values.items():
        setattr(row, name, value)
    row.save()


def run_form(auth, assistant, text: str = "my carefully typed essay"):
    return auth.post(f"/assistants/{assistant.id}/run", {"user_input": text})


# --- the admin page ----------------------------------------------------------------------------
def test_admin_page_shows_limits_and_spending_with_unpriced_runs(auth, make, world):
    auth.sign_in(roles=("administrator",))
    set_budget(runs_per_day=20, assistant_cost_per_month=Decimal("5"))
    owner, assistant = world["owner"], world["assistant"]
    Execution.create(
        assistant=assistant, user=owner, status="completed", definition={}, cost=Decimal("1.25")
    )
    Execution.create(
        assistant=assistant, user=owner, status="completed", definition={}, has_unpriced=True
    )
    page = auth.client.get("/admin/budgets")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="20"' in html and 'value="5.00"' in html
    assert "Essay helper" in html and "$1.25" in html and "$3.75 left" in html
    assert "1 unpriced run" in html and "counted as $0.00" in html
    assert 'href="/admin/budgets" aria-current="page"' in html


def test_only_administrators_see_the_budgets(auth, world):
    auth.sign_in(roles=("staff",))
    assert auth.client.get("/admin/budgets").status_code == 403
    assert auth.post("/admin/budgets", {"default_runs_per_day": "1"}).status_code == 403
    assert not Budget.select().exists()


def test_saving_budgets_stores_them_and_audits_the_change(auth, world):
    admin = auth.sign_in(roles=("administrator",))
    response = auth.post(
        "/admin/budgets",
        {
            "default_runs_per_day": "50",
            "default_concurrent_runs": "3",
            "student_runs_per_day": "10",
            "assistant_cost_per_month": "25.50",
        },
    )
    assert response.status_code == 303
    rows = budgets.budget_rows()
    assert rows["default"].runs_per_day == 50 and rows["default"].concurrent_runs == 3
    assert rows["default"].assistant_cost_per_month == Decimal("25.50")
    assert rows["student"].runs_per_day == 10 and rows["student"].concurrent_runs is None
    assert rows["default"].updated_by_id == admin.id
    event = AuditEvent.get(AuditEvent.action == "budgets.changed")
    assert event.actor_id == admin.id
    assert event.details["changes"]["default"]["runs_per_day"] == ["no limit", "50"]
    assert event.details["changes"]["student"] == {"runs_per_day": ["no limit", "10"]}
    assert "Students: runs per day no limit → 10" in event.summary
    # Saving the same values again changes nothing and audits nothing.
    again = auth.post(
        "/admin/budgets",
        {
            "default_runs_per_day": "50",
            "default_concurrent_runs": "3",
            "student_runs_per_day": "10",
            "assistant_cost_per_month": "25.5",
        },
    )
    assert again.status_code == 303
    assert AuditEvent.select().where(AuditEvent.action == "budgets.changed").count() == 1


def test_invalid_budgets_come_back_with_messages_and_what_was_typed(auth, world):
    auth.sign_in(roles=("administrator",))
    response = auth.post(
        "/admin/budgets",
        {
            "default_runs_per_day": "-3",
            "staff_concurrent_runs": "lots",
            "assistant_cost_per_month": "1.999",
        },
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert "Enter a whole number from 0 to 1,000,000" in html
    assert "at most 2 decimal places" in html
    assert 'value="-3"' in html and 'value="lots"' in html and 'value="1.999"' in html
    assert not Budget.select().exists()
    assert not AuditEvent.select().where(AuditEvent.action == "budgets.changed").exists()


# --- runs per person per day -------------------------------------------------------------------
def test_run_form_refuses_past_the_daily_limit_and_keeps_the_input(auth, world):
    user = auth.sign_in(roles=("staff",))
    set_budget(runs_per_day=2)
    assert run_form(auth, world["assistant"]).status_code == 303
    assert run_form(auth, world["assistant"]).status_code == 303
    refused = run_form(auth, world["assistant"], "third essay <kept>")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "You have used all 2 of your runs for today" in html
    assert "resets at midnight UTC" in html
    assert "third essay &lt;kept&gt;</textarea>" in html
    assert Execution.select().where(Execution.user == user.id).count() == 2


def test_runs_of_yesterday_do_not_count(world, make):
    user = make.user(roles=("staff",))
    set_budget(runs_per_day=1)
    yesterday = utcnow() - dt.timedelta(days=1)
    Execution.create(
        assistant=world["assistant"], user=user, status="completed", definition={},
        started_at=yesterday,
    )  # fmt: skip
    start_execution(world["assistant"], user, {"user_input": "x"})
    with pytest.raises(BudgetExceeded) as refused:
        start_execution(world["assistant"], user, {"user_input": "x"})
    assert refused.value.budget == "runs_per_day"
    tomorrow = budgets.day_start(utcnow()) + dt.timedelta(days=1)
    assert refused.value.resets_at == tomorrow
    assert 0 < refused.value.retry_after <= 86_401


def test_role_overrides_and_the_most_generous_role_wins(world, make):
    set_budget(runs_per_day=1)
    set_budget("staff", runs_per_day=3)
    set_budget("student", runs_per_day=0)
    student = make.user(roles=("student",))
    staff = make.user(roles=("staff",))
    both = make.user(roles=("student", "staff"))
    admin = make.user(roles=("administrator",))
    assert budgets.limits_for(student).runs_per_day == 0
    assert budgets.limits_for(staff).runs_per_day == 3
    assert budgets.limits_for(both).runs_per_day == 3
    assert budgets.limits_for(admin).runs_per_day == 1  # no override: the default
    with pytest.raises(BudgetExceeded):
        start_execution(world["assistant"], student, {"user_input": "x"})
    for _ in range(3):
        start_execution(world["assistant"], both, {"user_input": "x"})
    with pytest.raises(BudgetExceeded):
        start_execution(world["assistant"], both, {"user_input": "x"})


# --- runs at once --------------------------------------------------------------------------------
def test_api_answers_429_with_retry_after_for_runs_at_once(client, world, make):
    user = make.user(roles=("staff",))
    set_budget(concurrent_runs=1)
    headers = bearer(user)
    url = f"/api/v1/assistants/{world['assistant'].id}/executions"
    first = client.post(url, json={"inputs": {"user_input": "a"}}, headers=headers)
    assert first.status_code == 202
    second = client.post(url, json={"inputs": {"user_input": "b"}}, headers=headers)
    body = assert_problem(second, 429)
    assert second.headers["Retry-After"] == str(budgets.CONCURRENCY_RETRY_SECONDS)
    assert body["budget"] == "concurrent_runs" and "limit is 1 at once" in body["detail"]
    assert body["type"] == "urn:assistant-architect:problem:budget-exceeded"
    # When the first one finishes, the next may start.
    Execution.update(status="completed").where(Execution.id == first.get_json()["id"]).execute()
    assert (
        client.post(url, json={"inputs": {"user_input": "c"}}, headers=headers).status_code == 202
    )


def test_api_daily_limit_says_seconds_until_midnight(client, world, make):
    user = make.user(roles=("staff",))
    set_budget(runs_per_day=0)
    response = client.post(
        f"/api/v1/assistants/{world['assistant'].id}/executions",
        json={"inputs": {"user_input": "a"}},
        headers=bearer(user),
    )
    body = assert_problem(response, 429)
    now = utcnow()
    to_midnight = (budgets.day_start(now) + dt.timedelta(days=1) - now).total_seconds()
    assert abs(int(response.headers["Retry-After"]) - to_midnight) < 5
    assert body["budget"] == "runs_per_day"
    assert not Execution.select().exists()


# --- spending per assistant per month ------------------------------------------------------------
def test_spending_limit_stops_an_assistant_until_next_month(auth, world, make):
    user = auth.sign_in(roles=("staff",))
    set_budget(assistant_cost_per_month=Decimal("2.00"))
    assistant, owner = world["assistant"], world["owner"]
    last_month = budgets.month_start(utcnow()) - dt.timedelta(days=3)
    Execution.create(
        assistant=assistant, user=owner, status="completed", definition={},
        cost=Decimal("50"), started_at=last_month,
    )  # fmt: skip
    Execution.create(
        assistant=assistant, user=owner, status="completed", definition={}, cost=Decimal("1.50")
    )
    assert run_form(auth, assistant).status_code == 303  # $1.50 of $2.00
    Execution.create(
        assistant=assistant, user=owner, status="completed", definition={}, cost=Decimal("0.60")
    )
    refused = run_form(auth, assistant, "kept text")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "has reached its spending limit of $2.00" in html and "($2.10 spent)" in html
    assert "It resets on 1 " in html and "kept text</textarea>" in html
    # Another assistant is not affected.
    other = make.assistant(user=owner, status="approved", audience=["staff"])
    assert start_execution(other, user, {}).status == "pending"


def test_follow_up_chat_counts_towards_the_assistant(world, make):
    user = make.user(roles=("staff",))
    set_budget(assistant_cost_per_month=Decimal("1"))
    run = Execution.create(
        assistant=world["assistant"], user=user, status="completed", definition={},
        cost=Decimal("0.40"),
    )  # fmt: skip
    ExecutionMessage.create(execution=run, role="assistant", content="x", cost=Decimal("0.35"))
    spend = budgets.spend_this_month(utcnow(), world["assistant"].id)[0]
    assert spend.cost == Decimal("0.75") and spend.runs == 1
    ExecutionMessage.create(execution=run, role="assistant", content="y", cost=Decimal("0.25"))
    with pytest.raises(BudgetExceeded) as refused:
        start_execution(world["assistant"], user, {"user_input": "x"})
    assert "($1.00 spent)" in refused.value.message


def test_unpriced_runs_count_zero(world, make):
    user = make.user(roles=("staff",))
    set_budget(assistant_cost_per_month=Decimal("1"))
    for _ in range(5):
        Execution.create(
            assistant=world["assistant"], user=user, status="completed", definition={},
            has_unpriced=True, cost=None,
        )  # fmt: skip
    spend = budgets.spend_this_month(utcnow(), world["assistant"].id)[0]
    assert spend.cost == 0 and spend.unpriced_runs == 5 and spend.runs == 5
    assert start_execution(world["assistant"], user, {"user_input": "x"}).status == "pending"


# --- retry and the CLI go through the same gate ------------------------------------------------
def test_retry_is_refused_with_a_message(auth, world):
    user = auth.sign_in(roles=("staff",))
    failed = Execution.create(
        assistant=world["assistant"], user=user, status="failed", definition=world[
            "assistant"
        ].definition(),
    )  # fmt: skip
    set_budget(runs_per_day=1)
    response = auth.post(f"/runs/{failed.id}/retry", {"step": "1"}, follow_redirects=True)
    assert "You have used all 1 of your runs for today" in response.get_data(as_text=True)
    assert Execution.select().count() == 1
    with pytest.raises(BudgetExceeded):
        retry_from(failed, 1, user)


def test_cli_run_is_refused_with_the_reason(runner, world, make):
    user = make.user(roles=("staff",), email="cli@school.example")
    set_budget("staff", runs_per_day=0)
    database.close()
    result = runner.invoke(
        args=["assistants", "run", str(world["assistant"].id), "--as", user.email,
              "--input", "user_input=hi"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "You have used all 0 of your runs for today" in result.output
    database.connect(reuse_if_open=True)
    assert not Execution.select().exists()


# --- race safety ---------------------------------------------------------------------------
def test_concurrent_starts_never_exceed_the_limit(world, make):
    """Twelve starts at once (each on its own connection, as separate processes would be)."""
    user = make.user(roles=("staff",))
    set_budget(concurrent_runs=3, runs_per_day=100)
    database.close()
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def start() -> None:
        barrier.wait()
        try:
            start_execution(world["assistant"], user, {"user_input": "x"})
            outcomes.append("started")
        except BudgetExceeded:
            outcomes.append("refused")
        finally:
            if not database.is_closed():
                database.close()

    threads = [threading.Thread(target=start) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    database.connect(reuse_if_open=True)
    assert sorted(outcomes) == ["refused"] * 9 + ["started"] * 3
    assert Execution.select().where(Execution.user == user.id).count() == 3


def test_defaults_are_unlimited(world, make):
    user = make.user(roles=("student",))
    assert budgets.limits_for(user).unlimited
    for _ in range(5):
        start_execution(world["assistant"], user, {"user_input": "x"})
    assert Execution.select().count() == 5
