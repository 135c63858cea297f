"""A fake OpenAI-compatible provider for the load benchmark: gevent, one process, cheap per token.

Every chat completion streams the same answer of `--tokens` word pieces, one every
`--duration / --tokens` seconds (50 over 2 s by default), then the usage chunk and `[DONE]`.
The test server (tests/support/fake_openai.py) starts a thread per stream and builds every event
with json.dumps; at hundreds of concurrent streams that server, not the app, would be measured.
Here each event's bytes are built once at start, a stream is a greenlet, and one write per token
is all the work — the benchmark reports this process's CPU so a reader can check it stayed small.

    .venv/bin/python -m bench.fake_provider --port 0 --tokens 50 --duration 2
(prints `port N` on its first line once it listens)
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402

MODEL = "fake-model"


def _event(payload: str) -> bytes:
    data = f"data: {payload}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


def build_answer(tokens: int) -> tuple[list[bytes], bytes]:
    """The delta events (one HTTP chunk each) and the tail: finish, usage, [DONE], last chunk."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": MODEL}
    deltas = [
        _event(
            json.dumps(
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}
                    ],
                }
            )
        )
        for i in range(tokens)
    ]
    finish = {"index": 0, "delta": {}, "finish_reason": "stop"}
    usage = {"prompt_tokens": 20, "completion_tokens": tokens, "total_tokens": 20 + tokens}
    tail = (
        _event(json.dumps({**base, "choices": [finish]}))
        + _event(json.dumps({**base, "choices": [], "usage": usage}))
        + _event("[DONE]")
        + b"0\r\n\r\n"
    )
    return deltas, tail


HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
)


class Provider:
    def __init__(self, tokens: int, duration: float) -> None:
        self.deltas, self.tail = build_answer(tokens)
        self.delay = duration / tokens
        self.streams = 0

    def handle(self, sock, address) -> None:
        """HTTP/1.1 keep-alive: every request on the connection gets the streamed answer."""
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer[length:]  # the body: prompts are not echoed here
                self.streams += 1
                sock.sendall(HEADERS)
                started = time.monotonic()
                for number, delta in enumerate(self.deltas, start=1):  # on schedule, no drift
                    gevent.sleep(max(0.0, started + number * self.delay - time.monotonic()))
                    sock.sendall(delta)
                sock.sendall(self.tail)
        except OSError:
            return  # the client went away (a cancel, or the benchmark stopping)
        finally:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per answer")
    args = parser.parse_args()
    provider = Provider(args.tokens, args.duration)
    server = StreamServer(("127.0.0.1", args.port), provider.handle, backlog=4096)
    server.start()
    print(f"port {server.address[1]}", flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
