"""Model output as safe HTML, and run events as SSE messages carrying htmx out-of-band partials."""

from __future__ import annotations

from collections.abc import Iterable

import nh3
from flask import render_template
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from app.streaming.state import RunView, StepView

# Raw HTML in model output stays text (html=False); nh3 then allows only what Markdown makes.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


def render_markdown(text: str) -> Markup:
    """Untrusted Markdown → sanitized HTML: no script, no handlers, only http(s)/mailto links."""
    html = _markdown.render(text or "")
    return Markup(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )


def sse_message(data: str, event: str = "update", event_id: int | None = None) -> str:
    """One SSE message; multi-line data becomes several data: lines (joined back with \\n)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return "\n".join(lines) + "\n\n"


def sse_comment(text: str = "ping") -> str:
    return f": {text}\n\n"


def delta_partial(step: int, text: str) -> str:
    return f'<span hx-swap-oob="beforeend:#step-{step}-output">{escape(text)}</span>'


def chat_delta_partial(message_id: int, text: str) -> str:
    return f'<span hx-swap-oob="beforeend:#chat-msg-{int(message_id)}-output">{escape(text)}</span>'


def step_partial(step: StepView, view: RunView, execution_id: int) -> str:
    return render_template(
        "runs/_partials/_step.html", step=step, view=view, execution_id=execution_id, oob=True
    )


def status_partial(view: RunView, execution) -> str:
    """The status card, out of band (a queued run's place goes alone: queue_place_text)."""
    return render_template(
        "runs/_partials/_status.html", view=view, execution=execution, queue_place=None, oob=True
    )


def queue_place_text(place: int | None, oob: bool = False) -> Markup:
    """Where a queued run stands. While hundreds wait, each stream sends this alone when its
    place changes — not the whole status card through a template (bench/streaming.py)."""
    if place:
        text = f"Waiting for a free slot — {place} run{'s' if place != 1 else ''} ahead of yours."
    else:
        text = "Starting…"
    swap = ' hx-swap-oob="outerHTML"' if oob else ""
    return Markup(f'<span id="run-queue-place"{swap}>{text}</span>')


def announce(message: str) -> str:
    return f'<div id="run-announcer" hx-swap-oob="innerHTML">{escape(message)}</div>'


def join(parts: Iterable[str]) -> str:
    return "".join(parts)
