"""Provider errors: what can go wrong calling a model, in plain words, and whether to retry.

`classify_error` maps litellm / openai / httpx exceptions to these; messages never hold a key.
"""

from __future__ import annotations

import json
import re

import httpx
import litellm
import openai
from litellm.exceptions import MidStreamFallbackError


class ProviderError(Exception):
    """A model call failed; `message` is plain words for teachers, never containing a key."""

    default_retryable = False

    def __init__(self, message: str, retryable: bool | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = self.default_retryable if retryable is None else retryable
        self.status = status


class RateLimited(ProviderError):
    default_retryable = True


class ProviderUnavailable(ProviderError):  # 5xx, unreachable, or a stream cut midway
    default_retryable = True


class ProviderTimeout(ProviderError):
    default_retryable = True


class AuthenticationFailed(ProviderError):  # 401/403, or no key configured
    pass


class ModelNotFound(ProviderError):
    pass


class BadRequest(ProviderError):  # 400/422: the provider will refuse it again
    pass


class InvalidResponse(ProviderError):  # the stream could not be parsed
    pass


_TIMEOUTS = (litellm.Timeout, openai.APITimeoutError, httpx.TimeoutException, TimeoutError)
_UNREACHABLE = (litellm.APIConnectionError, openai.APIConnectionError, httpx.TransportError)
_PREFIXES = re.compile(r"^(?:litellm\.\w+:\s*|\w+Error:\s*|\w+Exception - )+")
_SECRETS = re.compile(r"\b(?:sk|pk|key|token)[-_][\w-]{6,}|\b[\w-]{32,}")
_BY_STATUS: dict[int, tuple[type[ProviderError], str]] = {
    429: (RateLimited, "The provider is limiting requests right now (HTTP 429)."),
    401: (AuthenticationFailed, "The provider refused the API key (HTTP 401)."),
    403: (AuthenticationFailed, "The provider refused access with this key (HTTP 403)."),
    404: (ModelNotFound, "The provider does not know the model {model} (HTTP 404)."),
    400: (BadRequest, "The provider rejected the request (HTTP 400): {detail}"),
    422: (BadRequest, "The provider rejected the request (HTTP 422): {detail}"),
}


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(chain) < 10:  # litellm wraps several times
        chain.append(cause)
        cause = getattr(cause, "original_exception", None) or cause.__cause__ or cause.__context__
    return chain


def _detail(error: BaseException) -> str:
    """The provider's own words, short, with anything key-like blanked out."""
    body = getattr(error, "body", None)
    text = str((body.get("message") if isinstance(body, dict) else None) or error)
    text = _SECRETS.sub("[hidden]", _PREFIXES.sub("", text.strip()))
    return text if len(text) <= 300 else text[:299] + "…"


def _seconds(value: float) -> str:
    return "1 second" if value == 1 else f"{value:g} seconds"


def classify_error(
    error: BaseException, model_id: str, timeout: float, *, started: bool = False
) -> ProviderError:
    """Map a litellm/openai/httpx error to ours; `started`: some text had already arrived."""
    if isinstance(error, ProviderError):
        return error
    causes = _causes(error)
    if any(isinstance(cause, json.JSONDecodeError) for cause in causes):
        return InvalidResponse("The provider sent an answer that could not be read.")
    if any(isinstance(cause, _TIMEOUTS) for cause in causes):
        if started:
            return ProviderTimeout(f"The model stopped answering for {_seconds(timeout)}.")
        return ProviderTimeout(f"The model did not start answering within {_seconds(timeout)}.")
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and status in _BY_STATUS:
        kind, words = _BY_STATUS[status]
        return kind(words.format(model=model_id, detail=_detail(error)), status=status)
    if started or isinstance(error, MidStreamFallbackError):
        return ProviderUnavailable("The provider's answer was cut off before it finished.")
    if any(isinstance(cause, _UNREACHABLE) for cause in causes):
        return ProviderUnavailable("Could not reach the provider.")
    if isinstance(status, int) and status >= 500:
        return ProviderUnavailable(
            f"The provider had a problem on its side (HTTP {status}).", status=status
        )
    if isinstance(status, int):
        return ProviderError(f"The provider refused the request (HTTP {status}).", status=status)
    return ProviderError(f"The model call failed unexpectedly ({type(error).__name__}).")
