"""Pytest fixtures for the provider path: `pytest_plugins = ["tests.support.fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_openai import FakeOpenAIServer
from tests.support.oidc_provider import OidcProvider


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A fresh fake OpenAI-compatible server per test (starting one takes about a millisecond).

    Per test so recorded requests, scripted queues and `fail-times` counters never leak between
    tests. Point a model at `fake_openai.base_url`; the answer is `answer_text(prompt)`.
    """
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def oidc_provider() -> Iterator[OidcProvider]:
    """A fresh OpenID Connect provider on loopback per test (its signing keys are shared)."""
    with OidcProvider() as provider:
        yield provider


SSO_ROLE_MAP = "teachers=staff,admins=administrator,admins=staff,students=student"


@pytest.fixture
def sso(app, oidc_provider: OidcProvider, monkeypatch) -> OidcProvider:
    """The app configured for the provider (the app is per session: settings restored after)."""
    for key, value in {
        "OIDC_ISSUER": oidc_provider.issuer,
        "OIDC_CLIENT_ID": oidc_provider.client_id,
        "OIDC_CLIENT_SECRET": oidc_provider.client_secret,
        "OIDC_PROVIDER_NAME": "District SSO",
        "OIDC_GROUPS_CLAIM": "cognito:groups",
        "OIDC_ROLE_MAP": SSO_ROLE_MAP,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return oidc_provider
