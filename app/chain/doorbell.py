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
_waiters: dict[str, set[Subscription]] = defaultdict(set)
# The highest event `seq` rung per key, kept while someone listens: a writer rings its own
# process after commit, then its NOTIFY comes back through the listener for the same rows —
# without this every follower would read twice per flush, the second time for nothing.
_rung: dict[str, int] = {}


def ring(key: str, seq: int | None = None, *, own: bool = False) -> None:
    """Wake the waiters on `key`. With `seq`, only if no ring up to that seq was heard yet —
    unless `own`: the writer of this process ringing for rows it announced with `expect`."""
    with _lock:
        waiters = list(_waiters.get(key, ()))
        if seq is not None and waiters:
            if seq <= _rung.get(key, 0) and not own:
                return
            _rung[key] = max(seq, _rung.get(key, 0))
    for waiter in waiters:
        waiter.rang(seq)


def expect(key: str, seq: int) -> None:
    """A writer of this process is committing rows up to `seq` and will ring when it has: the
    NOTIFY coming back for them is not a ring of its own. (Heard first, it would wake this
    process's readers before the writer could hand them the rows — they would read the
    database for what they are about to be given.)"""
    with _lock:
        if key in _waiters:
            _rung[key] = max(seq, _rung.get(key, 0))


def listening(key: str) -> bool:
    """Whether anyone in this process waits on `key` now."""
    return key in _waiters


def ring_all() -> None:
    """Wake every waiter: rings may have been missed (the listener was reconnecting)."""
    with _lock:
        waiters = [waiter for subscriptions in _waiters.values() for waiter in subscriptions]
        _rung.clear()
    for waiter in waiters:
        waiter.rang(None)


class Subscription:
    """Listen on `key` from before you look, so a ring between the look and the wait is kept."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._event = threading.Event()
        self._rung_seq = 0  # the highest event seq a ring announced
        self._unknown = False  # a ring that named no seq (anything may have changed)

    def __enter__(self) -> Subscription:
        with _lock:
            _waiters[self.key].add(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with _lock:
            _waiters[self.key].discard(self)
            if not _waiters[self.key]:
                del _waiters[self.key]
                _rung.pop(self.key, None)

    def rang(self, seq: int | None) -> None:
        if seq is None:
            self._unknown = True
        elif seq > self._rung_seq:
            self._rung_seq = seq
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """True when the bell rang since the last wait (or since subscribing)."""
        rang = self._event.wait(timeout)
        self._event.clear()
        return rang

    def announced(self) -> int | None:
        """The highest seq rung so far; None (once) after a ring that named none."""
        if self._unknown:
            self._unknown = False
            return None
        return self._rung_seq


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
