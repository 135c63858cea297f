"""litellm at its cheapest (DESIGN §7): how every worker configures it, and the per-call setting
that spares each stream a success log nobody listens to. Measured in bench/engine_baseline.py
(CPU per step) and bench/streaming.py (CPU per chain under load)."""

from __future__ import annotations

from typing import Any

import httpx
import litellm
from litellm.llms.custom_httpx.http_handler import get_ssl_configuration
from openai.types.chat import ChatCompletionChunk

from app.chain.demo_provider import register_demo_provider


def configure_litellm() -> None:
    """litellm at its cheapest per chunk (DESIGN §7; measured in bench/engine_baseline.py)."""
    # The big one: no logging job handed to a thread pool for every chunk (~25 % of CPU per step).
    # The other saving is in CompletionStream: stop at the usage chunk (~20 % more).
    litellm.disable_streaming_logging = True
    # One shared httpx client without httpx's cap of 100 connections: litellm caches one OpenAI
    # client per endpoint and key, so the 101st concurrent stream to a provider would wait for a
    # free connection (and time out). Per-step cost: no worse than litellm's own clients.
    if litellm.client_session is None:
        litellm.client_session = httpx.Client(
            verify=get_ssl_configuration(),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
            follow_redirects=True,
        )
    # No "Give Feedback / Get Help" banner printed on every provider error.
    litellm.suppress_debug_info = True
    # litellm formats every chunk into debug text (f"… {chunk}", twice) even with debugging off,
    # and the openai SDK's str() walks the whole pydantic chunk: ~5 % of a worker's CPU under
    # load (bench/streaming.py). str() of a chunk is only ever that text: a short one will do.
    ChatCompletionChunk.__str__ = _chunk_text  # type: ignore[method-assign,assignment]
    # Not drop_params: with it, litellm 1.110 re-sends a request refused with HTTP 422, then
    # returns None instead of raising.
    register_demo_provider()


def _chunk_text(chunk: ChatCompletionChunk) -> str:
    return f"ChatCompletionChunk(id={chunk.id!r})"


def skip_success_logging(raw_stream: Any) -> bool:
    """At the end of every stream litellm hands a "success" log to a worker: it prices the
    answer again and builds a logging payload, for callbacks we never register (~6 % of its
    CPU per prompt, bench/engine_baseline.py). Marked as already logged, it skips that — only
    while no litellm callback is configured, so one added later still hears of every call.
    Returns whether it was skipped (nobody listens to litellm's logging)."""
    if litellm.callbacks or litellm.success_callback or litellm._async_success_callback:
        return False
    logging_obj = getattr(raw_stream, "logging_obj", None)
    details = getattr(logging_obj, "model_call_details", None)
    if isinstance(details, dict):
        details["has_logged_sync_success"] = True
    return True
