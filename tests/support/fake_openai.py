"""A fake OpenAI-compatible server on loopback, for tests and benchmarks (stdlib only, no gevent).

The answer is "echo: <last user message>" split into word tokens, so a chain can be checked for
passing text along. Behaviour is scripted per request by a marker in the last user message
(`[[fail:429]]`, `[[hang]]`, `[[stall-after:5]]`, `[[cut-after:5]]`, `[[invalid-json]]`,
`[[fail-times:2:500]]`, `[[slow:200]]`, `[[no-usage]]`, `[[fail-echo-key:400]]` — an error that
quotes the key back, as real providers do; `[[partial-usage]]` — usage without
`prompt_tokens`; `[[error-after:2]]` — an error event in the stream
after 2 pieces, as OpenAI sends when it fails midway) or by a server-level queue
(`server.script("fail:500", "ok")`).
Markers are removed from the echoed text, so they do not leak into the next prompt of a chain.

Run alone for the load benchmark:
    python -m tests.support.fake_openai --port 8001 --token-delay-ms 40 --tokens 50
"""

from __future__ import annotations

import argparse
import json
import re
import select
import socket
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKER = re.compile(r"\[\[([a-z-]+(?::[0-9]+)*)\]\]")
FAKE_MODEL = "fake-model"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None
    client_port: int = 0  # the same port twice = the client reused its connection

    @property
    def last_user_message(self) -> str:
        messages = (self.body or {}).get("messages") or []
        return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")


def answer_tokens(prompt: str, tokens: int | None = None) -> list[str]:
    """The deterministic answer to `prompt`, as the pieces it is streamed in.

    One piece per word of "echo: <prompt>" (markers removed, whitespace collapsed). With `tokens`
    set, exactly that many pieces: the echo is cut, or padded with numbered filler words.
    """
    words = ["echo:", *MARKER.sub(" ", prompt).split()]
    if tokens is not None:
        words = (words + [f"w{i}" for i in range(len(words), tokens)])[:tokens]
    return [word + " " for word in words[:-1]] + words[-1:]


def answer_text(prompt: str, tokens: int | None = None) -> str:
    return "".join(answer_tokens(prompt, tokens))


def count_prompt_tokens(body: dict) -> int:
    """A deterministic stand-in for the provider's prompt token count: words in all messages."""
    return sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))


class FakeOpenAIServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the load benchmark opens hundreds of streams at once

    def __init__(self, port: int = 0, *, tokens: int | None = None, token_delay_ms: float = 0):
        super().__init__(("127.0.0.1", port), FakeOpenAIHandler)
        self.tokens = tokens
        self.token_delay_ms = token_delay_ms
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0  # clients that went away before the answer was complete
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._scripted: deque[str] = deque()
        self._marker_uses: Counter[str] = Counter()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.02,), daemon=True, name="fake-openai"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases hanging handlers
        self.shutdown()
        self.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def script(self, *behaviours: str) -> None:
        """Queue behaviours ("fail:500", "hang", "ok" …) for the next chat requests, in order."""
        with self._lock:
            self._scripted.extend(behaviours)

    def wait_for_disconnects(self, count: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.disconnects < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.disconnects >= count

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is part of the script (cancel, timeouts), not a server error."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handle_error(request, client_address)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def count_disconnect(self) -> None:
        with self._lock:
            self.disconnects += 1

    def behaviour_for(self, prompt: str) -> str:
        """The queue first, then the prompt's marker; `fail-times:N:S` fails its first N uses."""
        with self._lock:
            if self._scripted:
                return self._scripted.popleft()
            match = MARKER.search(prompt)
            if not match:
                return "ok"
            behaviour = match.group(1)
            if behaviour.startswith("fail-times:"):
                _, times, status = behaviour.split(":")
                self._marker_uses[behaviour] += 1
                return f"fail:{status}" if self._marker_uses[behaviour] <= int(times) else "ok"
            return behaviour


class FakeOpenAIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like the real API
    server: FakeOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(
                200, {"object": "list", "data": [{"id": FAKE_MODEL, "object": "model"}]}
            )
        else:
            self._send_error(404, "Not found.")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        request = self._record(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, "Not found.")
            return
        behaviour = self.server.behaviour_for(request.last_user_message)
        name, _, argument = behaviour.partition(":")
        if name == "fail":
            self._send_error(int(argument), f"Scripted failure {argument}.")
        elif name == "fail-echo-key":
            key = request.headers.get("authorization", "").removeprefix("Bearer ")
            self._send_error(int(argument), f"Incorrect API key provided: {key}. Check it.")
        elif name == "hang":
            self._wait_unless_disconnected(None)
        elif body.get("stream"):
            self._stream(body, behaviour)
        else:
            self._send_json(200, self._completion(body))

    def _record(self, body: Any) -> RecordedRequest:
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = RecordedRequest(self.command, self.path, headers, body, self.client_address[1])
        self.server.record(request)
        return request

    def _answer(self, body: dict) -> list[str]:
        last_user = RecordedRequest("POST", "", {}, body).last_user_message
        return answer_tokens(last_user, self.server.tokens)

    def _usage(self, body: dict, pieces: list[str]) -> dict:
        prompt_tokens = count_prompt_tokens(body)
        total = prompt_tokens + len(pieces)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": total,
        }

    def _completion(self, body: dict) -> dict:
        pieces = self._answer(body)
        message = {"role": "assistant", "content": "".join(pieces)}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", FAKE_MODEL),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": self._usage(body, pieces),
        }

    def _stream(self, body: dict, behaviour: str) -> None:
        name, _, argument = behaviour.partition(":")
        pieces = self._answer(body)
        delay = (int(argument) if name == "slow" else self.server.token_delay_ms) / 1000
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if name == "invalid-json":
            self._send_event("{this is not json")
            self._end_chunked()
            return
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0}
        base["model"] = body.get("model", FAKE_MODEL)
        choice = {"index": 0, "delta": {"content": "\0"}, "finish_reason": None}
        # Each delta event is this JSON around its piece: cheap enough for the load benchmark.
        head, _, tail = json.dumps({**base, "choices": [choice]}).partition('"\\u0000"')
        stopping = ("stall-after", "cut-after", "error-after")
        stop_after = int(argument) if name in stopping else len(pieces) + 1
        for piece in pieces[:stop_after]:
            if delay and self._wait_unless_disconnected(delay):
                return
            if not self._send_event(head + json.dumps(piece) + tail):
                return
        if stop_after <= len(pieces):
            if name == "stall-after":
                self._wait_unless_disconnected(None)
            elif name == "error-after":
                error = {"message": "The server had an error while processing your request."}
                if self._send_event(json.dumps({"error": {**error, "type": "server_error"}})):
                    self._end_chunked()
            else:  # end the socket mid-body: the client sees an incomplete chunked read
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            return
        last = {**choice, "delta": {}, "finish_reason": "stop"}
        events = [json.dumps({**base, "choices": [last]})]
        if (body.get("stream_options") or {}).get("include_usage") and name != "no-usage":
            usage = self._usage(body, pieces)
            if name == "partial-usage":  # a server that reports usage without the prompt's count
                del usage["prompt_tokens"]
            events.append(json.dumps({**base, "choices": [], "usage": usage}))
        events.append("[DONE]")
        if all(self._send_event(event) for event in events):  # all() stops at a hang-up
            self._end_chunked()

    def _send_event(self, data: str) -> bool:
        """Write one SSE event as one HTTP chunk; False (and counted) if the client has gone."""
        payload = f"data: {data}\n\n".encode()
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            return True
        except OSError:
            self.server.count_disconnect()
            self.close_connection = True
            return False

    def _end_chunked(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.server.count_disconnect()
            self.close_connection = True

    def _wait_unless_disconnected(self, seconds: float | None) -> bool:
        """Sleep `seconds` (None: until the server stops); True if the client hung up meanwhile.

        The client sends nothing while it waits for an answer, so a readable socket means EOF.
        """
        deadline = None if seconds is None else time.monotonic() + seconds
        while not self.server.stopping.is_set():
            remaining = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if remaining <= 0:
                return False
            readable, _, _ = select.select([self.connection], [], [], remaining)
            if readable:
                try:
                    gone = self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    self.server.count_disconnect()
                    self.close_connection = True
                    return True
        self.close_connection = True
        return True

    def _send_json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str) -> None:
        error = {"message": message, "type": "fake_error", "code": str(status)}
        self._send_json(status, {"error": error})


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server on loopback.")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--tokens", type=int, default=None, help="pieces per answer (echo if unset)"
    )
    parser.add_argument("--token-delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = FakeOpenAIServer(args.port, tokens=args.tokens, token_delay_ms=args.token_delay_ms)
    print(f"fake OpenAI server on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
