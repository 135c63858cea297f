"""Follow a run's events as they are written (the CLI's live view; the SSE endpoint's loop)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

from playhouse.pool import MaxConnectionsExceeded

from app.chain import doorbell
from app.chain.events import events_after
from app.chain.recent import EventRow, recent_events
from app.db import database
from app.metrics import STREAM_READS
from app.models.execution import STREAM_END_EVENTS

READ_LIMIT = 1000  # events per read
READ_FROM_MEMORY = STREAM_READS.labels("memory")
READ_FROM_DATABASE = STREAM_READS.labels("database")


def follow_events(
    execution_id: int,
    after_seq: int = 0,
    *,
    wait_seconds: float = 0.5,
    poll_seconds: float | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> Iterator[EventRow | None]:
    """Yield events in `seq` order until the terminal one (or the end of a follow-up answer);
    None when a wait timed out (a ping).

    Reads when the doorbell rang, else every `poll_seconds` (default: every wait) — on Postgres
    the bell carries every commit (NOTIFY, and a ring-all when the listener reconnects), so the
    poll is only a safety net, and hundreds of queued streams need not query every wait.
    Holds a database connection only while reading a batch, never while waiting. Woken by a
    writer of this process, it takes the rows that writer just committed from memory
    (app.chain.recent) instead of reading them back.
    """
    seq = after_seq
    poll = wait_seconds if poll_seconds is None else max(poll_seconds, wait_seconds)
    with doorbell.subscribe(doorbell.execution_key(execution_id)) as bell:
        read, rung = True, False
        last_read = 0.0
        while keep_going():
            batch: list[EventRow] = []
            if read or poll_seconds is None or time.monotonic() - last_read >= poll:
                try:
                    batch = _read(execution_id, seq, bell.announced() if rung else None)
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
            # A full batch: more may be there. Otherwise the bell says when: it was subscribed
            # before the read, so a commit after the read has rung it (no empty read per flush).
            read = rung = len(batch) >= READ_LIMIT or bell.wait(wait_seconds)
            if not read:
                yield None


def _read(execution_id: int, seq: int, announced: int | None) -> list[EventRow]:
    """The events after `seq`: handed over in memory when a ring announced rows this process's
    writer has kept (app.chain.recent), else from the database."""
    if announced is not None:
        kept = recent_events.after(execution_id, seq, announced)
        if kept is not None:
            READ_FROM_MEMORY.inc()
            return kept
    with database.connection_context():
        batch = events_after(execution_id, seq, READ_LIMIT)
    READ_FROM_DATABASE.inc()
    return batch
