"""Single sign-on with OpenID Connect (authlib): settings, the client, and who a sign-in is.

The authorization code flow with state, nonce and PKCE (S256). authlib keeps state, nonce and
the code verifier in the signed session cookie and removes them at the callback (so a state works
once); it checks the ID token's signature against the provider's JWKS, its issuer, expiry and
nonce; we require the audience to name our client id (authlib alone checks it only through the
`azp` rule, which a token for another audience that names us as `azp` would pass).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from flask import Flask, current_app

from app.models.user import ROLES

log = logging.getLogger(__name__)

CLIENT_NAME = "oidc"


class RoleMapError(ValueError):
    """OIDC_ROLE_MAP is not a list of group=role pairs with known roles."""


def parse_role_map(text: str) -> dict[str, frozenset[str]]:
    """`teachers=staff,admins=administrator,admins=staff` → group → the roles it gives."""
    mapping: dict[str, set[str]] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        group, sep, role = item.rpartition("=")
        group, role = group.strip(), role.strip()
        if not sep or not group or not role:
            raise RoleMapError(f"“{item}” is not group=role.")
        if role not in ROLES:
            raise RoleMapError(f"“{role}” is not a role (use one of: {', '.join(ROLES)}).")
        mapping.setdefault(group, set()).add(role)
    return {group: frozenset(roles) for group, roles in mapping.items()}


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    provider_name: str
    groups_claim: str
    role_map: dict[str, frozenset[str]] = field(hash=False)
    trust_email: bool
    redirect_uri: str
    timeout: float
    clock_skew: int

    @property
    def managed_roles(self) -> set[str]:
        """The roles the mapping hands out: only these follow the groups."""
        return set().union(*self.role_map.values()) if self.role_map else set()

    def roles_for(self, groups: list[str]) -> set[str]:
        return set().union(*(self.role_map.get(g, frozenset()) for g in groups))

    def groups_in(self, claims: dict[str, Any]) -> list[str]:
        """The groups claim as a list (some providers send one string, space or comma separated)."""
        value = claims.get(self.groups_claim)
        if isinstance(value, str):
            return [g for g in value.replace(",", " ").split() if g]
        if isinstance(value, list):
            return [str(g) for g in value]
        return []

    def email_verified(self, claims: dict[str, Any]) -> bool:
        # Cognito's userinfo sends "true" as a string; its ID token sends a boolean.
        return self.trust_email or claims.get("email_verified") in (True, "true")

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def settings(app: Flask | None = None) -> OidcSettings | None:
    """The provider's settings, or None when single sign-on is not configured."""
    config = (app or current_app).config
    if not config.get("OIDC_ISSUER") or not config.get("OIDC_CLIENT_ID"):
        return None
    return OidcSettings(
        issuer=config["OIDC_ISSUER"],
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config.get("OIDC_CLIENT_SECRET") or "",
        scopes=config.get("OIDC_SCOPES") or "openid email profile",
        provider_name=config.get("OIDC_PROVIDER_NAME") or "single sign-on",
        groups_claim=config.get("OIDC_GROUPS_CLAIM") or "groups",
        role_map=parse_role_map(config.get("OIDC_ROLE_MAP") or ""),
        trust_email=bool(config.get("OIDC_TRUST_EMAIL")),
        redirect_uri=config.get("OIDC_REDIRECT_URI") or "",
        timeout=float(config.get("OIDC_TIMEOUT_SECONDS") or 10),
        clock_skew=int(config.get("OIDC_CLOCK_SKEW_SECONDS") or 0),
    )


def client(conf: OidcSettings) -> FlaskOAuth2App:
    """One authlib client per configuration, kept on the app: discovery and JWKS are fetched
    once and cached by the client (JWKS again when a token names an unknown key)."""
    cache: dict[tuple, FlaskOAuth2App] = current_app.extensions.setdefault("oidc_clients", {})
    key = (conf.issuer, conf.client_id, conf.client_secret, conf.scopes, conf.timeout)
    found = cache.get(key)
    if found is None:
        client_kwargs: dict[str, Any] = {
            "scope": conf.scopes,
            "code_challenge_method": "S256",
            "default_timeout": conf.timeout,
        }
        if not conf.client_secret:  # a public client (PKCE only)
            client_kwargs["token_endpoint_auth_method"] = "none"
        found = FlaskOAuth2App(
            FlaskIntegration(CLIENT_NAME),
            CLIENT_NAME,
            client_id=conf.client_id,
            client_secret=conf.client_secret or None,
            server_metadata_url=conf.metadata_url,
            client_kwargs=client_kwargs,
        )
        cache.clear()  # settings changed: forget the old client
        cache[key] = found
    return found


# Claims worth asking the userinfo endpoint for when the ID token lacks the email.
_PROFILE_CLAIMS = ("email", "email_verified", "name", "given_name", "family_name")


def complete_claims(
    conf: OidcSettings, app_client: FlaskOAuth2App, claims: dict[str, Any], metadata: dict
) -> dict[str, Any]:
    """Some providers put the email only in userinfo: fetch it then (same subject only)."""
    if claims.get("email") or not metadata.get("userinfo_endpoint"):
        return claims
    extra = app_client.userinfo()
    if str(extra.get("sub")) != str(claims["sub"]):
        return claims
    for key in (*_PROFILE_CLAIMS, conf.groups_claim):
        if key in extra and key not in claims:
            claims[key] = extra[key]
    return claims


def id_token_claims_options(conf: OidcSettings, metadata: dict[str, Any]) -> dict[str, Any]:
    """Issuer as discovered (it must equal the configured one) and audience = our client id."""
    return {
        "iss": {"essential": True, "value": metadata.get("issuer") or conf.issuer},
        "aud": {"essential": True, "value": conf.client_id},
        "sub": {"essential": True},
    }
