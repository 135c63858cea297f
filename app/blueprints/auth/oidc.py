"""Sign in with the organisation's identity provider (OpenID Connect, authorization code flow)."""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import abort, redirect, request, session, url_for
from joserfc.errors import JoseError
from peewee import IntegrityError

from app import oidc
from app.blueprints.auth import bp
from app.blueprints.auth.sign_in_audit import account_changes, sign_in_failed, sign_in_succeeded
from app.oidc_accounts import SignInRefused, account_for, check_may_sign_in
from app.security import flash_and_redirect, login_user, safe_next

log = logging.getLogger(__name__)

NEXT_KEY = "oidc_next"


class IssuerMismatch(ValueError):
    """Discovery answered for another issuer than the one configured."""


def _settings() -> oidc.OidcSettings:
    conf = oidc.settings()
    if conf is None:
        abort(404)
    return conf


def _metadata(conf: oidc.OidcSettings, app_client: Any) -> dict[str, Any]:
    metadata = app_client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != conf.issuer.rstrip("/"):
        raise IssuerMismatch(f"discovery names issuer {metadata.get('issuer')!r}")
    return metadata


def _refuse(conf: oidc.OidcSettings, reason: str, message: str, **details: Any) -> Any:
    sign_in_failed("oidc", reason, provider=conf.provider_name, **details)
    return flash_and_redirect(message, "auth.sign_in", "error")


def _misconfigured(conf: oidc.OidcSettings, exc: IssuerMismatch) -> Any:
    log.error("oidc.issuer_mismatch", extra={"error": str(exc), "configured": conf.issuer})
    return _refuse(
        conf,
        "issuer_mismatch",
        f"Sign-in with {conf.provider_name} is not set up correctly here. Please tell your "
        "administrator (the provider's issuer does not match OIDC_ISSUER).",
        error=str(exc)[:300],
    )


def _unreachable(conf: oidc.OidcSettings, exc: Exception) -> Any:
    log.warning("oidc.provider_unreachable", extra={"error": str(exc)})
    return _refuse(
        conf,
        "provider_unreachable",
        f"We couldn't reach {conf.provider_name} just now. Please try again in a minute.",
        error=str(exc)[:300],
    )


@bp.get("/auth/oidc/start")
def oidc_start() -> Any:
    conf = _settings()
    app_client = oidc.client(conf)
    try:
        _metadata(conf, app_client)
    except IssuerMismatch as exc:
        return _misconfigured(conf, exc)
    except (requests.RequestException, ValueError) as exc:
        return _unreachable(conf, exc)
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    redirect_uri = conf.redirect_uri or url_for("auth.oidc_callback", _external=True)
    return app_client.authorize_redirect(redirect_uri)


@bp.get("/auth/oidc/callback")
def oidc_callback() -> Any:
    conf = _settings()
    app_client = oidc.client(conf)
    if request.args.get("error"):
        app_client.framework.clear_state_data(session, request.args.get("state"))
        error = request.args["error"][:100]
        message = (
            f"Sign-in was cancelled at {conf.provider_name}."
            if error == "access_denied"
            else f"{conf.provider_name} could not sign you in ({error}). Please try again."
        )
        return _refuse(conf, "provider_error", message, error=error)
    try:
        metadata = _metadata(conf, app_client)
        token = app_client.authorize_access_token(
            claims_options=oidc.id_token_claims_options(conf, metadata), leeway=conf.clock_skew
        )
        claims = token.get("userinfo")
        if claims:
            claims = oidc.complete_claims(conf, app_client, dict(claims), metadata)
    except IssuerMismatch as exc:
        return _misconfigured(conf, exc)
    except MismatchingStateError:
        return _refuse(
            conf,
            "state_mismatch",
            "That sign-in attempt has expired or was already used. Please sign in again.",
        )
    except OAuthError as exc:
        return _refuse(
            conf,
            "token_refused",
            f"{conf.provider_name} refused the sign-in. Please try again.",
            error=str(exc.error),
            description=str(exc.description or "")[:300],
        )
    except JoseError as exc:
        # A bad signature, wrong audience or issuer, expired token, missing or wrong nonce…
        return _refuse(
            conf,
            "id_token_invalid",
            f"The answer from {conf.provider_name} could not be verified, so you are not "
            "signed in. Please try again; if it keeps happening, tell your administrator.",
            error=exc.error,
            description=str(exc.description or "")[:300],
        )
    except (requests.RequestException, ValueError) as exc:
        return _unreachable(conf, exc)
    if not claims:
        return _refuse(
            conf,
            "no_id_token",
            f"{conf.provider_name} did not send an ID token. Tell your "
            "administrator: the client needs the openid scope.",
        )
    details = {"issuer": claims.get("iss"), "subject": claims.get("sub")}
    try:
        try:
            result = account_for(conf, claims)
        except IntegrityError:  # the same first sign-in in two tabs: the other one linked it
            result = account_for(conf, claims)
    except SignInRefused as exc:
        return _refuse(conf, exc.reason, exc.message, email=claims.get("email"), **details)
    account_changes(conf.provider_name, result)
    try:
        check_may_sign_in(result.user)
    except SignInRefused as exc:
        return _refuse(conf, exc.reason, exc.message, user=exc.user, **details)
    target = session.pop(NEXT_KEY, None) or url_for("catalog.index")
    login_user(result.user)
    sign_in_succeeded(result.user, "oidc", provider=conf.provider_name, **details)
    return redirect(safe_next(target), code=303)
