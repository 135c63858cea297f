"""Single sign-on in tests: point the app at the loopback provider and do the redirect dance."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import httpx

from app.models.audit import AuditEvent


def start(client, next_url: str | None = None) -> str:
    """Press the button: the app answers with a redirect to the provider's authorize URL."""
    response = client.get("/auth/oidc/start", query_string={"next": next_url} if next_url else {})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def approve(authorize_url: str) -> str:
    """The browser at the provider (real HTTP): it approves and redirects back to our callback."""
    response = httpx.get(authorize_url, follow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def callback(client, callback_url: str):
    parts = urlsplit(callback_url)
    assert parts.path == "/auth/oidc/callback"
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, next_url: str | None = None):
    """The whole dance; returns the callback's response (303 on success, to the sign-in page
    with a flash on refusal)."""
    return callback(client, approve(start(client, next_url)))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def flash_after(client, response) -> str:
    """The message the sign-in page shows after a refused sign-in."""
    assert response.status_code in (302, 303), response.status_code
    assert urlsplit(response.headers["Location"]).path == "/sign-in"
    return html.unescape(client.get("/sign-in").get_data(as_text=True))


def last_failure() -> AuditEvent:
    return (
        AuditEvent.select()
        .where(AuditEvent.action == "user.sign_in_failed")
        .order_by(AuditEvent.id.desc())
        .get()
    )
