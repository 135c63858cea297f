"""The event log of a run: one writer per execution, batched flushes, replay by `seq`.

Prompts append to the writer's buffer (a list append under a lock — nothing else per chunk); the
runner flushes every 100–250 ms in one transaction: consecutive deltas of one prompt merge into one
event, every event gets the next per-execution `seq`, and a NOTIFY rings readers on commit. So the
number of database writes grows with the run's duration, never with its tokens.
"""

from __future__ import annotations

import threading
from typing import Any

from app.chain import doorbell
from app.chain.recent import EventRow, recent_events
from app.db import database, is_postgres, utcnow
from app.models import prebuilt
from app.models.execution import ExecutionEvent


class EventWriter:
    def __init__(self, execution_id: int, last_seq: int | None = None) -> None:
        """`last_seq`: the run's last event seq when the caller knows it (0 for a run nothing
        has written to yet), which saves the query that would look it up."""
        self.execution_id = execution_id
        self._key = doorbell.execution_key(execution_id)
        self._lock = threading.Lock()
        self._buffer: list[tuple[str, dict[str, Any]]] = []
        if last_seq is None:
            last_seq = (
                ExecutionEvent.select(ExecutionEvent.seq)
                .where(ExecutionEvent.execution == execution_id)
                .order_by(ExecutionEvent.seq.desc())
                .limit(1)
                .scalar()
            ) or 0
        self.last_seq: int = last_seq
        self.flushes = 0
        self._unrung: list[dict[str, Any]] = []  # flushed, handed to readers when we ring
        # The last batch taken and the seq before it, until its transaction is known to fail.
        self._taken: tuple[int, list[tuple[str, dict[str, Any]]]] = (last_seq, [])

    def append(self, event_type: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._buffer.append((event_type, data))

    def delta(self, step: int, text: str) -> None:
        """A piece of a prompt's answer; merged with the previous piece when possible."""
        with self._lock:
            if self._buffer:
                kind, data = self._buffer[-1]
                if kind == "prompt-delta" and data["step"] == step:
                    data["text"] += text
                    return
            self._buffer.append(("prompt-delta", {"step": step, "text": text}))

    def chat_delta(self, message_id: int, text: str) -> None:
        """A piece of a follow-up answer; merged with the previous piece when possible."""
        with self._lock:
            if self._buffer:
                kind, data = self._buffer[-1]
                if kind == "chat-delta" and data.get("message_id") == message_id:
                    data["text"] += text
                    return
            self._buffer.append(("chat-delta", {"message_id": message_id, "text": text}))

    def pending(self) -> bool:
        with self._lock:
            return bool(self._buffer)

    def _take_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            batch, self._buffer = self._buffer, []
        self._taken = (self.last_seq, batch)
        if self._unrung:  # a flush that never rang: its transaction may have rolled back
            self._unrung = []
            recent_events.forget(self.execution_id)
        now = utcnow()
        return [
            {
                "execution": self.execution_id,
                "seq": self.last_seq + offset,
                "event_type": kind,
                "event_data": data,
                "created_at": now,
            }
            for offset, (kind, data) in enumerate(batch, start=1)
        ]

    def flush_with(self, query: Any) -> list[tuple]:
        """Postgres, one round trip: the buffered events, their NOTIFY and `query` (the lease
        renewal: a Peewee query, or its SQL and parameters) sent as one multi-statement string —
        one implicit transaction, all or nothing.
        Returns the rows `query` returned. The caller rings after it (committed on return)."""
        rows = self._take_rows()
        statements, params = [], []
        if rows:
            insert_sql, insert_params = prebuilt.insert_rows(ExecutionEvent, rows)
            statements += [insert_sql, "SELECT pg_notify(%s, %s)"]
            payload = f"{self.execution_id}:{self.last_seq + len(rows)}"
            params += [*insert_params, doorbell.EVENTS_CHANNEL, payload]
        query_sql, query_params = query if isinstance(query, tuple) else query.sql()
        statements.append(query_sql)
        params += query_params
        if rows:
            doorbell.expect(self._key, self.last_seq + len(rows))
        cursor = database.execute_sql("; ".join(statements), params)
        result = cursor.fetchall()
        if rows:
            self.last_seq += len(rows)
            self.flushes += 1
            self._unrung = rows
        return result

    def flush(self) -> int:
        """Write what is buffered in one transaction; returns the last seq written."""
        rows = self._take_rows()
        if not rows:
            return self.last_seq
        doorbell.expect(self._key, self.last_seq + len(rows))
        with database.atomic():
            database.execute_sql(*prebuilt.insert_rows(ExecutionEvent, rows))
            if is_postgres():
                payload = f"{self.execution_id}:{self.last_seq + len(rows)}"
                database.execute_sql("SELECT pg_notify(%s, %s)", (doorbell.EVENTS_CHANNEL, payload))
        self.last_seq += len(rows)
        self.flushes += 1
        self._unrung = rows
        if not database.in_transaction():  # committed: readers can see it now
            self.ring()
        return self.last_seq

    def put_back(self) -> None:
        """The transaction writing the last batch failed (rolled back): its events go back in
        front of the buffer with the same seqs, to be written by the next flush; readers were
        never handed them."""
        last_seq, batch = self._taken
        self._taken = (last_seq, [])
        self._unrung = []
        with self._lock:
            self._buffer = batch + self._buffer
        self.last_seq = last_seq

    def drop_buffered(self, kinds: frozenset[str]) -> None:
        """Forget buffered events of these kinds (a run's end that was never written)."""
        with self._lock:
            self._buffer = [item for item in self._buffer if item[0] not in kinds]

    def ring(self) -> None:
        """Wake this process's readers, handing them the rows just committed (app.chain.recent).
        Callers that flush inside a transaction ring after it commits."""
        rows, self._unrung = self._unrung, []
        if not rows:  # nothing committed since the last ring
            return
        if doorbell.listening(self._key):
            recent_events.publish(self.execution_id, rows)
        doorbell.ring(self._key, self.last_seq, own=True)


def events_after(execution_id: int, seq: int = 0, limit: int = 1000) -> list[EventRow]:
    """Events of a run with `seq` greater than the given one, in order (the read API).

    Every stream reads this when it opens and whenever its rows were not handed over in memory:
    the SQL is built once (app.models.prebuilt) and rows come back as plain EventRows."""
    data, created = ExecutionEvent.event_data.python_value, ExecutionEvent.created_at.python_value
    cursor = database.execute_sql(prebuilt.select_sql(_events_after), (execution_id, seq, limit))
    return [EventRow(row[0], row[1], data(row[2]), created(row[3])) for row in cursor.fetchall()]


def _events_after() -> Any:
    """The shape of `events_after`'s query; its placeholders: execution, seq, limit."""
    return (
        ExecutionEvent.select(
            ExecutionEvent.seq,
            ExecutionEvent.event_type,
            ExecutionEvent.event_data,
            ExecutionEvent.created_at,
        )
        .where((ExecutionEvent.execution == 0) & (ExecutionEvent.seq > 0))
        .order_by(ExecutionEvent.seq)
        .limit(1)
    )
