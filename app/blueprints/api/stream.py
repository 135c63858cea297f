"""A run's events as server-sent events of JSON: replay after Last-Event-ID, follow, then close."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import BadRequest

from app.api_auth import scope_required
from app.blueprints.api import ID, bp
from app.blueprints.api.routes import READ, execution_or_404
from app.chain.chat import open_answer
from app.chain.events import events_after
from app.chain.follow import follow_events
from app.lifecycle import shutting_down
from app.streaming.render import sse_comment, sse_message
from app.streaming.response import poll_seconds, sse_response

_SEQ = re.compile(r"[0-9]{1,9}")  # a billion events per run is far beyond any run


def parse_seq(value: str | None, name: str) -> int:
    """A resume point: absent → 0; else a whole number of at most 9 digits, or 400."""
    if value is None:
        return 0
    if not _SEQ.fullmatch(value):
        raise BadRequest(f"{name} must be a whole number of at most 9 digits.")
    return int(value)


def resume_point() -> int:
    """After Last-Event-ID (sent by EventSource when it reconnects; empty = none) or ?after=."""
    header = request.headers.get("Last-Event-ID", "").strip(" \t") or None
    return max(
        parse_seq(header, "Last-Event-ID"),
        parse_seq(request.args.get("after"), "after"),
    )


@bp.get(f"/executions/<{ID}:execution_id>/events")
@scope_required(READ)
def execution_events(execution_id: int) -> Any:
    execution = execution_or_404(execution_id)
    after = resume_point()
    answering = open_answer(execution.id) is not None
    if execution.is_finished and not answering and not events_after(execution.id, after, limit=1):
        # Everything was sent: 204 tells EventSource clients to stop reconnecting.
        return Response(status=204)
    return sse_response(lambda wait, keepalive: _events(execution.id, after, wait, keepalive))


def _events(execution_id: int, after: int, wait: float, keepalive: float) -> Iterator[str]:
    """A ping first and every `keepalive`; each event as JSON; the stream ends after the last."""
    yield "retry: 2000\n" + sse_comment("connected")
    last_ping = time.monotonic()
    for event in follow_events(
        execution_id,
        after,
        wait_seconds=wait,
        poll_seconds=poll_seconds(),
        keep_going=lambda: not shutting_down.is_set(),
    ):
        if event is None:
            now = time.monotonic()
            if now - last_ping >= keepalive:
                last_ping = now
                yield sse_comment()
            continue
        data = json.dumps(event.event_data, separators=(",", ":"))
        yield sse_message(data, event=event.event_type, event_id=event.seq)
