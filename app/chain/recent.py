"""The events this process has just committed, kept for this process's own readers.

A stream woken by its run's writer would otherwise read back from the database the rows the writer
has just sent there: one query per open stream per flush, the largest part of serving a run page
after the model calls themselves (bench/streaming.py). So the writer hands its committed rows here
(after the commit, before it rings), and a follower woken by that ring takes them from here — but
only when they continue exactly where it stopped and reach the newest `seq` it was rung for. Any
doubt means the database: another process wrote the rows, the follower fell behind the few kept,
the bell rang without a `seq`, or a flush may not have been committed.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PER_EXECUTION = 64  # a follower further behind than this reads the database
EXECUTIONS = 1024  # runs kept at most (least recently written dropped first)


@dataclass(frozen=True, slots=True)
class EventRow:
    """What readers get of an `assistant_architect_events` row (from here or the database)."""

    seq: int
    event_type: str
    event_data: dict[str, Any]
    created_at: datetime


class RecentEvents:
    def __init__(self, per_execution: int = PER_EXECUTION, executions: int = EXECUTIONS) -> None:
        self.per_execution = per_execution
        self.executions = executions
        self._lock = threading.Lock()
        self._runs: OrderedDict[int, deque[EventRow]] = OrderedDict()

    def publish(self, execution_id: int, rows: list[dict[str, Any]]) -> None:
        """Committed rows of one execution, in `seq` order (the writer's `_take_rows` dicts)."""
        if not rows:
            return
        events = [
            EventRow(
                row["seq"],
                row["event_type"],
                # What a follower would read back: JSON, not the writer's live objects. Deltas
                # are plain {"step", "text"} and go as they are (most rows; kept cheap).
                row["event_data"] if row["event_type"].endswith("-delta") else _as_stored(row),
                row["created_at"],
            )
            for row in rows
        ]
        with self._lock:
            kept = self._runs.get(execution_id)
            if kept is None or (kept and kept[-1].seq + 1 != events[0].seq):
                kept = self._runs[execution_id] = deque(maxlen=self.per_execution)
            kept.extend(events)
            self._runs.move_to_end(execution_id)
            while len(self._runs) > self.executions:
                self._runs.popitem(last=False)

    def after(self, execution_id: int, seq: int, upto: int) -> list[EventRow] | None:
        """The events after `seq`, if all of them up to at least `upto` are kept here; else None
        (read the database)."""
        with self._lock:
            kept = self._runs.get(execution_id)
            if not kept or kept[0].seq > seq + 1:
                return None
            if kept[-1].seq <= seq:  # nothing new here: fine only if nothing newer was rung
                return [] if upto <= seq else None
            if kept[-1].seq < upto:
                return None
            return [event for event in kept if event.seq > seq]

    def forget(self, execution_id: int) -> None:
        with self._lock:
            self._runs.pop(execution_id, None)


def _as_stored(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(row["event_data"]))


recent_events = RecentEvents()
