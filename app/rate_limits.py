"""Request rate limits for the pages (flask-limiter, per process — DESIGN §8).

- sign-in: failed attempts per client address and per email (SIGN_IN_RATE_LIMIT);
- run start: per person, shared by the run form, retry and the API (RUN_START_RATE_LIMIT).
The API's per-token limit is in app.blueprints.api.limits. Budgets (counted in the database,
across processes) are app.budgets.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse
from werkzeug.exceptions import TooManyRequests

DEFAULT_SIGN_IN_LIMIT = "10 per minute"
DEFAULT_RUN_START_LIMIT = "30 per minute"

limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", key_prefix="web")


def _setting(name: str, default: str) -> str:
    return str(current_app.config.get(name) or default)


def sign_in_limit() -> str:
    return _setting("SIGN_IN_RATE_LIMIT", DEFAULT_SIGN_IN_LIMIT)


def _email_key() -> str:
    return "email:" + (request.form.get("email") or "").strip().lower()[:320]


def _failed(response: Any) -> bool:
    """Only failed sign-ins count: a class signing in through one school address is fine."""
    return bool(response.status_code != 303)


def limit_sign_in(view: Any) -> Any:
    """Failed POSTs per client address and per email address."""
    common: dict[str, Any] = {"methods": ["POST"], "deduct_when": _failed}
    view = limiter.limit(sign_in_limit, key_func=_email_key, scope="sign-in-email", **common)(view)
    return limiter.limit(sign_in_limit, scope="sign-in-ip", **common)(view)


class RunStartLimited(TooManyRequests):
    """Too many runs started by one person in the window (retry_after in seconds)."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(
            f"Too many runs started in a short time (the limit is {limit}). "
            f"Please wait {retry_after} s and try again.",
            retry_after=retry_after,
        )
        self.wait = retry_after


def check_run_start(user_id: int) -> None:
    """Count one run start for this person; raise RunStartLimited over the limit."""
    text = _setting("RUN_START_RATE_LIMIT", DEFAULT_RUN_START_LIMIT)
    item = parse(text)
    strategy = limiter.limiter
    if strategy.hit(item, "run-start", str(user_id)):
        return
    reset_at = strategy.get_window_stats(item, "run-start", str(user_id)).reset_time
    raise RunStartLimited(text, max(1, int(reset_at - time.time()) + 1))


def _too_many(exc: RateLimitExceeded) -> Any:
    from app.errors import render_error

    current = limiter.current_limit
    wait = max(1, int(current.reset_at - time.time()) + 1) if current else 60
    body, status = render_error(
        429, f"Too many attempts in a short time. Please wait {wait} s and try again."
    )
    return body, status, {"Retry-After": str(wait)}


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)
