"""Sign-in, sign-out, first-run setup, CSRF and session rules."""

from __future__ import annotations

import re

from app.models import User
from app.models.audit import AuditEvent
from app.security import setup_token


def _setup_form(auth, **overrides):
    data = {
        "name": "Ada Admin",
        "email": "ada@school.example",
        "password": "a long enough password",
        "password_confirm": "a long enough password",
    }
    data.update(overrides)
    return auth.post("/setup", data)


def test_first_visitor_is_sent_to_setup(client):
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/sign-in").headers["Location"].endswith("/setup")
    page = client.get("/setup")
    assert page.status_code == 200
    assert "Create administrator" in page.get_data(as_text=True)
    assert "Setup token" not in page.get_data(as_text=True)  # not needed outside production


def test_setup_creates_the_administrator_and_signs_in(client, auth):
    response = _setup_form(auth)
    assert response.status_code == 303
    user = User.by_email("ada@school.example")
    assert user.is_admin and user.has_role("staff")
    assert client.get("/catalog").status_code == 200
    assert AuditEvent.get(AuditEvent.action == "user.created").actor_id == user.id
    # Setup is gone once an administrator exists.
    assert client.get("/setup").status_code == 404


def test_setup_validates_with_messages_beside_fields(client, auth):
    response = _setup_form(auth, email="not-an-email", password="short", password_confirm="short")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter a valid email address." in html
    assert "Use at least 10 characters." in html
    assert 'aria-invalid="true"' in html
    assert 'value="not-an-email"' in html  # nothing typed is lost
    assert User.select().count() == 0


def test_setup_in_production_needs_the_token(app, client, auth):
    app.config["APP_ENV"] = "production"
    try:
        page = client.get("/setup").get_data(as_text=True)
        assert "Setup token" in page
        assert _setup_form(auth, setup_token="wrong").status_code == 422
        assert User.select().count() == 0
        token = setup_token(app.config["SECRET_KEY"])
        assert _setup_form(auth, setup_token=token).status_code == 303
    finally:
        app.config["APP_ENV"] = "testing"


def test_sign_in_and_out(client, auth, make):
    make.user(roles=("administrator",))
    user = auth.sign_in(roles=("staff",))
    assert client.get("/catalog").status_code == 200
    assert AuditEvent.select().where(AuditEvent.action == "user.signed_in").count() == 1
    response = auth.post("/sign-out")
    assert response.status_code == 303
    assert client.get("/catalog").headers["Location"].startswith("/sign-in")
    assert user.email


def test_wrong_password_gives_no_hint_whether_the_email_exists(client, auth, make):
    make.user(roles=("administrator",))
    user = make.user()
    wrong_password = auth.post("/sign-in", {"email": user.email, "password": "nope nope nope"})
    unknown_email = auth.post("/sign-in", {"email": "nobody@school.example", "password": "x" * 12})
    assert wrong_password.status_code == unknown_email.status_code == 422
    first = re.search(r'role="alert">([^<]+)<', wrong_password.get_data(as_text=True)).group(1)
    second = re.search(r'role="alert">([^<]+)<', unknown_email.get_data(as_text=True)).group(1)
    assert first == second == "That email and password don&#39;t match an active account."


def test_deactivated_account_cannot_sign_in(client, auth, make):
    make.user(roles=("administrator",))
    user = make.user(is_active=False)
    response = auth.post("/sign-in", {"email": user.email, "password": make.PASSWORD})
    assert response.status_code == 422


def test_post_without_csrf_token_is_400(client, make):
    make.user(roles=("administrator",))
    user = make.user()
    response = client.post("/sign-in", data={"email": user.email, "password": make.PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_next_is_followed_only_on_this_site(client, auth, make):
    make.user(roles=("administrator",))
    user = make.user()
    good = auth.post("/sign-in", {"email": user.email, "password": make.PASSWORD, "next": "/runs"})
    assert good.headers["Location"] == "/runs"
    auth.post("/sign-out")
    evil = auth.post(
        "/sign-in", {"email": user.email, "password": make.PASSWORD, "next": "//evil.example/x"}
    )
    assert evil.headers["Location"] == "/catalog"


def test_session_ends_when_account_is_deactivated(client, auth, make):
    make.user(roles=("administrator",))
    user = auth.sign_in()
    assert client.get("/catalog").status_code == 200
    User.update(is_active=False, session_epoch=User.session_epoch + 1).where(
        User.id == user.id
    ).execute()
    assert client.get("/catalog").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, auth, make):
    make.user(roles=("administrator",))
    user = make.user()
    response = auth.post("/sign-in", {"email": user.email, "password": make.PASSWORD})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
