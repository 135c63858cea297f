"""Everyone in their lane (DESIGN §8): every route of the URL map, for every kind of caller.

Each route (every method of every rule of `app.url_map`) is called by anonymous, a student, the
staff member who owns the seeded objects, another staff member and an administrator, and the
outcome is compared with its row in `authz_table.py`. A route without a row fails
`test_every_route_has_a_row`, which prints the row to add.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from flask import url_for

from app.db import utcnow
from app.models import (
    ApiToken,
    Execution,
    ExecutionEvent,
    ExecutionMessage,
    PromptResult,
    User,
)
from app.models.identity import PasswordResetToken
from tests.integration.authz_table import ACTORS, BODIES, OK, SIGN_IN, TABLE

SKIPPED_ENDPOINTS = {"static"}  # files, no authorization


def routes(app) -> dict[str, list[Any]]:
    """ "METHOD endpoint" → its rules (an endpoint may answer at several URLs)."""
    found: dict[str, list[Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.setdefault(f"{method} {rule.endpoint}", []).append(rule)
    return found


class World:
    """The callers, and fresh objects of the owner for each request (some requests delete)."""

    def __init__(self, make) -> None:
        self.make = make
        self.users: dict[str, User | None] = {
            "anonymous": None,
            "student": make.user(roles=("student",), name="Student"),
            "owner": make.user(roles=("staff",), name="Owner"),
            "other_staff": make.user(roles=("staff",), name="Other staff"),
            "admin": make.user(roles=("administrator",), name="Admin"),
        }
        self.bearers = {
            actor: self._bearer(user) for actor, user in self.users.items() if user is not None
        }

    @staticmethod
    def _bearer(user: User) -> dict[str, str]:
        scopes = ["assistants:read", "assistants:execute"]
        if user.is_admin:
            scopes.append("assistants:write")
        _, secret = ApiToken.issue(user, "matrix", scopes)
        return {"Authorization": f"Bearer {secret}"}

    def seed(self) -> dict[str, int]:
        """The owner's objects; URL arguments are filled from these ids."""
        owner = self.users["owner"]
        make = self.make
        model = make.model(api_key_env="ABSENT_API_KEY")  # a connection test answers at once
        assistant = make.assistant(
            user=owner,
            status="approved",  # audience: the default, staff and administrators
            description="Explains a topic in two steps",  # ready to submit once a draft
            fields=[{"name": "topic", "label": "Topic"}, {"name": "level", "label": "Level"}],
            prompts=[
                {"name": "Answer", "content": "Tell me about {{topic}}", "model": model},
                {"name": "Also", "content": "Also {{topic}}", "model": model, "position": 1},
            ],
        )
        first, prompt = assistant.ordered_prompts()  # the second: it can move up and join
        now = utcnow()
        run = Execution.create(
            assistant=assistant,
            user=owner,
            status="completed",
            input_data={"topic": "tides"},
            definition=assistant.definition(),
            started_at=now - dt.timedelta(seconds=5),
            completed_at=now,
        )
        PromptResult.create(
            execution=run,
            prompt=first,
            step=1,
            prompt_name="Answer",
            status="completed",
            output_data="The moon.",
            completed_at=now,
        )
        ExecutionEvent.create(execution=run, seq=1, event_type="execution-complete", event_data={})
        message = ExecutionMessage.create(execution=run, role="user", content="And the sun?")
        token, _ = ApiToken.issue(owner, "owner's token", ["assistants:read"])
        subject = make.user(roles=("student",), name="Subject")
        # A password reset link for the subject: the link itself is the credential (anyone
        # holding it may use it, signed in or not), so every column answers alike.
        reset_secret, _ = PasswordResetToken.issue(
            subject, self.users["admin"], dt.timedelta(minutes=30)
        )
        return {
            "assistant_id": assistant.id,
            "field_id": assistant.ordered_fields()[0].id,
            "prompt_id": prompt.id,
            "ai_model_id": model.id,
            "execution_id": run.id,
            "step": 1,
            "token_id": token.id,
            "message_id": message.id,
            "user_id": subject.id,
            "token": reset_secret,
            # not URL arguments: filled into BODIES
            "other_staff_id": self.users["other_staff"].id,  # a new owner for a transfer
        }


PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill_json(value: Any, ids: dict[str, Any]) -> Any:
    """A JSON body with "{assistant_id}"-style strings replaced by the seeded ids (as they are,
    so numbers stay numbers); other strings are left alone (prompts contain "{{topic}}")."""
    if isinstance(value, dict):
        return {k: _fill_json(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, ids) for v in value]
    if isinstance(value, str) and (match := PLACEHOLDER.fullmatch(value)) and match[1] in ids:
        return ids[match[1]]
    return value


