"""Production refuses to boot without a SECRET_KEY."""

from __future__ import annotations

import pytest

from app.config import Config, ConfigError


def test_production_requires_a_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        Config.validate({"APP_ENV": "production", "SECRET_KEY": ""})
    with pytest.raises(ConfigError):
        Config.validate({"APP_ENV": "production", "SECRET_KEY": "short"})
    Config.validate({"APP_ENV": "production", "SECRET_KEY": "x" * 32})


def test_development_does_not_need_one():
    Config.validate({"APP_ENV": "development", "SECRET_KEY": ""})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError):
        Config.validate({"APP_ENV": "staging", "SECRET_KEY": "x" * 32})
