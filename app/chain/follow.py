"""Follow a run's events as they are written (the CLI's live view; the SSE endpoint's loop)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from app.chain import doorbell
from app.chain.events import events_after
from app.db import database
from app.models.execution import STREAM_END_EVENTS, ExecutionEvent


def follow_events(
    execution_id: int,
    after_seq: int = 0,
    *,
    wait_seconds: float = 0.5,
    keep_going: Callable[[], bool] = lambda: True,
) -> Iterator[ExecutionEvent | None]:
    """Yield events in `seq` order until the terminal one (or the end of a follow-up answer);
    None when a wait timed out (a ping).

    Holds a database connection only while reading a batch, never while waiting.
    """
    seq = after_seq
    with doorbell.subscribe(doorbell.execution_key(execution_id)) as bell:
        while keep_going():
            with database.connection_context():
                batch = events_after(execution_id, seq)
            for event in batch:
                seq = event.seq
                yield event
                if event.event_type in STREAM_END_EVENTS:
                    return
            if not batch and not bell.wait(wait_seconds):
                yield None
