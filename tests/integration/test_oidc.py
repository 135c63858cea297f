"""Single sign-on against a real OpenID Connect provider on loopback (issue 16)."""

from __future__ import annotations

import pytest

from app.models import User
from app.models.audit import AuditEvent
from app.models.identity import UserIdentity
from tests.integration.oidc_support import (
    approve,
    callback,
    flash_after,
    last_failure,
    query_of,
    sign_in,
    start,
)


def _signed_in(client) -> bool:
    return client.get("/catalog").status_code == 200


def test_sign_in_page_offers_the_provider(client, sso, make):
    make.user(roles=("administrator",))
    page = client.get("/sign-in").get_data(as_text=True)
    assert "Sign in with District SSO" in page
    assert 'href="/auth/oidc/start"' in page
    assert 'name="password"' in page  # passwords stay on unless PASSWORD_LOGIN=off


def test_good_sign_in_creates_the_account_with_roles_from_groups(client, sso):
    authorize_url = start(client, next_url="/runs")
    params = query_of(authorize_url)
    assert authorize_url.startswith(f"{sso.issuer}/authorize?")
    assert params["response_type"] == "code" and params["client_id"] == "aa-web"
    assert params["scope"] == "openid email profile"
    assert params["redirect_uri"] == "http://localhost/auth/oidc/callback"
    assert params["state"] and params["nonce"] and params["code_challenge_method"] == "S256"

    response = callback(client, approve(authorize_url))
    assert response.status_code == 303 and response.headers["Location"] == "/runs"
    assert _signed_in(client)
    user = User.by_email("teacher@school.example")
    assert user.name == "Terry Teacher" and user.password_hash is None
    assert user.role_sources() == {"staff": "sso"}
    identity = UserIdentity.get(UserIdentity.user == user)
    assert (identity.issuer, identity.subject) == (sso.issuer, "user-1")
    # The code went back over real HTTP with the client secret and the PKCE verifier.
    (token_request,) = sso.log.token
    assert token_request["authorization"].startswith("Basic ")
    assert token_request["form"]["code_verifier"]
    signed_in = AuditEvent.get(AuditEvent.action == "user.signed_in")
    assert signed_in.actor_id == user.id and signed_in.details["method"] == "oidc"
    actions = {e.action for e in AuditEvent.select()}
    assert {"user.created", "user.identity_linked", "user.roles_synced"} <= actions


def test_roles_follow_the_groups_and_manual_roles_stay(client, sso, auth, make):
    admin = make.user(roles=("administrator",))
    sso.claims["cognito:groups"] = ["teachers", "admins"]
    assert sign_in(client).status_code == 303
    user = User.by_email("teacher@school.example")
    assert user.role_sources() == {"administrator": "sso", "staff": "sso"}
    assert client.get("/admin/users").status_code == 200

    # An administrator adds the student role by hand (keeping the others ticked).
    auth.post("/sign-out")
    auth.sign_in(admin)
    people = client.get("/admin/users").get_data(as_text=True)
    assert "From single sign-on groups: Administrator, Staff." in people
    response = auth.post(
        f"/admin/users/{user.id}/roles", {"roles": ["administrator", "staff", "student"]}
    )
    assert response.status_code == 303
    assert user.role_sources() == {"administrator": "sso", "staff": "sso", "student": "manual"}
    auth.post("/sign-out")

    # Removed from the admins group: the managed role goes, the one set by hand stays.
    sso.claims["cognito:groups"] = ["teachers"]
    assert sign_in(client).status_code == 303
    assert user.role_sources() == {"staff": "sso", "student": "manual"}
    assert client.get("/admin/users").status_code == 403
    synced = AuditEvent.select().where(AuditEvent.action == "user.roles_synced")
    assert synced.order_by(AuditEvent.id.desc()).get().details["removed"] == ["administrator"]


def test_a_manual_role_the_mapping_manages_is_kept(client, sso, make):
    make.user(roles=("administrator",))
    user = make.user(email="teacher@school.example", roles=("administrator", "staff"))
    sso.claims["cognito:groups"] = ["teachers"]
    assert sign_in(client).status_code == 303
    assert user.role_sources() == {"administrator": "manual", "staff": "manual"}


