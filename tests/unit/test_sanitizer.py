"""Model output is untrusted: render_markdown keeps every XSS payload of the corpus inert."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from app.streaming import render
from app.streaming.render import render_markdown
from tests.support.hostile import XSS_PAYLOADS, output_problems, page_problems


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_is_inert_after_rendering(payload):
    html = str(render_markdown(payload))
    assert output_problems(html) == [], html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_is_inert_inside_markdown_structures(payload):
    text = f"# Title {payload}\n\n- item {payload}\n\n> {payload}\n\n**{payload}**\n\n{payload}"
    html = str(render_markdown(text))
    assert output_problems(html) == [], html


def test_payloads_stay_visible_as_text():
    """Inert, not silently dropped: a teacher asking about <script> sees it written."""
    html = str(render_markdown("Explain <script>alert(1)</script> please"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_ordinary_markdown_still_renders():
    html = str(render_markdown("## Plan\n\n1. **Read** [the guide](https://example.org/a?b=1)\n"))
    assert "<h2>Plan</h2>" in html and "<strong>Read</strong>" in html
    assert (
        'href="https://example.org/a?b=1"' in html and 'rel="noopener noreferrer nofollow"' in html
    )
    assert output_problems(html) == []


def test_the_checker_catches_unsanitized_output(monkeypatch):
    """Proof the corpus test can fail: without nh3 (and with raw HTML on) payloads get through."""
    unsafe = MarkdownIt("commonmark", {"html": True}).enable("table")
    flagged = [p for p in XSS_PAYLOADS if output_problems(unsafe.render(p))]
    assert len(flagged) >= 30
    monkeypatch.setattr(render.nh3, "clean", lambda html, **_: html)
    leaked = [p for p in XSS_PAYLOADS if output_problems(str(render_markdown(p)))]
    assert leaked  # markdown-it alone lets data:image <img> through: nh3 is what stops it


def test_page_checker_flags_each_csp_breach():
    assert page_problems("<p>ok</p><script src='/static/a.js'></script>") == []
    assert page_problems("<script>alert(1)</script>")
    assert page_problems('<button onclick="x()">b</button>')
    assert page_problems('<div hx-on:click="x()">b</div>')
    assert page_problems('<div hx-on::after-request="x()">b</div>')
    assert page_problems('<a href=" JaVa\tScript:alert(1)">x</a>')
    assert page_problems('<p style="color:red">x</p>')
    assert page_problems("<style>p{}</style>")
