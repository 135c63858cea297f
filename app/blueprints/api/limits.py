"""Request rate limits for the API, per token (flask-limiter; per process — DESIGN §8)."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from app.api_auth import parse_bearer
from app.blueprints.api.problems import problem
from app.models.token import hash_secret

DEFAULT_LIMIT = "600 per minute"


def _caller_key() -> str:
    """The token (hashed: no secret kept in memory) or, without one, the client address."""
    secret = parse_bearer(request.headers.get("Authorization"))
    return f"token:{hash_secret(secret)}" if secret else f"ip:{get_remote_address()}"


def _limit() -> str:
    return str(current_app.config.get("API_RATE_LIMIT") or DEFAULT_LIMIT)


limiter = Limiter(key_func=_caller_key, storage_uri="memory://", key_prefix="api")


def _too_many(exc: RateLimitExceeded) -> Response:
    current = limiter.current_limit
    wait = max(1, int(current.reset_at - time.time())) if current else 1
    detail = f"Too many requests ({exc.description}). Retry in {wait} s."
    return problem(429, detail, headers=[("Retry-After", str(wait))])


def install(bp: Blueprint) -> None:
    limiter.limit(_limit)(bp)
    bp.register_error_handler(RateLimitExceeded, _too_many)
    bp.record_once(lambda state: limiter.init_app(state.app))  # type: ignore[arg-type]