def test_existing_account_with_a_verified_email_is_linked(client, sso, make):
    make.user(roles=("administrator",))
    user = make.user(email="Teacher@School.example".lower(), roles=("student",))
    sso.claims["email"] = "Teacher@School.example"  # case differs: still the same address
    assert sign_in(client).status_code == 303
    assert UserIdentity.get(UserIdentity.user == user).subject == "user-1"
    assert user.role_sources() == {"student": "manual", "staff": "sso"}
    assert User.select().count() == 2  # linked, not duplicated

    # Once linked, the subject decides: a new address at the provider is still this account.
    client.post("/sign-out", data={"csrf_token": ""})
    client.delete_cookie("session")
    sso.claims["email"] = "t.teacher@school.example"
    sso.claims["email_verified"] = False
    assert sign_in(client).status_code == 303
    assert client.get("/profile").get_data(as_text=True).count(user.email) >= 1


def test_email_only_in_userinfo_is_fetched(client, sso, make):
    make.user(roles=("administrator",))
    user = make.user(email="teacher@school.example", roles=("student",))
    sso.email_only_in_userinfo = True
    sso.claims["email_verified"] = "true"  # as Cognito's userinfo sends it: a string
    assert sign_in(client).status_code == 303
    assert UserIdentity.get().user_id == user.id


def test_unverified_email_is_not_linked_nor_used_for_a_new_account(client, sso, make):
    make.user(roles=("administrator",))
    user = make.user(email="teacher@school.example", roles=("staff",))
    sso.claims["email_verified"] = False
    page = flash_after(client, sign_in(client))
    assert "has not verified your email address (teacher@school.example)" in page
    assert not _signed_in(client)
    assert UserIdentity.select().count() == 0
    failure = last_failure()
    assert failure.details["reason"] == "email_unverified" and failure.details["method"] == "oidc"

    user.delete_instance()  # no account with that address: still no new account
    flash_after(client, sign_in(client))
    assert User.by_email("teacher@school.example") is None


def test_trust_email_setting_links_providers_that_never_send_email_verified(
    client, sso, make, monkeypatch, app
):
    make.user(roles=("administrator",))
    user = make.user(email="teacher@school.example", roles=("staff",))
    del sso.claims["email_verified"]
    monkeypatch.setitem(app.config, "OIDC_TRUST_EMAIL", True)
    assert sign_in(client).status_code == 303
    assert UserIdentity.get().user_id == user.id


@pytest.mark.parametrize(
    ("knob", "value", "detail"),
    [
        ("bad_signature", True, "bad_signature"),
        ("audience", "someone-else", "aud"),
        ("expired", True, "expired_token"),
        ("omit_nonce", True, "nonce"),
        ("wrong_nonce", True, "nonce"),
        ("issuer_in_token", "https://evil.example", "iss"),
    ],
)
def test_id_tokens_that_fail_verification_are_refused(client, sso, knob, value, detail):
    setattr(sso, knob, value)
    page = flash_after(client, sign_in(client))
    assert "could not be verified, so you are not signed in" in page
    assert not _signed_in(client)
    assert User.select().count() == 0 and UserIdentity.select().count() == 0
    failure = last_failure()
    assert failure.details["reason"] == "id_token_invalid"
    assert detail in f"{failure.details['error']} {failure.details['description']}"


def test_a_token_for_another_audience_is_refused_even_naming_us_as_azp(client, sso):
    sso.audience = "another-app"
    sso.claims["azp"] = sso.client_id
    assert "could not be verified" in flash_after(client, sign_in(client))
    failure = last_failure().details
    assert "aud" in f"{failure['error']} {failure['description']}"
    assert User.select().count() == 0


def test_a_replayed_callback_is_refused(client, sso):
    callback_url = approve(start(client))
    assert callback(client, callback_url).status_code == 303
    client.delete_cookie("session")  # signed out; then the same callback URL again
    page = flash_after(client, callback(client, callback_url))
    assert "expired or was already used" in page
    assert last_failure().details["reason"] == "state_mismatch"
    assert not _signed_in(client)
    assert len(sso.log.token) == 1  # the code was never sent twice


def test_a_state_from_another_browser_is_refused(app, client, sso):
    other = app.test_client()
    callback_url = approve(start(other))  # begun in another browser…
    start(client)
    page = flash_after(client, callback(client, callback_url))  # …finished in this one
    assert "expired or was already used" in page
    assert not _signed_in(client)


