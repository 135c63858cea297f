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
