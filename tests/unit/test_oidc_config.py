"""Single sign-on settings: the group → role map and what production refuses (issue 16)."""

from __future__ import annotations

import pytest

from app.config import Config, ConfigError
from app.oidc import RoleMapError, parse_role_map

PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "x" * 32}


def test_role_map_parses_groups_to_roles():
    mapping = parse_role_map(" teachers=staff, admins=administrator,admins=staff,,students=student")
    assert mapping == {
        "teachers": {"staff"},
        "admins": {"administrator", "staff"},
        "students": {"student"},
    }
    assert parse_role_map("") == {}
    assert parse_role_map("District Staff=staff") == {"District Staff": {"staff"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [("teachers", "not group=role"), ("=staff", "not group=role"), ("t=teacher", "not a role")],
)
def test_role_map_mistakes_are_named(text, message):
    with pytest.raises(RoleMapError, match=message):
        parse_role_map(text)


def test_production_checks_the_sso_settings():
    sso = {**PRODUCTION, "OIDC_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X"}
    with pytest.raises(ConfigError, match="OIDC_CLIENT_ID"):
        Config.validate(sso)
    Config.validate({**sso, "OIDC_CLIENT_ID": "abc"})
    with pytest.raises(ConfigError, match="https"):
        Config.validate({**sso, "OIDC_ISSUER": "http://idp.example", "OIDC_CLIENT_ID": "abc"})
    # A provider on this very machine (tests, a sidecar) may speak plain http.
    Config.validate({**sso, "OIDC_ISSUER": "http://127.0.0.1:8080", "OIDC_CLIENT_ID": "abc"})
    with pytest.raises(ConfigError, match="OIDC_ROLE_MAP"):
        Config.validate({**sso, "OIDC_CLIENT_ID": "abc", "OIDC_ROLE_MAP": "teachers=teacher"})
    with pytest.raises(ConfigError, match="openid"):
        Config.validate({**sso, "OIDC_CLIENT_ID": "abc", "OIDC_SCOPES": "email profile"})


def test_passwords_off_needs_single_sign_on():
    with pytest.raises(ConfigError, match="PASSWORD_LOGIN=off needs single sign-on"):
        Config.validate({**PRODUCTION, "PASSWORD_LOGIN": False})
