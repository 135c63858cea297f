"""One streamed answer, read chunk by chunk: text deltas, then `.usage` and `.finish_reason`.

litellm sends the request (routing, keys, parameters, errors at the start). What comes back is
read one of two ways:
- **directly**, for every OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama's /v1…):
  litellm hands back the openai SDK's stream, and its HTTP response is read here as
  server-sent events (httpx-sse) holding plain JSON chunks. Both litellm's wrapper and the
  openai SDK build a pydantic object per chunk — with litellm's checks, ~0.7 ms per chunk on
  these machines, the biggest CPU cost of a worker under load (DESIGN §7; bench/engine_baseline.py,
  bench/streaming.py). Here a chunk is one `json.loads`.
- **through litellm's wrapper** for every other provider (the demo model included), for a
  response that is not `text/event-stream`, and for every stream while a litellm callback is
  registered: a callback hears of every chunk and call, as litellm's logging promises.
Both ways give the same deltas, usage, finish reason and errors (tests/unit/test_providers.py
runs its stream tests both ways).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import litellm
import openai
from httpx_sse import EventSource
from litellm.litellm_core_utils.core_helpers import map_finish_reason

from app.chain.provider_errors import ProviderError, ProviderTimeout, classify_error


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False  # True when the provider sent no usage and litellm counted tokens


def hide_key(error: ProviderError, secret: str | None) -> ProviderError:
    """Providers quote a refused key back ("Incorrect API key provided: …"): blank it out."""
    if secret and secret in error.message:
        error.message = error.message.replace(secret, "[hidden]")
        error.args = (error.message,)
    return error


def event_stream_response(raw_stream: Any) -> httpx.Response | None:
    """The HTTP response of an OpenAI-compatible stream litellm returned, when it is SSE."""
    chunks = getattr(raw_stream, "completion_stream", None)
    response = getattr(chunks, "response", None) if isinstance(chunks, openai.Stream) else None
    if not isinstance(response, httpx.Response):
        return None
    return response if "text/event-stream" in response.headers.get("content-type", "") else None


class CompletionStream(Iterator[str]):
    """Text deltas of one answer; `.usage` and `.finish_reason` are set once it is exhausted.
    `.close()` cancels it from any thread or greenlet."""

    def __init__(
        self,
        raw_stream: Any,
        model_id: str,
        messages: list[dict[str, Any]],
        timeout: float,
        deadline: float | None,
        secret: str | None = None,
        direct: bool = True,
    ) -> None:
        self.usage: TokenUsage | None = None
        self.finish_reason: str | None = None
        self._raw = raw_stream  # litellm's CustomStreamWrapper
        self._secret = secret  # the key sent, blanked out of error messages
        self._model_id = model_id
        self._messages = messages
        self._timeout = timeout
        self._deadline = deadline
        self._parts: list[str] = []
        self._closed = False
        response = event_stream_response(raw_stream) if direct else None
        self._response = response
        self._deltas = self._direct_deltas(response) if response else self._wrapped_deltas()

    @property
    def direct(self) -> bool:
        """Read as server-sent events off the HTTP response, not through litellm's wrapper."""
        return self._response is not None

    def __next__(self) -> str:
        # Kept lean: this runs once per chunk.
        while not self._closed:
            try:
                text = next(self._deltas)
            except StopIteration:
                break
            except Exception as error:
                if self._closed:  # closed by a canceller while we were reading: just end
                    break
                self.close()
                classified = classify_error(
                    error, self._model_id, self._timeout, started=bool(self._parts)
                )
                raise hide_key(classified, self._secret) from None
            if self._deadline is not None and time.monotonic() > self._deadline:
                self.close()
                raise ProviderTimeout("The model took longer than its time limit; it was stopped.")
            if text:
                self._parts.append(text)
                return text
        raise StopIteration

    def _direct_deltas(self, response: httpx.Response) -> Iterator[str]:
        """The provider's own chunks, as plain JSON: "" for a chunk without text."""
        usage: dict[str, Any] = {}
        for event in EventSource(response).iter_sse():
            if event.data.startswith("[DONE]"):
                break
            chunk = event.json()
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error"):  # a failure midway, as the openai SDK reports it
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else None
                message = str(message or "An error occurred during streaming")
                # openai's types name httpx2's Request; litellm gives it an httpx client
                raise openai.APIError(message, response.request, body=error)  # type: ignore[arg-type]
            choices = chunk.get("choices")
            if choices and isinstance(choices[0], dict):
                choice = choices[0]
                if choice.get("finish_reason"):  # in litellm's words, as its wrapper gives it
                    self.finish_reason = map_finish_reason(choice["finish_reason"])
                yield (choice.get("delta") or {}).get("content") or ""
            if isinstance(chunk.get("usage"), dict):
                usage = chunk["usage"]
        sent, received = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(sent, int) and isinstance(received, int):
            self._finish(sent, received, estimated=False)
        else:  # none, or not both counts: a complete answer is not failed for its usage
            self._estimate()

    def _wrapped_deltas(self) -> Iterator[str]:
        """litellm's chunks: "" for a chunk without text."""
        for chunk in self._raw:
            if chunk.choices:
                choice = chunk.choices[0]
                if choice.finish_reason:
                    self.finish_reason = choice.finish_reason
                yield choice.delta.content or ""
            # The last chunk carries the usage. Stop here: one more next() would make litellm
            # rebuild the whole response a second time (measured: ~1/4 of its cost).
            usage = getattr(chunk, "usage", None)
            if usage is not None:
                # litellm adds usage of its own counting: was the provider's in its chunks?
                reported = any(  # it rides on the last chunks: look from the end
                    getattr(raw, "usage", None) is not None for raw in reversed(self._raw.chunks)
                )
                self._finish(usage.prompt_tokens, usage.completion_tokens, not reported)
                return
        self._estimate()

    def _estimate(self) -> None:
        """No usage from the provider: litellm's own token count, flagged as estimated."""
        self._finish(
            litellm.token_counter(model=self._model_id, messages=self._messages),
            litellm.token_counter(model=self._model_id, text="".join(self._parts)),
            estimated=True,
        )

    def _finish(self, prompt_tokens: int, completion_tokens: int, estimated: bool) -> None:
        self.usage = TokenUsage(prompt_tokens, completion_tokens, estimated)
        self._closed = True
        self._raw.close()  # the answer is complete: the connection goes back to the pool

    def close(self) -> None:
        """Cancel: drop the provider's connection now, from any thread or greenlet. Idempotent.

        Shutting the socket down wakes a reader blocked on a stalled stream at once (a plain
        close() from another thread would wait for its read timeout) and the provider sees EOF.
        """
        if self._closed:
            return
        self._closed = True
        response = getattr(self._raw.completion_stream, "response", None)  # openai SDK Stream
        network_stream = getattr(response, "extensions", {}).get("network_stream")
        sock = network_stream.get_extra_info("socket") if network_stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._raw.close()
