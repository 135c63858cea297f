"""One way to open an SSE response: the wait and keepalive for this database, no pooled
connection held while waiting, the open-streams gauge, no buffering by proxies."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Response, current_app, stream_with_context

from app.db import database, is_postgres
from app.metrics import OPEN_STREAMS

Produce = Callable[[float, float], Iterator[str]]  # (wait, keepalive) → SSE text


# Postgres: NOTIFY wakes a stream for every commit (and the listener rings everyone when it
# reconnects), so reading without a ring is only a safety net — not a query every wait from
# each of hundreds of queued streams (bench/streaming.py). SQLite has no cross-process bell.
POSTGRES_SAFETY_POLL_SECONDS = 10.0


def poll_seconds() -> float | None:
    """How often a stream reads without a ring: None = at every wait."""
    return POSTGRES_SAFETY_POLL_SECONDS if is_postgres() else None


def sse_response(produce: Produce) -> Response:
    keepalive = float(current_app.config.get("SSE_KEEPALIVE_SECONDS", 15))
    # Postgres NOTIFY wakes us from any process; SQLite has no cross-process bell, so poll briskly.
    wait = min(keepalive, 2.0) if is_postgres() else 0.25
    database.close()  # hold no pooled connection while the stream waits

    def generate() -> Iterator[str]:
        OPEN_STREAMS.inc()
        try:
            yield from produce(wait, keepalive)
        finally:
            OPEN_STREAMS.dec()

    return Response(
        stream_with_context(generate()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
