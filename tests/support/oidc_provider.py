"""A small OpenID Connect provider on loopback, for tests (stdlib HTTP server + joserfc keys).

It speaks just enough of the protocol for a relying party doing the authorization code flow:
discovery, authorize (approves at once, as `provider.claims` says, and redirects back with a
one-time code), token (client authentication, PKCE S256, a signed RS256 ID token) and JWKS.

Knobs for the failures a client must catch, set on the instance before a sign-in:
`bad_signature` (signed by another key under the published key id), `audience` (another aud),
`expired` (exp an hour ago), `omit_nonce`, `wrong_nonce`, `issuer_in_token` (another iss),
`issuer_in_discovery` (discovery names another issuer), `email_only_in_userinfo` (the ID token
carries no email; the userinfo endpoint does).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

KEY_ID = "test-signing-key"
_keys: dict[str, RSAKey] = {}


def _key(name: str) -> RSAKey:
    """RSA keys are slow to make: one per name per test session."""
    if name not in _keys:
        _keys[name] = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig"})
    return _keys[name]


@dataclass
class IssuedCode:
    claims: dict[str, Any]
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None


@dataclass
class ProviderLog:
    authorize: list[dict[str, str]] = field(default_factory=list)
    token: list[dict[str, Any]] = field(default_factory=list)
    discovery: int = 0
    jwks: int = 0


class OidcProvider(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, client_id: str = "aa-web", client_secret: str = "aa-secret") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = _key("good")
        self.claims: dict[str, Any] = {
            "sub": "user-1",
            "email": "teacher@school.example",
            "email_verified": True,
            "name": "Terry Teacher",
            "cognito:groups": ["teachers"],
        }
        self.bad_signature = False
        self.audience: str | None = None
        self.expired = False
        self.omit_nonce = False
        self.wrong_nonce = False
        self.issuer_in_token: str | None = None
        self.issuer_in_discovery: str | None = None
        self.email_only_in_userinfo = False
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self.log = ProviderLog()
        self._codes: dict[str, IssuedCode] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer_in_discovery or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def start(self) -> OidcProvider:
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.02,), daemon=True, name="oidc-provider"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- protocol -----------------------------------------------------------------------------
    def issue_code(self, params: dict[str, str]) -> str:
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = IssuedCode(
                claims=dict(self.claims),
                client_id=params.get("client_id", ""),
                redirect_uri=params.get("redirect_uri", ""),
                nonce=params.get("nonce"),
                code_challenge=params.get("code_challenge"),
                code_challenge_method=params.get("code_challenge_method"),
            )
        return code

    def redeem_code(self, code: str) -> IssuedCode | None:
        """Codes work once, as at a real provider (a replayed callback is refused here too)."""
        with self._lock:
            return self._codes.pop(code, None)

    def id_token(self, issued: IssuedCode) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer_in_token or self.issuer,
            "aud": self.audience or self.client_id,
            "iat": now - (3700 if self.expired else 0),
            "exp": now - 3600 if self.expired else now + 300,
            "auth_time": now,
            **issued.claims,
        }
        if self.email_only_in_userinfo:
            for key in ("email", "email_verified"):
                claims.pop(key, None)
        if issued.nonce and not self.omit_nonce:
            claims["nonce"] = "not-the-nonce" if self.wrong_nonce else issued.nonce
        key = _key("rogue") if self.bad_signature else self.key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)

    def access_token(self, issued: IssuedCode) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._access_tokens[token] = dict(issued.claims)
        return token

    def userinfo(self, authorization: str | None) -> dict[str, Any] | None:
        token = (authorization or "").removeprefix("Bearer ")
        with self._lock:
            return self._access_tokens.get(token)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    server: OidcProvider

    def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
        return

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        provider = self.server
        if url.path == "/.well-known/openid-configuration":
            provider.log.discovery += 1
            self._json(200, provider.metadata())
        elif url.path == "/jwks":
            provider.log.jwks += 1
            self._json(200, provider.jwks())
        elif url.path == "/userinfo":
            claims = provider.userinfo(self.headers.get("Authorization"))
            if claims is None:
                self._json(401, {"error": "invalid_token"})
            else:
                self._json(200, claims)
        elif url.path == "/authorize":
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            provider.log.authorize.append(params)
            if params.get("client_id") != provider.client_id or not params.get("redirect_uri"):
                self._json(400, {"error": "invalid_request"})
                return
            code = provider.issue_code(params)
            query = urlencode({"code": code, "state": params.get("state", "")})
            self.send_response(302)
            self.send_header("Location", f"{params['redirect_uri']}?{query}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        provider = self.server
        if urlsplit(self.path).path != "/token":
            self._json(404, {"error": "not_found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        provider.log.token.append({"form": form, "authorization": self.headers["Authorization"]})
        expected = base64.b64encode(
            f"{provider.client_id}:{provider.client_secret}".encode()
        ).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._json(401, {"error": "invalid_client"})
            return
        issued = provider.redeem_code(form.get("code", ""))
        if issued is None or form.get("grant_type") != "authorization_code":
            self._json(400, {"error": "invalid_grant", "error_description": "unknown code"})
            return
        if form.get("redirect_uri") != issued.redirect_uri:
            self._json(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
            return
        if issued.code_challenge and (
            issued.code_challenge_method != "S256"
            or _s256(form.get("code_verifier", "")) != issued.code_challenge
        ):
            self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
            return
        self._json(
            200,
            {
                "access_token": provider.access_token(issued),
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": provider.id_token(issued),
            },
        )
