"""`flask qa seed`: the QA accounts and models, idempotent, passwords from the environment."""

from __future__ import annotations

import re

from app.models import AIModel, Assistant, User
from app.models.audit import AuditEvent

ENV = {
    "QA_ADMIN_PASSWORD": "an admin password here",
    "QA_STAFF_EMAIL": "QA.Teacher@School.example",
    "QA_STAFF_PASSWORD": "a staff password here",
}


def test_seed_creates_one_account_per_role_and_the_demo_model(runner):
    result = runner.invoke(args=["qa", "seed"], env={**ENV, "QA_STUDENT_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    admin = User.by_email("admin@school.example")
    staff = User.by_email("qa.teacher@school.example")
    student = User.by_email("student@school.example")
    assert admin.role_names == {"administrator"} and admin.check_password(ENV["QA_ADMIN_PASSWORD"])
    assert staff.role_names == {"staff"} and staff.check_password(ENV["QA_STAFF_PASSWORD"])
    assert student.role_names == {"student"}
    # No password given for the student: one is generated, printed once, and it works.
    printed = re.search(
        r"student: created student@school\.example with the password (\S+) ", result.output
    )
    assert printed and student.check_password(printed.group(1))
    assert ENV["QA_ADMIN_PASSWORD"] not in result.output  # given passwords are never echoed
    assert AIModel.get(AIModel.model_id == "demo/offline").is_active
    assert Assistant.get(Assistant.name == "Analyze and summarize").status == "approved"
    assert AuditEvent.select().where(AuditEvent.action == "user.created").count() == 3


def test_seed_twice_changes_nothing(runner):
    assert runner.invoke(args=["qa", "seed"], env=ENV).exit_code == 0
    hashes = {u.email: u.password_hash for u in User.select()}
    again = runner.invoke(args=["qa", "seed"], env={**ENV, "QA_ADMIN_PASSWORD": "another one!!"})
    assert again.exit_code == 0, again.output
    assert "admin: admin@school.example already exists" not in again.output
    assert (
        "administrator: admin@school.example already exists (administrator; active)" in again.output
    )
    assert {u.email: u.password_hash for u in User.select()} == hashes
    assert AIModel.select().count() == 1 and Assistant.select().count() == 1
    assert "demo: already present." in again.output
    assert AuditEvent.select().where(AuditEvent.action == "user.created").count() == 3


def test_seed_adds_the_fake_provider_model_once(runner):
    url = "http://127.0.0.1:8001/v1"
    first = runner.invoke(args=["qa", "seed", "--fake-provider-url", url], env=ENV)
    assert first.exit_code == 0, first.output
    model = AIModel.get(AIModel.model_id == "openai/fake-model")
    assert (model.api_base, model.provider, model.is_active) == (url, "openai-compatible", True)
    second = runner.invoke(args=["qa", "seed", "--fake-provider-url", url], env=ENV)
    assert "model: openai/fake-model already exists." in second.output
    assert AIModel.select().count() == 2


def test_seed_refuses_a_short_password_and_a_bad_address(runner):
    short = runner.invoke(args=["qa", "seed"], env={"QA_ADMIN_PASSWORD": "short"})
    assert short.exit_code == 1
    assert "QA_ADMIN_PASSWORD: use at least 10 characters." in short.output
    assert User.select().count() == 0
    bad = runner.invoke(args=["qa", "seed", "--fake-provider-url", "not a url"], env=ENV)
    assert bad.exit_code == 1
    assert "The fake-provider model was not added" in bad.output
    assert not AIModel.select().where(AIModel.model_id == "openai/fake-model").exists()
