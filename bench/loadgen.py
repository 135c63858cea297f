"""The load generator of bench/streaming.py: closed-loop SSE clients in one gevent process.

Each of `concurrency` clients runs chains back to back until the window closes: for ours, start a
run through the API (POST, bearer token) and follow its run-page stream (the HTML partials a browser
gets, with the session cookie) until `event: done`; for the naive app, one GET that streams the
whole chain. Raw sockets and HTTP/1.0 (no chunking: the body ends at EOF) keep the client cheap;
it reports its own CPU. One JSON document on stdout: every chain with its timestamps
(time.time(), comparable with the server's), the SSE ids and the text it received.

    python -m bench.loadgen '{"target": "ours", "port": 8000, "concurrency": 40, ...}'
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import html  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

DELTA = re.compile(r'<span hx-swap-oob="beforeend:#step-(\d+)-output">(.*?)</span>', re.S)
PLACE = re.compile(r"(\d+) runs? ahead of yours")
INPUT = "the causes of the French Revolution"


class Stream:
    """An HTTP/1.0 response read incrementally: status, then SSE messages until EOF."""

    def __init__(self, port: int, request: bytes, timeout: float) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(request)
        self.buffer = b""
        self.status = 0
        self.eof = False
        while b"\r\n\r\n" not in self.buffer:
            if not self._read():
                raise ConnectionError("no response headers")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])

    def _read(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def body(self) -> bytes:
        while self._read():
            pass
        self.sock.close()
        return self.buffer

    def messages(self):
        """(receive time, {field: value}) per SSE message; comments as {"comment": text}."""
        while True:
            while b"\n\n" not in self.buffer:
                if not self._read():
                    self.sock.close()
                    return
            now = time.time()
            while b"\n\n" in self.buffer:
                raw, _, self.buffer = self.buffer.partition(b"\n\n")
                fields: dict[str, str] = {}
                for line in raw.decode().split("\n"):
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data" and "data" in fields:
                        fields["data"] += "\n" + value
                    elif name == "":
                        fields["comment"] = value
                    else:
                        fields[name] = value
                yield now, fields

    def close(self) -> None:
        self.sock.close()


def ours_chain(spec: dict[str, Any], record: dict[str, Any]) -> None:
    body = json.dumps({"inputs": {"user_input": INPUT}}).encode()
    post = Stream(
        spec["port"],
        (
            f"POST /api/v1/assistants/{spec['assistant']}/executions HTTP/1.0\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {spec['token']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body,
        spec["timeout"],
    )
    answer = post.body()
    if post.status != 202:
        record["error"] = f"start {post.status}: {answer[:200]!r}"
        return
    execution_id = json.loads(answer)["id"]
    record.update(id=execution_id, started=time.time(), ids=[], text={}, places=[])
    stream = Stream(
        spec["port"],
        (
            f"GET /runs/{execution_id}/stream HTTP/1.0\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {spec['cookie']}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode(),
        spec["timeout"],
    )
    if stream.status != 200:
        record["error"] = f"stream {stream.status}"
        return
    record["opened"] = time.time()
    try:
        for now, message in stream.messages():
            data = message.get("data", "")
            if "id" in message:
                record["ids"].append(int(message["id"]))
                record.setdefault("first_event", now)
            if message.get("event") == "done":
                record["done"] = now
                break
            place = PLACE.search(data)
            if place:
                record["places"].append(int(place.group(1)))
                record.setdefault("place_shown", now)
            for step, text in DELTA.findall(data):
                record.setdefault("first_delta", now)
                record["text"][step] = record["text"].get(step, "") + html.unescape(text)
    finally:
        stream.close()
    if "done" not in record:
        record["error"] = "stream ended before done"


def naive_chain(spec: dict[str, Any], record: dict[str, Any]) -> None:
    record["text"] = {}
    stream = Stream(
        spec["port"],
        b"GET /chain?input=the+causes+of+the+French+Revolution HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
        spec["timeout"],
    )
    record["opened"] = time.time()
    try:
        for now, message in stream.messages():
            if message.get("event") == "done":
                record["done"] = now
                break
            if message.get("event") == "delta":
                piece = json.loads(message["data"])
                record.setdefault("first_event", now)
                record.setdefault("first_delta", now)
                step = str(piece["step"])
                record["text"][step] = record["text"].get(step, "") + piece["text"]
    finally:
        stream.close()
    if "done" not in record:
        record["error"] = "stream ended before done"


def client(spec: dict[str, Any], stop_at: float, chains: list[dict[str, Any]]) -> None:
    run = ours_chain if spec["target"] == "ours" else naive_chain
    while time.time() < stop_at:
        record: dict[str, Any] = {"start": time.time()}
        chains.append(record)  # before it runs: a chain cut at the end is still reported
        try:
            run(spec, record)
        except Exception as error:  # counted, never silent
            record["error"] = f"{type(error).__name__}: {error}"
        if "error" in record:  # a 503 says when to come back (Retry-After: 5), as a client would
            gevent.sleep(5.0 if " 503" in record["error"] else 0.5)


def main() -> None:
    spec = json.loads(sys.argv[1])
    chains: list[dict[str, Any]] = []
    began = time.time()
    stop_at = began + spec["ramp"] + spec["window"]
    clients = []
    for _ in range(spec["concurrency"]):
        clients.append(gevent.spawn(client, spec, stop_at, chains))
        gevent.sleep(spec["ramp"] / spec["concurrency"])  # a ramp, not a thundering herd
    # After the window no new chains start; the ones in flight finish within `drain` or are cut.
    gevent.joinall(clients, timeout=max(0.0, stop_at - time.time()) + spec["drain"])
    unfinished = sum(1 for c in clients if not c.dead)
    gevent.killall(clients, block=True, timeout=5)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dump(
        {
            "began": began,
            "ended": time.time(),
            "cpu": usage.ru_utime + usage.ru_stime,
            "chains": chains,
            "unfinished": unfinished,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
