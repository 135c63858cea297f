"""Hostile input for the hardening tests: XSS and SQL-injection corpora, and HTML checkers.

`page_problems` is what every page of ours must satisfy under our CSP (no inline script, no event
handler attributes, no hx-on, no javascript: URLs, no inline styles). `output_problems` is the
stricter rule for model output after sanitizing: only Markdown's tags, no handlers, no styles,
no htmx attributes, links only to http, https and mailto.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#115;cript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](java\tscript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x](javascript:alert(1))",
    '![x](https://example.org/x.png" onerror="alert(1))',
    '[x](https://example.org "t\\" onmouseover=\\"alert(1)")',
    "<javascript:alert(1)>",
    '<http://a.example/"onmouseover="alert(1)>',
    "<iframe src=javascript:alert(1)></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    "<style>@import 'javascript:alert(1)';</style>",
    '<div style="background:url(javascript:alert(1))">styled</div>',
    "<form action=javascript:alert(1)><input type=submit></form>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<base href=javascript:/>",
    '<meta http-equiv=refresh content="0;url=javascript:alert(1)">',
    "<details open ontoggle=alert(1)>",
    "<x onclick=alert(1)>click</x>",
    '<div hx-get="/sign-out" hx-trigger="load">htmx</div>',
    '<div hx-on:click="alert(1)">htmx</div>',
    '<a href="/x" data-hx-post="/admin/users">x</a>',
    "<table><td background=javascript:alert(1)>cell</td></table>",
    '<p style="position:fixed;top:0">overlay</p>',
    "```\n</code></pre><script>alert(1)</script>\n```",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
    "> <svg/onload=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "<a href=\"http://ok.example\" target=_blank onclick='alert(1)'>ok</a>",
]

SQL_PAYLOADS = [
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    '" OR 1=1 --',
    "1; SELECT pg_sleep(3)--",
    "1) UNION SELECT password_hash, email FROM users--",
    "%' OR 1=1 --",
    "admin'--",
    "\\'; DELETE FROM audit_events; --",
    "1' AND 1=CAST((SELECT version()) AS int)--",
    "'||(SELECT sqlite_version())||'",
]

PAGE_FORBIDDEN_TAGS = {"style"}  # <style> blocks need 'unsafe-inline' under our style-src
OUTPUT_ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "poster",
    "background",
}
SAFE_SCHEMES = {"http", "https", "mailto"}
_CONTROL = re.compile(r"[\x00-\x20]+")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_bodies.append(data)


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see (control characters and spaces are ignored), or None."""
    cleaned = _CONTROL.sub("", value).lower()
    match = re.match(r"([a-z][a-z0-9+.-]*):", cleaned)
    return match.group(1) if match else None


def page_problems(html: str) -> list[str]:
    """What in a page of ours would break the CSP, or be script in disguise."""
    found = _parse(html)
    problems = []
    for tag, attrs in found.tags:
        names = {name.lower(): value for name, value in attrs}
        if tag == "script" and "src" not in names:
            problems.append("an inline <script>")
        if tag in PAGE_FORBIDDEN_TAGS:
            problems.append(f"a <{tag}> element")
        for name, value in names.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}=…> event handler")
            if name.startswith(("hx-on", "data-hx-on")):
                problems.append(f"<{tag} {name}=…> (hx-on)")
            if name == "style":
                problems.append(f"<{tag} style=…>")
            if name in URL_ATTRIBUTES and value and url_scheme(value) in {"javascript", "vbscript"}:
                problems.append(f"<{tag} {name}={value!r}>")
    if found.script_bodies:
        problems.append("script content inline")
    return problems


def output_problems(html: str) -> list[str]:
    """What must never survive in sanitized model output."""
    problems = page_problems(html)
    for tag, attrs in _parse(html).tags:
        if tag not in OUTPUT_ALLOWED_TAGS:
            problems.append(f"a <{tag}> element")
        for name, value in attrs:
            if name.startswith(("hx-", "data-")):
                problems.append(f"<{tag} {name}=…> attribute")
            if name in URL_ATTRIBUTES and value:
                scheme = url_scheme(value)
                if scheme is not None and scheme not in SAFE_SCHEMES:
                    problems.append(f"<{tag} {name}={value!r}>")
    return problems