def _as(client, user: User | None) -> str:
    """Make the test client `user` (or nobody); returns a CSRF token for this session."""
    with client.session_transaction() as session:
        session.clear()
        if user is not None:
            session.permanent = True
            session["uid"] = user.id
            session["epoch"] = user.session_epoch
    html = client.get("/no-such-page-csrf-probe").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no csrf token in the page"
    return match.group(1)


def outcome(response) -> str | int:
    status = response.status_code
    location = (response.location or "").split("?")[0]
    if status in (301, 302, 303) and location.endswith("/sign-in"):
        return SIGN_IN
    if 200 <= status < 400 or status in (400, 409, 413, 422):
        return OK  # past authorization; judged on its content
    return status


def call(
    app, client, world: World, key: str, rule: Any, actor: str, prepare: Any = None
) -> str | int:
    """One request as `actor` on fresh objects (`prepare(ids)` may change them first)."""
    method, endpoint = key.split(" ", 1)
    ids = world.seed()
    if prepare is not None:
        prepare(ids)
    missing = sorted(set(rule.arguments) - set(ids))
    assert not missing, (
        f"{key}: no seeded object for URL argument(s) {missing}; add one to World.seed() in "
        "tests/integration/test_authz_matrix.py"
    )
    with app.test_request_context():
        url = url_for(endpoint, **{name: ids[name] for name in rule.arguments})
    body = BODIES.get(key, {})
    user = world.users[actor]
    if endpoint.startswith("api."):
        with client.session_transaction() as session:
            session.clear()
        headers = world.bearers.get(actor, {})
        payload = _fill_json(body.get("json"), ids)
        response = client.open(url, method=method, headers=headers, json=payload)
    else:
        csrf = _as(client, user)
        form = body.get("form", {})
        data = {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in form.items()}
        files = {
            name: (io.BytesIO(content), filename)
            for name, (filename, content) in body.get("files", {}).items()
        }
        data = {**data, **files, "csrf_token": csrf} if method != "GET" else None
        response = client.open(url, method=method, data=data)
    try:
        assert response.status_code < 500, (
            f"{key} as {actor}: {response.status_code}\n{response.get_data(as_text=True)[:800]}"
        )
        return outcome(response)
    finally:
        response.close()


def observe(app, client, world: World, key: str, rules: list[Any]) -> tuple:
    """The outcome for each actor (every rule of the endpoint must agree)."""
    row = []
    for actor in ACTORS:
        seen = {call(app, client, world, key, rule, actor) for rule in rules}
        assert len(seen) == 1, f"{key} as {actor}: its URLs disagree: {seen}"
        row.append(seen.pop())
    return tuple(row)


def _literal(row: tuple) -> str:
    """The row as it is written in the table, columns aligned."""
    names = ["OK" if v == OK else "SIGN_IN" if v == SIGN_IN else str(v) for v in row]
    return "(" + "".join(f"{n + ',':<9}" for n in names[:-1]) + names[-1] + ")"


@pytest.fixture
def world(make) -> World:
    return World(make)


def test_every_route_has_a_row(app, client, world):
    found = routes(app)
    missing = sorted(set(found) - set(TABLE))
    stale = sorted(set(TABLE) - set(found))
    lines = []
    for key in missing:
        observed = observe(app, client, world, key, found[key])
        quoted = f'"{key}":'
        lines.append(f"    {quoted:<37}{_literal(observed)},")
    message = ""
    if missing:
        message += (
            "Routes without a row in tests/integration/authz_table.py TABLE. Add these rows — the "
            "outcomes shown are what the app does now (anonymous, student, owner, other staff, "
            "administrator): check each against DESIGN §8 before pasting:\n" + "\n".join(lines)
        )
    if stale:
        message += "\nRows for routes that no longer exist (remove them): " + ", ".join(stale)
    assert not missing and not stale, message


@pytest.mark.parametrize("key", sorted(TABLE))
def test_route_outcomes_per_actor(app, client, world, key):
    found = routes(app)
    if key not in found:
        pytest.fail(f"{key} is in authz_table.py but the app has no such route: remove the row")
    expected = TABLE[key]
    observed = observe(app, client, world, key, found[key])
    assert observed == expected, (
        f"{key}: (anonymous, student, owner, other staff, administrator)\n"
        f"  expected {_literal(expected)}\n  observed {_literal(observed)}"
    )
