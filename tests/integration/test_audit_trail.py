"""The audit trail: every state change writes a row, through `record()` only (DESIGN §8)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app.db import database
from app.models import AIModel, Assistant, AuditEvent, Execution, User
from tests.integration.authz_table import OK, SIGN_IN, TABLE
from tests.integration.test_authz_matrix import World, call, routes

ROOT = Path(__file__).resolve().parents[2]
WRITES = (
    "create|insert|insert_many|insert_from|replace|replace_many|update|delete|delete_by_id"
    "|delete_instance|save|bulk_create|bulk_update|get_or_create|truncate_table|drop_table"
)
MODEL_WRITE = re.compile(rf"(?<!class )\bAuditEvent\s*(?:\(|\.\s*(?:{WRITES})\b)")
SQL_WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|COPY)\s+\"?audit_events\b",
    re.IGNORECASE,
)
THE_WRITER = ROOT / "app" / "models" / "audit.py"

# POSTs that change nothing, so write no row: live checks, previews, a connection test.
READ_ONLY_POSTS = {
    "POST builder.check_field_name",
    "POST builder.check_prompt",
    "POST builder.run_preview",
    "POST admin.test_model",
}


def audit_writers(source: str) -> list[str]:
    """The lines of `source` that write audit_events (through the model or in SQL)."""
    return [
        line.strip()
        for line in source.splitlines()
        if MODEL_WRITE.search(line) or SQL_WRITE.search(line)
    ]


def test_the_scan_finds_writers():
    assert audit_writers("AuditEvent.create(action='x')") == ["AuditEvent.create(action='x')"]
    assert audit_writers("AuditEvent.insert_many(rows).execute()")
    assert audit_writers("event = AuditEvent(action='x')")
    assert audit_writers("AuditEvent . delete().where(AuditEvent.id == 1)")
    assert audit_writers('db.execute_sql("DELETE FROM audit_events")')
    assert audit_writers("cursor.execute('insert into \"audit_events\" values (1)')")
    assert not audit_writers("AuditEvent.select().where(AuditEvent.action == 'x')")
    assert not audit_writers("SELECT * FROM audit_events")
    assert not audit_writers("class AuditEvent(Model):")  # a migration's frozen copy


def test_nothing_but_record_writes_the_audit_trail():
    """Every Python file of the app (and migrations, scripts) except the one function."""
    found = []
    for path in sorted(ROOT.glob("**/*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "tests", "node_modules", "build"} or path == THE_WRITER:
            continue
        if "site-packages" in parts or parts[0].startswith("."):
            continue
        found += [f"{path.relative_to(ROOT)}: {line}" for line in audit_writers(path.read_text())]
    assert not found, "Only app.models.audit.record() may write audit_events:\n" + "\n".join(found)


def test_inside_the_audit_module_only_record_writes():
    tree = ast.parse(THE_WRITER.read_text())
    writers = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            body = ast.get_source_segment(THE_WRITER.read_text(), node) or ""
            if audit_writers(body):
                writers[node.name] = audit_writers(body)
    assert list(writers) == ["record"]


# --- every successful POST writes a row ---------------------------------------------------------
def _run_status(status: str):
    return lambda ids: (
        Execution.update(status=status).where(Execution.id == ids["execution_id"]).execute()
    )


def _assistant_status(status: str):
    return lambda ids: (
        Assistant.update(status=status).where(Assistant.id == ids["assistant_id"]).execute()
    )


# POSTs the matrix sends with a body that is refused (nothing changes); tested on their own.
REFUSED_ON_CONTENT = {"POST auth.sign_in"}

# What makes a POST a real change on the seeded objects (the matrix's seeds are at rest).
PREPARE = {
    "POST admin.activate_model": lambda ids: (
        AIModel.update(is_active=False).where(AIModel.id == ids["ai_model_id"]).execute()
    ),
    "POST runs.cancel": _run_status("running"),
    "POST api.cancel_execution": _run_status("running"),
    "POST runs.retry": _run_status("failed"),
    "POST builder.submit": _assistant_status("draft"),
    "POST builder.enable": _assistant_status("disabled"),
    "POST admin.approve": _assistant_status("pending_approval"),
    "POST admin.reject": _assistant_status("pending_approval"),
}
# POSTs whose actor is not the caller: a reset link acts for the account it was issued for.
ACTS_FOR_ITS_SUBJECT = {"POST auth.reset_password"}
# POSTs whose success sends the caller to sign in (SIGN_IN in the matrix, yet a change).
SUCCEED_TO_SIGN_IN = {"POST auth.reset_password"}
POST_CASES = [
    (key, actor)
    for key in sorted(TABLE)
    if key.startswith("POST ") and key not in READ_ONLY_POSTS
    for actor in ("owner", "admin")
    if TABLE[key][("anonymous", "student", "owner", "other_staff", "admin").index(actor)]
    in ((OK, SIGN_IN) if key in SUCCEED_TO_SIGN_IN else (OK,))
]


@pytest.mark.parametrize(("key", "actor"), POST_CASES)
def test_every_successful_post_writes_an_audit_row(app, client, make, key, actor):
    world = World(make)
    [rule, *_] = routes(app)[key]
    before = AuditEvent.select().count()
    statuses: list[int] = []
    original = client.open

    def spy(*args, **kwargs):
        response = original(*args, **kwargs)
        statuses.append(response.status_code)
        return response

    client.open = spy  # type: ignore[method-assign]
    try:
        call(app, client, world, key, rule, actor, PREPARE.get(key))
    finally:
        client.open = original  # type: ignore[method-assign]
    status = statuses[-1]
    written = list(AuditEvent.select().order_by(AuditEvent.id).offset(before))
    if key in REFUSED_ON_CONTENT:
        assert status == 422, f"{key} as {actor}: {status}"
        return  # refused on its content: nothing changed, so nothing to record
    assert status < 400, (
        f"{key} as {actor} answered {status}: give it a body that succeeds in "
        "tests/integration/authz_table.py BODIES"
    )
    assert written, (
        f"{key} as {actor} answered {status} but wrote no audit row. If it changed something, "
        "call security.audit(); if this request changed nothing, make it change something (a "
        "body in authz_table.BODIES, or PREPARE here); if it never changes state, add it to "
        "READ_ONLY_POSTS."
    )
    for event in written:
        assert event.summary and event.action
        if key in ACTS_FOR_ITS_SUBJECT:
            assert str(event.actor_id) == event.target_id  # the account, whoever held the link
            assert event.actor_id != world.users[actor].id
        elif key != "POST auth.sign_out":
            assert event.actor_id == world.users[actor].id
        if not key.startswith("POST api."):
            assert event.ip == "127.0.0.1" and event.request_id


# --- actions with no route of their own, or more than one outcome --------------------------------
def test_sign_in_failures_are_recorded_with_the_reason(client, auth, make):
    admin = make.user(roles=("administrator",))
    gone = make.user(roles=("staff",), email="gone@school.example", is_active=False)
    for email, password in [
        (admin.email, "not the password"),
        ("nobody@school.example", "whatever it is"),
        (gone.email, make.PASSWORD),
    ]:
        response = auth.post("/sign-in", {"email": email, "password": password})
        assert response.status_code == 422
    rows = list(
        AuditEvent.select()
        .where(AuditEvent.action == "user.sign_in_failed")
        .order_by(AuditEvent.id)
    )
    assert [r.summary for r in rows] == [
        f"Sign-in of {admin.email} with password refused: wrong password",
        "Sign-in of nobody@school.example with password refused: no such account",
        "Sign-in of gone@school.example with password refused: account deactivated",
    ]
    assert [r.target_id for r in rows] == [str(admin.id), None, str(gone.id)]
    assert all(r.actor is None and r.ip == "127.0.0.1" for r in rows)
    assert rows[1].details == {
        "method": "password",
        "reason": "unknown_email",
        "email": "nobody@school.example",
    }


def test_sign_in_and_out_are_recorded(client, auth):
    user = auth.sign_in()
    auth.post("/sign-out")
    actions = [
        (e.action, e.actor_id, e.target_id)
        for e in AuditEvent.select().where(AuditEvent.action.startswith("user.signed"))
    ]
    assert actions == [
        ("user.signed_in", user.id, str(user.id)),
        ("user.signed_out", user.id, str(user.id)),
    ]


def test_cli_run_and_cancel_are_recorded_as_the_named_user(runner, make):
    staff = make.user(roles=("staff",))
    model = make.model(provider="demo", model_id="demo/offline-audit")
    assistant = make.assistant(
        user=staff, prompts=[{"name": "A", "content": "Say hi", "model": model}]
    )
    result = runner.invoke(args=["assistants", "run", str(assistant.id), "--as", staff.email])
    database.connect(reuse_if_open=True)
    started = AuditEvent.get(AuditEvent.action == "execution.started")
    execution = Execution.get()
    assert started.actor_id == staff.id and started.target_id == str(execution.id)
    assert started.summary == f"Ran “{assistant.name}” (CLI)"
    assert started.details == {"assistant": assistant.id, "via": "cli"}
    assert result.output  # the run's own output is tested in test_runner_processes

    Execution.update(status="pending").where(Execution.id == execution.id).execute()
    cancelled = runner.invoke(args=["assistants", "cancel", str(execution.id), "--as", staff.email])
    assert cancelled.exit_code == 0, cancelled.output
    database.connect(reuse_if_open=True)
    row = AuditEvent.get(AuditEvent.action == "execution.cancelled")
    assert row.actor_id == staff.id and row.details == {"via": "cli"}


def test_demo_load_records_what_it_created(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    database.connect(reuse_if_open=True)
    rows = {e.action: e for e in AuditEvent.select()}
    assert set(rows) == {"model.created", "assistant.created"}
    assert rows["assistant.created"].summary.startswith("Created the example assistant")
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0
    database.connect(reuse_if_open=True)
    assert AuditEvent.select().count() == 2  # nothing new, nothing recorded


def test_cli_users_create_is_recorded(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "new@school.example",
            "--role",
            "staff",
            "--password",
            "a long password",
        ]
    )
    assert result.exit_code == 0, result.output
    database.connect(reuse_if_open=True)
    row = AuditEvent.get(AuditEvent.action == "user.created")
    assert row.target_id == str(User.get(User.email == "new@school.example").id)
