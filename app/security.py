"""Who is asking: sessions, roles, CSRF, the security headers and the first-run setup token."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from flask import Flask, abort, flash, g, make_response, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from app.db import utcnow
from app.htmx import add_vary_header, htmx
from app.models import User
from app.models.audit import record

log = logging.getLogger(__name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    htmx.init_app(app)
    app.before_request(_load_user)
    app.after_request(_security_headers)
    app.after_request(add_vary_header)


def _load_user() -> None:
    g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
    g.user = None
    user_id = session.get("uid")
    if user_id is None:
        return
    user = User.get_or_none(User.id == user_id)
    if user is None or not user.is_active or session.get("epoch") != user.session_epoch:
        session.clear()
        return
    g.user = user


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if getattr(g, "request_id", None):
        response.headers["X-Request-ID"] = g.request_id
    return response


def current_user() -> User | None:
    return g.get("user")


def signed_in_user() -> User:
    """The user of a view behind login_required (never None there)."""
    user = g.get("user")
    if user is None:
        abort(401)
    return user


def login_user(user: User) -> None:
    session.clear()  # a fresh session at sign-in: no fixation
    session.permanent = True
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    user.last_login_at = utcnow()
    user.save(only=[User.last_login_at])
    g.user = user


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect off-site after sign-in."""
    if not target:
        return url_for("catalog.index")
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target[:2] in ("//", "/\\"):
        return url_for("catalog.index")
    return target


def reissue_session(user: User) -> None:
    """Keep this browser signed in after the account's sessions were ended (own password)."""
    session["epoch"] = user.session_epoch


def logout_user() -> None:
    session.clear()
    g.user = None


def audit(action: str, target: Any = None, summary: str = "", **details: Any) -> None:
    """Record a state change made through the web, with who, from where and the request id."""
    record(
        action,
        actor=current_user(),
        target=target,
        summary=summary,
        details=details,
        ip=request.remote_addr,
        request_id=g.get("request_id"),
    )


def _sign_in_redirect() -> Any:
    target = url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None)
    if htmx:
        # htmx would swap the sign-in page into a fragment; send the browser there instead.
        response = redirect(target)
        response.headers["HX-Redirect"] = target
        return response
    flash("Please sign in to continue.", "info")
    return redirect(target)


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _sign_in_redirect()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Signed in and holding one of `roles`, else 403 (the page exists; it is not yours)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return _sign_in_redirect()
            if not user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


admin_required = roles_required("administrator")


# --- first run -------------------------------------------------------------------------------
def setup_token(secret_key: str) -> str:
    """Derived from SECRET_KEY, so every worker and task prints and accepts the same token."""
    digest = hmac.new(secret_key.encode(), b"first-run-setup", hashlib.sha256).hexdigest()
    return digest[:24]


def setup_needs_token(app: Flask) -> bool:
    return app.config["APP_ENV"] == "production"


def announce_setup_token(app: Flask) -> None:
    if not setup_needs_token(app) or app.config.get("OIDC_ISSUER"):
        return  # with single sign-on there is no setup page
    from app.db import database

    try:
        with database.connection_context():
            if User.administrators_exist():
                return
    except Exception:  # the schema may not exist yet; /readyz reports that
        return
    log.warning(
        "No administrator yet. Open /setup and enter this one-time setup token: %s",
        setup_token(app.config["SECRET_KEY"]),
    )


def flash_and_redirect(
    message: str, endpoint: str, category: str = "success", **values: Any
) -> Any:
    """POST/redirect/GET with a flash; htmx gets HX-Redirect so the whole page changes."""
    flash(message, category)
    target = url_for(endpoint, **values)
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)
