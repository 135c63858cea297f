"""Passwords: change on the profile page, admin reset links, sessions ended (issue 16)."""

from __future__ import annotations

import datetime as dt
import html
import re

from app.models import User
from app.models.audit import AuditEvent
from app.models.identity import PasswordResetToken
from tests.conftest import AuthActions

NEW_PASSWORD = "a brand new passphrase"


def _change(auth, current: str, new: str = NEW_PASSWORD, confirm: str | None = None, **kw):
    data = {"current_password": current, "password": new, "password_confirm": confirm or new}
    return auth.post("/profile/password", data, **kw)


def _other_browser(app, make, user) -> AuthActions:
    other = AuthActions(app.test_client(), make)
    other.sign_in(user)
    return other


def _signed_in(client) -> bool:
    return client.get("/catalog").status_code == 200


def test_profile_shows_the_password_form(client, auth):
    auth.sign_in()
    page = client.get("/profile").get_data(as_text=True)
    assert 'action="/profile/password"' in page and 'name="current_password"' in page


def test_wrong_current_password_is_refused_beside_the_field(client, auth, make):
    user = auth.sign_in()
    response = _change(auth, "not my password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "That is not your current password." in page and 'aria-invalid="true"' in page
    assert User.get_by_id(user.id).check_password(make.PASSWORD)


def test_new_password_is_validated_with_clear_messages(client, auth, make):
    auth.sign_in()
    too_short = _change(auth, make.PASSWORD, "short")
    assert too_short.status_code == 422
    assert "Use at least 10 characters." in too_short.get_data(as_text=True)
    mismatch = _change(auth, make.PASSWORD, NEW_PASSWORD, "something else entirely")
    assert "The two passwords do not match." in mismatch.get_data(as_text=True)
    same = _change(auth, make.PASSWORD, make.PASSWORD)
    assert "different from your current one" in html.unescape(same.get_data(as_text=True))


def test_htmx_gets_the_form_fragment(client, auth):
    auth.sign_in()
    response = _change(auth, "wrong wrong wrong", headers={"HX-Request": "true"})
    assert response.status_code == 422
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and 'id="password-form"' in fragment
    assert "That is not your current password." in fragment


def test_change_keeps_this_session_and_ends_the_others(app, client, auth, make):
    user = auth.sign_in()
    other = _other_browser(app, make, user)
    assert _signed_in(other.client)

    response = _change(auth, make.PASSWORD)
    assert response.status_code == 303
    assert _signed_in(client)  # this browser stays signed in
    assert not _signed_in(other.client)  # every other session ended
    assert "other device" in client.get("/profile").get_data(as_text=True)

    refreshed = User.get_by_id(user.id)
    assert refreshed.check_password(NEW_PASSWORD) and not refreshed.check_password(make.PASSWORD)
    event = AuditEvent.get(AuditEvent.action == "user.password_changed")
    assert event.actor_id == user.id
    # And the new password is the one that signs in.
    other.sign_in(user, password=NEW_PASSWORD)


def _issue_link(auth, user, **kw) -> str:
    response = auth.post(f"/admin/users/{user.id}/reset-link", **kw)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(r'value="(http://localhost/reset-password/[^"]+)"', response.get_data(True))
    assert match, "no link in the page"
    return match.group(1).removeprefix("http://localhost")


def test_reset_link_works_once(app, client, auth, make):
    admin = auth.sign_in(roles=("administrator",))
    person = make.user()
    path = _issue_link(auth, person)
    stored = PasswordResetToken.get(PasswordResetToken.user == person)
    assert path.rsplit("/", 1)[1] not in stored.token_hash  # only the hash is kept
    assert stored.created_by_id == admin.id
    person_browser = _other_browser(app, make, person)

    visitor = AuthActions(app.test_client(), make)
    page = visitor.client.get(path)
    assert page.status_code == 200 and person.email in page.get_data(as_text=True)
    short = visitor.post(path, {"password": "short", "password_confirm": "short"})
    assert short.status_code == 422 and "Use at least 10 characters." in short.get_data(True)
    done = visitor.post(path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"] == "/sign-in"
    assert User.get_by_id(person.id).check_password(NEW_PASSWORD)
    assert not _signed_in(person_browser.client)  # the reset ended the person's sessions

    again = visitor.post(
        path, {"password": "yet another passphrase", "password_confirm": "yet another passphrase"}
    )
    assert again.status_code == 410
    assert "expired or was already used" in again.get_data(as_text=True)
    assert User.get_by_id(person.id).check_password(NEW_PASSWORD)
    assert AuditEvent.get(AuditEvent.action == "user.password_reset").actor_id == person.id
    assert AuditEvent.get(AuditEvent.action == "user.reset_link_issued").actor_id == admin.id


def test_reset_link_expires(app, client, auth, make):
    auth.sign_in(roles=("administrator",))
    person = make.user()
    path = _issue_link(auth, person)
    link = PasswordResetToken.get(PasswordResetToken.user == person)
    assert dt.timedelta(minutes=59) < link.expires_at - link.created_at <= dt.timedelta(hours=1)
    link.expires_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    link.save()
    assert client.get(path).status_code == 410
    visitor = AuthActions(app.test_client(), make)
    response = visitor.post(path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 410
    assert User.get_by_id(person.id).check_password(make.PASSWORD)


def test_a_new_link_replaces_the_old_one(client, auth, make):
    auth.sign_in(roles=("administrator",))
    person = make.user()
    first = _issue_link(auth, person)
    second = _issue_link(auth, person, headers={"HX-Request": "true"})
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_htmx_shows_the_link_in_the_row(client, auth, make):
    auth.sign_in(roles=("administrator",))
    person = make.user()
    response = auth.post(f"/admin/users/{person.id}/reset-link", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 201 and "<html" not in fragment
    assert fragment.strip().startswith(f'<tr id="user-{person.id}">')
    assert "Reset link ready" in fragment


def test_only_administrators_issue_reset_links(client, auth, make):
    auth.sign_in(roles=("staff",))
    person = make.user()
    assert auth.post(f"/admin/users/{person.id}/reset-link").status_code == 403
    assert PasswordResetToken.select().count() == 0
    assert client.get("/reset-password/made-up-token").status_code == 410


def test_no_link_for_a_deactivated_account(client, auth, make):
    auth.sign_in(roles=("administrator",))
    person = make.user(is_active=False)
    response = auth.post(f"/admin/users/{person.id}/reset-link")
    assert response.status_code == 422
    assert "Reactivate the account first." in response.get_data(as_text=True)


def test_deactivation_ends_every_session(app, client, auth, make):
    auth.sign_in(roles=("administrator",))
    person = make.user()
    browser = _other_browser(app, make, person)
    assert _signed_in(browser.client)
    assert auth.post(f"/admin/users/{person.id}/active", {"active": "0"}).status_code == 303
    assert not _signed_in(browser.client)
    # Reactivated, the old session still does not come back.
    assert auth.post(f"/admin/users/{person.id}/active", {"active": "1"}).status_code == 303
    assert not _signed_in(browser.client)


def test_with_password_login_off_there_is_nothing_to_change(app, client, auth, make, monkeypatch):
    admin = auth.sign_in(roles=("administrator",))
    monkeypatch.setitem(app.config, "OIDC_ISSUER", "https://idp.example")
    monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", "aa-web")
    monkeypatch.setitem(app.config, "PASSWORD_LOGIN", False)
    page = client.get("/profile").get_data(as_text=True)
    assert "password-form" not in page
    assert _change(auth, make.PASSWORD).status_code == 404
    assert auth.post(f"/admin/users/{admin.id}/reset-link").status_code == 404
    assert "Reset link" not in client.get("/admin/users").get_data(as_text=True)


def test_sso_only_account_has_no_password_form(client, auth, make):
    user = auth.sign_in()
    User.update(password_hash=None).where(User.id == user.id).execute()
    assert "password-form" not in client.get("/profile").get_data(as_text=True)
    response = _change(auth, "anything at all")
    assert response.status_code == 303
    assert "no password" in client.get("/profile").get_data(as_text=True)


def test_every_password_sign_in_is_audited(client, auth, make):
    make.user(roles=("administrator",))
    user = make.user()
    auth.post("/sign-in", {"email": user.email, "password": "wrong wrong wrong"})
    auth.post("/sign-in", {"email": "nobody@school.example", "password": "wrong wrong wrong"})
    auth.sign_in(user)
    failures = AuditEvent.select().where(AuditEvent.action == "user.sign_in_failed")
    reasons = sorted(e.details["reason"] for e in failures)
    assert reasons == ["unknown_email", "wrong_password"]
    assert all(e.details["method"] == "password" and e.actor_id is None for e in failures)
    success = AuditEvent.get(AuditEvent.action == "user.signed_in")
    assert success.details["method"] == "password" and success.actor_id == user.id
