"""Personal API tokens: the profile page (create, shown once, revoke) and `flask tokens`."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest

from app.blueprints.api.limits import limiter
from app.models import AuditEvent, User
from app.models.token import ApiToken

SECRET = re.compile(r"aa_[A-Za-z0-9_-]{43}")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    limiter.reset()


def create(auth, name="Grading script", scopes=("assistants:read",), expires_on="", **kwargs):
    return auth.post(
        "/profile/tokens",
        {"name": name, "scopes": list(scopes), "expires_on": expires_on},
        **kwargs,
    )


def api_status(client, secret: str) -> int:
    return client.get(
        "/api/v1/assistants", headers={"Authorization": f"Bearer {secret}"}
    ).status_code


def test_profile_needs_sign_in(client):
    response = client.get("/profile")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_profile_shows_the_account_and_an_empty_token_list(client, auth):
    user = auth.sign_in(roles=("staff",))
    html = client.get("/profile").get_data(as_text=True)
    assert user.email in html and "You have no API tokens yet." in html
    assert (
        'value="assistants:read" checked' in html and 'value="assistants:execute" checked' in html
    )
    assert 'value="assistants:write"' not in html
    assert 'href="/profile"' in html  # the header's link


def test_create_shows_the_secret_once_and_stores_only_its_hash(client, auth):
    user = auth.sign_in(roles=("staff",))
    response = create(auth, scopes=("assistants:read", "assistants:execute"))
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    [secret] = set(SECRET.findall(html))
    assert 'data-copy-target="#new-token-secret"' in html and "shown only this once" in html
    token = ApiToken.get()
    assert token.user_id == user.id and token.name == "Grading script"
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:8] and token.scopes == ["assistants:read", "assistants:execute"]
    assert token.expires_at is None
    assert api_status(client, secret) == 200
    again = client.get("/profile").get_data(as_text=True)
    assert SECRET.search(again) is None and secret[:8] in again and "Grading script" in again
    audit = AuditEvent.get(AuditEvent.action == "api_token.created")
    assert audit.actor_id == user.id and audit.target_id == str(token.id)
    assert secret not in audit.summary and secret not in str(audit.details)
    assert audit.details["prefix"] == secret[:8]


def test_create_with_htmx_answers_the_token_section_only(client, auth):
    auth.sign_in(roles=("student",))
    response = create(auth, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 201 and "<html" not in html
    assert html.lstrip().startswith('<section id="api-tokens"') and SECRET.search(html)


def test_expiry_date_is_stored_and_shown(client, auth):
    auth.sign_in()
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    assert create(auth, expires_on=tomorrow.isoformat()).status_code == 201
    assert ApiToken.get().expires_at == dt.datetime.combine(tomorrow, dt.time.min)
    assert f"{tomorrow.isoformat()} 00:00" in client.get("/profile").get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "Name the token (up to 100 characters)."),
        ({"name": "x" * 101}, "name", "Name the token (up to 100 characters)."),
        ({"scopes": ()}, "scopes", "Choose at least one scope."),
        ({"scopes": ("assistants:everything",)}, "scopes", "Unknown scope."),
        ({"expires_on": "2001-01-01"}, "expires_on", "Choose a date after today."),
        ({"expires_on": "soon"}, "expires_on", "Enter a date (YYYY-MM-DD) or leave it empty."),
    ],
)
def test_invalid_forms_answer_422_with_the_message(client, auth, fields, field, message):
    auth.sign_in()
    response = create(auth, **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{"token-scopes" if field == "scopes" else "f-" + field}-error">{message}<' in html
    assert ApiToken.select().count() == 0 and SECRET.search(html) is None


@pytest.mark.parametrize("role", ["student", "staff"])
def test_only_administrators_may_request_assistants_write(client, auth, role):
    auth.sign_in(roles=(role,))
    response = create(auth, scopes=("assistants:read", "assistants:write"))
    assert response.status_code == 422
    assert "Only administrators may hold assistants:write tokens." in response.get_data(
        as_text=True
    )
    assert ApiToken.select().count() == 0


def test_administrators_may_request_assistants_write(client, auth):
    auth.sign_in(roles=("administrator",))
    assert 'value="assistants:write"' in client.get("/profile").get_data(as_text=True)
    assert create(auth, scopes=("assistants:write",)).status_code == 201
    assert ApiToken.get().scopes == ["assistants:write"]


def test_a_demoted_administrator_loses_the_write_scope(client, make):
    admin = make.user(roles=("administrator",))
    token, _ = ApiToken.issue(admin, "t", ["assistants:read", "assistants:write"])
    assert token.effective_scopes() == {"assistants:read", "assistants:write"}
    admin.set_roles(["staff"])
    again = ApiToken.select(ApiToken, User).join(User).where(ApiToken.id == token.id).get()
    assert again.effective_scopes() == {"assistants:read"}


def test_revoke_works_at_once_and_is_audited(client, auth):
    user = auth.sign_in()
    [secret] = SECRET.findall(create(auth).get_data(as_text=True))
    token = ApiToken.get()
    response = auth.post(f"/profile/tokens/{token.id}/revoke")
    assert response.status_code == 303 and response.headers["Location"] == "/profile"
    assert ApiToken.get_by_id(token.id).revoked_at is not None
    assert api_status(client, secret) == 401
    html = client.get("/profile").get_data(as_text=True)
    assert "Revoked" in html and f"/profile/tokens/{token.id}/revoke" not in html
    audit = AuditEvent.get(AuditEvent.action == "api_token.revoked")
    assert audit.actor_id == user.id and audit.target_id == str(token.id)


def test_revoke_with_htmx_answers_the_row(client, auth):
    auth.sign_in()
    create(auth)
    token = ApiToken.get()
    response = auth.post(f"/profile/tokens/{token.id}/revoke", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="token-{token.id}">')
    assert "Revoked" in html and "<html" not in html


def test_someone_elses_token_answers_404(client, auth, make):
    other = make.user()
    token, secret = ApiToken.issue(other, "theirs", ["assistants:read"])
    auth.sign_in()
    assert auth.post(f"/profile/tokens/{token.id}/revoke").status_code == 404
    assert ApiToken.get_by_id(token.id).revoked_at is None and api_status(client, secret) == 200
    assert "theirs" not in client.get("/profile").get_data(as_text=True)


def test_deleting_an_account_deletes_its_tokens(make):
    user = make.user()
    ApiToken.issue(user, "t", ["assistants:read"])
    user.delete_instance()
    assert ApiToken.select().count() == 0


# --- flask tokens ------------------------------------------------------------------------------
def test_cli_create_list_and_revoke(client, runner, make):
    user = make.user(email="ops@school.example")
    result = runner.invoke(
        args=[
            "tokens", "create", "--email", "ops@school.example", "--scope", "assistants:read",
            "--scope", "assistants:execute", "--name", "Nightly sync", "--expires-days", "30",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert SECRET.fullmatch(secret)
    token = ApiToken.get()
    assert (token.user_id, token.name) == (user.id, "Nightly sync")
    assert token.scopes == ["assistants:read", "assistants:execute"]
    assert (
        dt.timedelta(days=29, hours=23)
        < token.expires_at - token.created_at
        <= dt.timedelta(days=30)
    )
    assert api_status(client, secret) == 200
    created = AuditEvent.get(AuditEvent.action == "api_token.created")
    assert created.actor_id is None and secret not in created.summary + str(created.details)

    listed = runner.invoke(args=["tokens", "list", "--email", "ops@school.example"])
    assert listed.exit_code == 0
    lines = listed.output.strip().splitlines()
    assert lines[0].startswith("ID\tPREFIX\tSTATE") and len(lines) == 2
    assert lines[1].startswith(f"{token.id}\t{secret[:8]}…\tactive\tNightly sync\t")
    assert secret not in listed.output

    revoked = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert revoked.exit_code == 0 and "Revoked token" in revoked.output
    assert api_status(client, secret) == 401
    assert AuditEvent.select().where(AuditEvent.action == "api_token.revoked").count() == 1
    again = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert "already revoked" in again.output
    assert "\trevoked\t" in runner.invoke(args=["tokens", "list", "--email", user.email]).output


def test_cli_refuses_write_to_non_administrators_and_unknown_accounts(runner, make):
    make.user(email="teacher@school.example", roles=("staff",))
    refused = runner.invoke(
        args=[
            "tokens",
            "create",
            "--email",
            "teacher@school.example",
            "--scope",
            "assistants:write",
        ]
    )
    assert refused.exit_code == 1
    assert "Only administrators may hold assistants:write tokens." in refused.output
    unknown = runner.invoke(
        args=["tokens", "create", "--email", "nobody@school.example", "--scope", "assistants:read"]
    )
    assert unknown.exit_code == 1 and "No account nobody@school.example." in unknown.output
    assert runner.invoke(args=["tokens", "revoke", "12345"]).exit_code == 1
    assert ApiToken.select().count() == 0
