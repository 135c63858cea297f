"""Follow a run's events as they are written (the CLI's live view; the SSE endpoint's loop)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

from playhouse.pool import MaxConnectionsExceeded

from app.chain import doorbell
from app.chain.events import events_after
from app.db import database
from app.models.execution import STREAM_END_EVENTS, ExecutionEvent


def follow_events(
    execution_id: int,
    after_seq: int = 0,
    *,
    wait_seconds: float = 0.5,
    poll_seconds: float | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> Iterator[ExecutionEvent | None]:
    """Yield events in `seq` order until the terminal one (or the end of a follow-up answer);
    None when a wait timed out (a ping).

    Reads when the doorbell rang, else every `poll_seconds` (default: every wait) — on Postgres
    the bell carries every commit (NOTIFY, and a ring-all when the listener reconnects), so the
    poll is only a safety net, and hundreds of queued streams need not query every wait.
    Holds a database connection only while reading a batch, never while waiting.
    """
    seq = after_seq
    poll = wait_seconds if poll_seconds is None else max(poll_seconds, wait_seconds)
    with doorbell.subscribe(doorbell.execution_key(execution_id)) as bell:
        read = True
        last_read = 0.0
        while keep_going():
            batch = []
            if read or poll_seconds is None or time.monotonic() - last_read >= poll:
                try:
                    with database.connection_context():
                        batch = events_after(execution_id, seq)
                    last_read = time.monotonic()
                except MaxConnectionsExceeded:
                    # Every pooled connection stayed busy (overload): keep the stream, read
                    # again after the next wait instead of ending it with an error.
                    last_read = -math.inf
                    yield None
                    bell.wait(wait_seconds)
                    continue
            for event in batch:
                seq = event.seq
                yield event
                if event.event_type in STREAM_END_EVENTS:
                    return
            read = bool(batch) or bell.wait(wait_seconds)
            if not read:
                yield None
