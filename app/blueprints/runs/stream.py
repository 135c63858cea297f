"""The SSE endpoint: replay after Last-Event-ID, then follow the doorbell; HTML partials."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import render_template, request

from app.blueprints.runs import bp
from app.blueprints.runs.routes import execution_or_404
from app.chain.events import events_after
from app.chain.follow import follow_events
from app.chain.queue import pending_snapshot
from app.db import database
from app.lifecycle import shutting_down
from app.models import Execution, ExecutionMessage
from app.models.execution import STREAM_END_EVENTS
from app.security import login_required
from app.streaming.render import (
    announce,
    chat_delta_partial,
    delta_partial,
    queue_place_text,
    sse_comment,
    sse_message,
    status_partial,
    step_partial,
)
from app.streaming.response import poll_seconds, sse_response
from app.streaming.state import RunView


def _resume_point() -> int:
    header = request.headers.get("Last-Event-ID", "")
    after = request.args.get("after", type=int) or 0
    return max(after, int(header) if header.isdigit() else 0)


@bp.get("/runs/<int:execution_id>/stream")
@login_required
def stream(execution_id: int) -> Any:
    execution = execution_or_404(execution_id)
    after = _resume_point()
    # Rebuild the state as of `after`, so the partials we render continue the page's state.
    view = _view_at(execution, after)
    return sse_response(lambda wait, keepalive: _events(execution, after, view, wait, keepalive))


def _events(
    execution: Execution, after: int, view: RunView, wait: float, keepalive: float
) -> Iterator[str]:
    """Replay after `after`, then follow; a ping first and every `keepalive`; end on the last."""
    yield "retry: 2000\n" + sse_comment("connected")
    last_ping = time.monotonic()
    last_queue_update = 0.0  # the first quiet moment of a queued run says its place at once
    last_place: object = ...  # sent only when it changed (hundreds may wait; see QueueSnapshot)
    for event in follow_events(
        execution.id,
        after,
        wait_seconds=wait,
        poll_seconds=poll_seconds(),
        keep_going=lambda: not shutting_down.is_set(),
    ):
        now = time.monotonic()
        if event is None:
            if view.status == "pending" and now - last_queue_update >= 2:
                last_queue_update = now
                place = pending_snapshot.place(execution.id)
                if place != last_place:
                    last_place = place
                    yield sse_message(queue_place_text(place, oob=True))
            if now - last_ping >= keepalive:
                last_ping = now
                yield sse_comment()
            continue
        html = _render(event, view, execution)
        if html:
            yield sse_message(html, event_id=event.seq)
        if event.event_type in STREAM_END_EVENTS:
            yield sse_message("", event="done", event_id=event.seq)
            return


def _view_at(execution: Execution, seq: int) -> RunView:
    view = RunView.from_definition(execution.definition, "pending")
    for event in events_after(execution.id, 0, limit=100_000):
        if event.seq > seq:
            break
        view.apply(event.event_type, event.event_data, event.seq)
    return view


def _render(event, view, opened: Execution) -> str:
    """`opened`: the run as it was when the stream opened."""
    kind, data, execution_id = event.event_type, event.event_data, opened.id
    step = view.apply(kind, data, event.seq)
    if kind.startswith("chat-"):
        return _render_chat(kind, data, view, execution_id)
    if kind == "prompt-delta" and step is not None:
        return delta_partial(step.step, data.get("text", ""))
    parts = []
    if step is not None and kind != "variable-substitution":
        parts.append(step_partial(step, view, execution_id))
        if kind == "prompt-complete":
            parts.append(announce(f"{step.name} is done."))
        elif kind == "prompt-error" and not step.retrying:
            parts.append(announce(f"{step.name} failed."))
    if kind == "execution-start":  # nothing the status card shows has changed in the row yet
        parts.append(status_partial(view, opened))
    elif kind.startswith("execution-"):
        with database.connection_context():
            execution = Execution.get_by_id(execution_id)
        parts.append(status_partial(view, execution))
        parts.append(_chat_section(execution, view))  # the follow-up form, once the run is done
        if kind == "execution-complete":
            parts.append(announce("The run is complete."))
        elif kind == "execution-error":
            parts.append(announce("The run failed."))
        elif kind == "execution-cancelled":
            parts.append(announce("The run was stopped."))
    return "".join(parts)


def _chat_section(execution: Execution, view: RunView) -> str:
    from app.blueprints.runs.chat import chat_panel

    with database.connection_context():
        chat = chat_panel(execution, view)
        return render_template(
            "runs/_partials/_chat.html", execution=execution, view=view, chat=chat, oob=True
        )


def _render_chat(kind: str, data: dict[str, Any], view: RunView, execution_id: int) -> str:
    """A follow-up answer: text appended as it comes; the message redrawn at (re)start and end."""
    message_id = data.get("message_id")
    if not isinstance(message_id, int):
        return ""
    if kind == "chat-delta" and "attempt" not in data and not data.get("reset"):
        return chat_delta_partial(message_id, data.get("text", ""))
    from app.blueprints.runs.chat import chat_panel

    with database.connection_context():
        message = ExecutionMessage.get_or_none(ExecutionMessage.id == message_id)
        if message is None:
            return ""
        execution = Execution.get_by_id(execution_id)
        chat = chat_panel(execution, view)
        if kind == "chat-delta":  # still running, whatever the row says by the time we read it
            message.status = "running"
        html = render_template(
            "runs/_partials/_chat_message.html", message=message, chat=chat, oob=True
        )
    if kind == "chat-complete":
        done = data.get("status") == "completed"
        html += '<span id="chat-open-hint" hx-swap-oob="outerHTML"></span>'
        html += announce("The answer is ready." if done else "The answer failed.")
    return html
