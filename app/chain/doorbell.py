"""The doorbell: wakes readers and idle runners when something happened.

Postgres `NOTIFY` carries the ring across processes (one LISTEN connection per process, see
`PostgresListener`); inside a process, `ring()` wakes every waiter on that key. SQLite has no
NOTIFY, so readers also poll briefly (the events table stays the truth either way).
"""

from __future__ import annotations

import logging
import select
import threading
from collections import defaultdict

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "aa_events"
QUEUE_CHANNEL = "aa_queue"
QUEUE_KEY = "queue"

_lock = threading.Lock()
_waiters: dict[str, set[threading.Event]] = defaultdict(set)
# The highest event `seq` rung per key, kept while someone listens: a writer rings its own
# process after commit, then its NOTIFY comes back through the listener for the same rows —
# without this every follower would read twice per flush, the second time for nothing.
_rung: dict[str, int] = {}


def ring(key: str, seq: int | None = None) -> None:
    """Wake the waiters on `key`; with `seq`, only if no ring up to that seq was heard yet."""
    with _lock:
        waiters = list(_waiters.get(key, ()))
        if seq is not None and waiters:
            if seq <= _rung.get(key, 0):
                return
            _rung[key] = seq
    for event in waiters:
        event.set()


def ring_all() -> None:
    """Wake every waiter: rings may have been missed (the listener was reconnecting)."""
    with _lock:
        waiters = [event for events in _waiters.values() for event in events]
        _rung.clear()
    for event in waiters:
        event.set()


class Subscription:
    """Listen on `key` from before you look, so a ring between the look and the wait is kept."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._event = threading.Event()

    def __enter__(self) -> Subscription:
        with _lock:
            _waiters[self.key].add(self._event)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with _lock:
            _waiters[self.key].discard(self._event)
            if not _waiters[self.key]:
                del _waiters[self.key]
                _rung.pop(self.key, None)

    def wait(self, timeout: float) -> bool:
        """True when the bell rang since the last wait (or since subscribing)."""
        rang = self._event.wait(timeout)
        self._event.clear()
        return rang


def subscribe(key: str) -> Subscription:
    return Subscription(key)


def wait(key: str, timeout: float) -> bool:
    """Block until `key` rings or `timeout` passes (rings before this call are not seen)."""
    with Subscription(key) as subscription:
        return subscription.wait(timeout)


def execution_key(execution_id: int) -> str:
    return f"execution:{execution_id}"


class PostgresListener:
    """A dedicated connection that LISTENs and rings the in-process doorbell (one per process)."""

    def __init__(self, dsn_kwargs: dict, database: str) -> None:
        self._connect_args = {"dbname": database, **dsn_kwargs}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import psycopg2

        while not self._stop.is_set():
            try:
                conn = psycopg2.connect(**self._connect_args)
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(f"LISTEN {EVENTS_CHANNEL}; LISTEN {QUEUE_CHANNEL};")
                ring_all()  # what was committed while we were not listening: read it now
                self._listen(conn)
            except Exception as exc:  # the database went away: retry, rooms keep polling
                log.warning("doorbell listener lost its connection: %s", exc)
                self._stop.wait(1.0)

    def _listen(self, conn) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([conn], [], [], 1.0)
            if not readable:
                continue
            conn.poll()
            while conn.notifies:
                note = conn.notifies.pop(0)
                if note.channel == QUEUE_CHANNEL:
                    ring(QUEUE_KEY)
                else:
                    execution_id, _, seq = note.payload.partition(":")
                    ring(execution_key(int(execution_id)), int(seq) if seq else None)
