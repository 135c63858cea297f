"""The offline demo model: a litellm custom provider that answers without any AI.

It streams a deterministic Markdown answer built from the prompt, so `make run` works with no keys,
a chain visibly passes text from one prompt to the next, and e2e tests need no network. Same
prompt, same answer, byte for byte. Its speed comes from `DEMO_MODEL_DELAY_MS` (or
`configure_demo`), read at call time; `time.sleep` yields to other greenlets under gevent.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any, Literal

# litellm must not reach for the internet at import (same settings as app.chain.providers).
os.environ.update(
    LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_OFFLINE_MODE="true", HF_HUB_OFFLINE="1"
)

import litellm
from litellm import CustomLLM
from litellm.types.llms.openai import ChatCompletionUsageBlock
from litellm.types.utils import GenericStreamingChunk, ModelResponse, Usage

DEMO_PROVIDER = "demo"
DEMO_MODEL_ID = "demo/offline"
DEMO_MODEL_NAME = "Offline demo — no AI"
DEFAULT_DELAY_MS = 20.0
EXCERPT_CHARS = 200

_configured_delay_ms: float | None = None  # set by configure_demo; wins over the environment
_PIECE = re.compile(r"\S+\s*|\s+")  # a word with its trailing whitespace: the streamed "token"
_WORD = re.compile(r"[^\W_]{4,}")  # words worth a bullet: 4+ letters or digits


def configure_demo(delay_ms: float | None = None) -> None:
    """Set the delay between streamed pieces (0 = as fast as possible; None = back to the env)."""
    global _configured_delay_ms
    _configured_delay_ms = delay_ms


def demo_delay_seconds() -> float:
    if _configured_delay_ms is not None:
        return max(_configured_delay_ms, 0.0) / 1000
    raw = os.environ.get("DEMO_MODEL_DELAY_MS", "").strip()
    try:
        delay_ms = float(raw) if raw else DEFAULT_DELAY_MS
    except ValueError:
        delay_ms = DEFAULT_DELAY_MS
    return max(delay_ms, 0.0) / 1000


def _text_of(content: Any) -> str:
    """Message content is a string or a list of parts (OpenAI format); keep the text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    return next(
        (_text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )


def demo_answer(messages: list[dict[str, Any]]) -> str:
    """The whole answer for these messages; a pure function of the last user message."""
    prompt = " ".join(last_user_text(messages).split())
    excerpt = prompt[:EXCERPT_CHARS] + ("…" if len(prompt) > EXCERPT_CHARS else "")
    # The four longest distinct words (earliest first on ties), shown in prompt order.
    first_seen: dict[str, int] = {}
    for index, match in enumerate(_WORD.finditer(prompt)):
        first_seen.setdefault(match.group().lower(), index)
    longest = sorted(first_seen, key=lambda word: (-len(word), first_seen[word]))[:4]
    words = sorted(longest, key=first_seen.__getitem__) or ["your", "request"]
    bullets = [
        f"- Point {n}: what the prompt says about **{word}**." for n, word in enumerate(words, 1)
    ]
    return (
        f"**Offline demo — no AI.** You asked me to: {excerpt or '(nothing)'}\n\n"
        + "\n".join(bullets)
        + f"\n\n_{len(prompt.split())} words received; no model was called._"
    )


def answer_pieces(text: str) -> list[str]:
    return _PIECE.findall(text)


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    # Words, not a tokenizer: deterministic, instant, and honest enough for a demo.
    return sum(len(_text_of(m.get("content")).split()) for m in messages)


def _planned_answer(
    messages: list, optional_params: dict
) -> tuple[list[str], Literal["stop", "length"]]:
    """The pieces to send and the finish reason, honouring the output cap (max_tokens)."""
    pieces = answer_pieces(demo_answer(messages))
    cap = optional_params.get("max_tokens") or optional_params.get("max_completion_tokens")
    if isinstance(cap, int) and 0 < cap < len(pieces):
        return pieces[:cap], "length"
    return pieces, "stop"


class DemoLLM(CustomLLM):
    """Streams `demo_answer` piece by piece; litellm wraps it like any other provider."""

    def streaming(self, *args: Any, **kwargs: Any) -> Iterator[GenericStreamingChunk]:
        messages: list = kwargs.get("messages") or []
        pieces, finish_reason = _planned_answer(messages, kwargs.get("optional_params") or {})
        delay = demo_delay_seconds()
        for piece in pieces:
            if delay:
                time.sleep(delay)
            yield GenericStreamingChunk(
                text=piece, is_finished=False, finish_reason="", usage=None, index=0, tool_use=None
            )
        prompt_tokens = _prompt_tokens(messages)
        usage = ChatCompletionUsageBlock(
            prompt_tokens=prompt_tokens,
            completion_tokens=len(pieces),
            total_tokens=prompt_tokens + len(pieces),
        )
        yield GenericStreamingChunk(
            text="",
            is_finished=True,
            finish_reason=finish_reason,
            usage=usage,
            index=0,
            tool_use=None,
        )

    def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        messages: list = kwargs.get("messages") or []
        pieces, finish_reason = _planned_answer(messages, kwargs.get("optional_params") or {})
        response: ModelResponse = kwargs.get("model_response") or ModelResponse()
        response.choices[0].message.content = "".join(pieces)
        response.choices[0].finish_reason = finish_reason
        prompt_tokens = _prompt_tokens(messages)
        usage = Usage(prompt_tokens, len(pieces), prompt_tokens + len(pieces))
        response.usage = usage  # type: ignore[attr-defined]  # set the way litellm itself does
        response.model = DEMO_MODEL_ID
        return response


_demo_llm = DemoLLM()


def register_demo_provider() -> None:
    """Add the `demo` provider to litellm once (idempotent)."""
    if not any(entry.get("provider") == DEMO_PROVIDER for entry in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": DEMO_PROVIDER, "custom_handler": _demo_llm})
    litellm.utils.custom_llm_setup()
