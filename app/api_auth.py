"""Who is calling the API: a personal bearer token (never the session cookie) and its scopes.

Scopes are independent (least privilege): `assistants:read` lists and reads assistants and the
caller's runs with their events; `assistants:execute` starts and cancels runs (reading the result
needs `assistants:read` too); `assistants:write` is reserved for import/export (administrators).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from app.models import User
from app.models.token import ApiToken

F = TypeVar("F", bound=Callable[..., Any])
REALM = "assistant-architect"


def parse_bearer(header: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>` (the scheme case-insensitive), else None."""
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials or " " in credentials:
        return None
    return credentials


def _challenge(error: str | None = None, **params: str) -> WWWAuthenticate:
    values: dict[str, str | None] = {
        "realm": REALM,
        **({"error": error} if error else {}),
        **params,
    }
    return WWWAuthenticate("Bearer", values)


class InsufficientScope(Forbidden):
    def __init__(self, scope: str) -> None:
        super().__init__(f"This token lacks the `{scope}` scope.")
        self.challenge = _challenge("insufficient_scope", scope=scope)

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), ("WWW-Authenticate", str(self.challenge))]


def authenticate() -> ApiToken:
    """The live token of this request, or 401 with a Bearer challenge."""
    secret = parse_bearer(request.headers.get("Authorization"))
    if secret is None:
        raise Unauthorized(
            "Send a personal API token: `Authorization: Bearer <token>`. "
            "Create one on your profile page.",
            www_authenticate=_challenge(),
        )
    token = ApiToken.find_usable(secret)
    if token is None:
        raise Unauthorized(
            "This token is not valid: it is unknown, revoked or expired, or its account is "
            "deactivated.",
            www_authenticate=_challenge("invalid_token"),
        )
    return token


def scope_required(scope: str) -> Callable[[F], F]:
    """Authenticate by bearer token, then require `scope` (403 without it)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = authenticate()
            if scope not in token.effective_scopes():
                raise InsufficientScope(scope)
            token.touch()
            g.api_token = token
            g.user = token.user  # audit() records the token's owner as the actor
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def api_user() -> User:
    """The owner of the request's token (views behind scope_required only)."""
    return g.api_token.user