def test_no_mapped_group_means_no_new_account(client, sso):
    sso.claims["cognito:groups"] = ["parents"]
    page = flash_after(client, sign_in(client))
    assert "no role in Assistant Architect yet" in page
    assert User.select().count() == 0 and last_failure().details["reason"] == "no_role"


def test_deactivated_account_is_refused(client, sso, make):
    make.user(roles=("administrator",))
    make.user(email="teacher@school.example", is_active=False)
    page = flash_after(client, sign_in(client))
    assert "This account is deactivated" in page
    assert last_failure().details["reason"] == "deactivated"
    assert not _signed_in(client)


def test_cancel_at_the_provider_is_explained(client, sso):
    authorize = query_of(start(client))
    response = client.get(f"/auth/oidc/callback?error=access_denied&state={authorize['state']}")
    assert "Sign-in was cancelled at District SSO." in flash_after(client, response)


def test_unreachable_provider_is_explained(client, sso):
    sso.stop()
    response = client.get("/auth/oidc/start")
    assert "couldn't reach District SSO" in flash_after(client, response)
    assert last_failure().details["reason"] == "provider_unreachable"


def test_discovery_for_another_issuer_is_refused(client, sso):
    sso.issuer_in_discovery = "https://evil.example"
    page = flash_after(client, client.get("/auth/oidc/start"))
    assert "is not set up correctly here" in page
    assert last_failure().details["reason"] == "issuer_mismatch"
    assert sso.log.authorize == []


def test_next_never_leaves_the_site(client, sso):
    response = sign_in(client, next_url="//evil.example/x")
    assert response.headers["Location"] == "/catalog"
    client.delete_cookie("session")
    response = sign_in(client, next_url="/\\evil.example/x")  # browsers read /\ as //
    assert response.headers["Location"] == "/catalog"


def test_first_administrator_comes_from_the_groups_and_there_is_no_setup_page(client, sso):
    assert client.get("/").headers["Location"] == "/sign-in"
    assert client.get("/setup").status_code == 404
    assert "Sign in with District SSO" in client.get("/sign-in").get_data(as_text=True)
    sso.claims["cognito:groups"] = ["admins"]
    assert sign_in(client).status_code == 303
    assert User.by_email("teacher@school.example").is_admin
    assert client.get("/admin/users").status_code == 200


def test_password_login_off(app, client, sso, auth, make, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_LOGIN", False)
    make.user(roles=("administrator",))
    user = make.user()
    page = client.get("/sign-in").get_data(as_text=True)
    assert "Sign in with District SSO" in page and 'name="password"' not in page
    response = auth.post("/sign-in", {"email": user.email, "password": make.PASSWORD})
    assert response.status_code == 403
    assert "Password sign-in is turned off here." in response.get_data(as_text=True)
    assert not _signed_in(client)
    assert last_failure().details["reason"] == "password_login_off"


def test_with_passwords_off_admins_add_people_who_link_at_first_sign_in(
    app, client, sso, auth, make, monkeypatch
):
    admin = auth.sign_in(roles=("administrator",))
    monkeypatch.setitem(app.config, "PASSWORD_LOGIN", False)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Temporary password" not in page and "linked at their first sign-in" in page
    response = auth.post(
        "/admin/users",
        {"name": "Terry", "email": "teacher@school.example", "roles": ["student"]},
    )
    assert response.status_code == 303
    person = User.by_email("teacher@school.example")
    assert person.password_hash is None and person.role_sources() == {"student": "manual"}
    client.delete_cookie("session")
    assert sign_in(client).status_code == 303
    assert UserIdentity.get().user_id == person.id != admin.id
    assert person.role_sources() == {"student": "manual", "staff": "sso"}


def test_cli_creates_the_first_administrator_for_sso(app, client, sso, runner, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_LOGIN", False)
    result = runner.invoke(
        args=["users", "create", "--email", "Teacher@School.example", "--role", "administrator"]
    )
    assert result.exit_code == 0, result.output  # no password asked: passwords are off
    admin = User.by_email("teacher@school.example")
    assert admin.password_hash is None and admin.is_admin
    sso.claims["cognito:groups"] = []  # no group: the manual role is enough
    assert sign_in(client).status_code == 303
    assert client.get("/admin/users").status_code == 200
