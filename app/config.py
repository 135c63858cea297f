"""Configuration from the environment (12-factor), with a test configuration beside it."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


class Config:
    # production (the default: safe), development (make run) or testing.
    APP_ENV = os.environ.get("APP_ENV", "production")
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'app.db'}"
    DB_POOL_SIZE = _int("DB_POOL_SIZE", 20)  # runs and streams of one worker (PERFORMANCE.md)
    DB_POOL_TIMEOUT = _int("DB_POOL_TIMEOUT", 10)
    MIGRATIONS_DIR = str(ROOT / "migrations")

    # Sessions: HttpOnly always, SameSite=Lax, Secure behind TLS (production).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", APP_ENV == "production")
    PERMANENT_SESSION_LIFETIME = _int("SESSION_HOURS", 12) * 3600
    # Don't resend the cookie on every response: a concurrent htmx request (live lint) would
    # overwrite the one carrying a fresh flash message.
    SESSION_REFRESH_EACH_REQUEST = False

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_SSL_STRICT = _flag("WTF_CSRF_SSL_STRICT", APP_ENV == "production")
    # Every other form or JSON body ≤ 1 MiB (DESIGN §8); larger routes raise it per request.
    MAX_CONTENT_LENGTH = 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    MAX_FORM_PARTS = 2000

    # The runner (app/chain/settings.py reads these; durations shrink to milliseconds in tests).
    RUNNER_POOL_SIZE = _int("RUNNER_POOL_SIZE", 40)  # per worker; see docs/PERFORMANCE.md
    RUNNER_FLUSH_MS = _int("RUNNER_FLUSH_MS", 250)  # bench/streaming.py: see PERFORMANCE.md
    RUNNER_LEASE_SECONDS = float(os.environ.get("RUNNER_LEASE_SECONDS") or 30)
    RUNNER_MAX_ATTEMPTS = _int("RUNNER_MAX_ATTEMPTS", 3)
    RUNNER_POLL_SECONDS = float(os.environ.get("RUNNER_POLL_SECONDS") or 1)
    PROMPT_TIMEOUT_SECONDS = _int("PROMPT_TIMEOUT_SECONDS", 120)
    PROVIDER_READ_TIMEOUT_SECONDS = _int("PROVIDER_READ_TIMEOUT_SECONDS", 60)
    PROVIDER_RETRIES = _int("PROVIDER_RETRIES", 2)
    PROVIDER_RETRY_BACKOFF_MS = _int("PROVIDER_RETRY_BACKOFF_MS", 500)
    API_KEY_ENV_ALLOWLIST = tuple(
        name.strip()
        for name in os.environ.get("API_KEY_ENV_ALLOWLIST", "").split(",")
        if name.strip()
    )
    MODEL_TEST_TIMEOUT_SECONDS = float(os.environ.get("MODEL_TEST_TIMEOUT_SECONDS") or 10)
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")  # per token, per process
    RETENTION_SWEEP_SECONDS = float(os.environ.get("RETENTION_SWEEP_SECONDS") or 900)
    # Failed sign-ins per client address and per email; run starts per person (per process).
    SIGN_IN_RATE_LIMIT = os.environ.get("SIGN_IN_RATE_LIMIT", "10 per minute")
    RUN_START_RATE_LIMIT = os.environ.get("RUN_START_RATE_LIMIT", "30 per minute")
    SSE_KEEPALIVE_SECONDS = float(os.environ.get("SSE_KEEPALIVE_SECONDS") or 15)

    DEMO_MODEL = os.environ.get("DEMO_MODEL", "on") != "off"
    PASSWORD_LOGIN = os.environ.get("PASSWORD_LOGIN", "on") != "off"
    PASSWORD_RESET_MINUTES = _int("PASSWORD_RESET_MINUTES", 60)  # admin-issued reset links

    # Single sign-on (OpenID Connect); on when OIDC_ISSUER is set. See app/oidc.py.
    OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").strip()
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "").strip()
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
    OIDC_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
    OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "single sign-on")
    OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
    OIDC_ROLE_MAP = os.environ.get("OIDC_ROLE_MAP", "")  # "teachers=staff,admins=administrator"
    OIDC_TRUST_EMAIL = _flag("OIDC_TRUST_EMAIL", False)  # for providers that omit email_verified
    OIDC_REDIRECT_URI = os.environ.get("OIDC_REDIRECT_URI", "")  # default: /auth/oidc/callback
    OIDC_TIMEOUT_SECONDS = float(os.environ.get("OIDC_TIMEOUT_SECONDS") or 10)
    OIDC_CLOCK_SKEW_SECONDS = _int("OIDC_CLOCK_SKEW_SECONDS", 120)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    JSON_LOGS = _flag("JSON_LOGS", APP_ENV == "production")
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")  # when set, /metrics wants this bearer
    PROXY_COUNT = _int("PROXY_COUNT", 0)  # proxies in front (the ALB: 1) whose headers we trust

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse to boot when production lacks what it must have."""
        if config["APP_ENV"] not in {"production", "development", "testing"}:
            raise ConfigError("APP_ENV must be production, development or testing.")
        if config["APP_ENV"] == "production" and len(config.get("SECRET_KEY") or "") < 16:
            raise ConfigError(
                "SECRET_KEY must be set (at least 16 characters) in production. "
                "Generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        _validate_sign_in(config)


def _validate_sign_in(config: dict) -> None:
    from app.oidc import RoleMapError, parse_role_map

    issuer = config.get("OIDC_ISSUER") or ""
    if issuer:
        if not config.get("OIDC_CLIENT_ID"):
            raise ConfigError("OIDC_ISSUER is set but OIDC_CLIENT_ID is not.")
        loopback = issuer.startswith(("http://127.0.0.1:", "http://localhost:"))
        if config["APP_ENV"] == "production" and not issuer.startswith("https://") and not loopback:
            raise ConfigError("OIDC_ISSUER must be an https:// URL in production.")
        if "openid" not in (config.get("OIDC_SCOPES") or "openid").split():
            raise ConfigError("OIDC_SCOPES must include openid (the ID token comes with it).")
        try:
            parse_role_map(config.get("OIDC_ROLE_MAP") or "")
        except RoleMapError as exc:
            raise ConfigError(f"OIDC_ROLE_MAP: {exc}") from exc
    elif not config.get("PASSWORD_LOGIN", True):
        raise ConfigError(
            "PASSWORD_LOGIN=off needs single sign-on: set OIDC_ISSUER and OIDC_CLIENT_ID, "
            "or nobody could sign in."
        )


class DevelopmentConfig(Config):
    APP_ENV = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret-change-me"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_SSL_STRICT = False


class TestConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite:///:memory:")
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_SSL_STRICT = False
    # Every test signs in from one address: tests that prove a limit trips lower these.
    SIGN_IN_RATE_LIMIT = "100000 per minute"
    RUN_START_RATE_LIMIT = "100000 per minute"


def config_for_env() -> type[Config]:
    env = os.environ.get("APP_ENV", "production")
    return {"development": DevelopmentConfig, "testing": TestConfig}.get(env, Config)
