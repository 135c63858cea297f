"""Hardening (issue 18): the CSP on every page, hostile model output, cookies and HSTS, size limits,
SQL-injection strings — through HTTP, on a world seeded with hostile text everywhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys

import pytest
from flask import url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from app.chain.queue import start_execution
from app.config import ROOT
from app.models import (
    ApiToken,
    Assistant,
    AuditEvent,
    Execution,
    InputField,
    PasswordResetToken,
    User,
)
from app.security import CONTENT_SECURITY_POLICY
from tests.integration.api_support import drain
from tests.support.hostile import SQL_PAYLOADS, XSS_PAYLOADS, output_problems, page_problems

ONE_LINE_XSS = [p for p in XSS_PAYLOADS if "\n" not in p]
HOSTILE = "<img src=x onerror=alert(1)> <script>alert(2)</script>"
STREAMS = {"runs.stream", "api.execution_events"}
OUTPUT = re.compile(r'id="(?:detail-)?step-\d+-output" class="output">(.*?)</div>', re.S)


@pytest.fixture
def world(make, fake_openai):
    """Every kind of object, with hostile names, and runs whose model output is the XSS corpus."""
    admin = make.user(roles=("administrator",), name=f"Ada {HOSTILE}")
    model = make.model(
        name=f"Fake {HOSTILE}",
        model_id="openai/fake-model",
        api_base=fake_openai.base_url,
        input_cost_per_1k=0.001,
        output_cost_per_1k=0.002,
    )
    choices = [{"value": "a", "label": f"A {HOSTILE}"}, {"value": "b", "label": "B"}]
    assistant = make.assistant(
        user=admin,
        name=f"Helper {HOSTILE}",
        description=f"Describes {HOSTILE} javascript:alert(3)",
        status="approved",
        audience=["staff", "student"],
        fields=[
            {"name": "user_input", "label": f"Text {HOSTILE}", "options": {"required": True}},
            {
                "name": "title",
                "field_type": "short_text",
                "label": "Title",
                "options": {"placeholder": HOSTILE, "help": HOSTILE},
            },
            {
                "name": "pick",
                "field_type": "select",
                "label": "Pick",
                "options": {"choices": choices},
            },
            {
                "name": "many",
                "field_type": "multi_select",
                "label": "Many",
                "options": {"choices": choices},
            },
            {"name": "doc", "field_type": "file_upload", "label": "Doc", "options": {}},
        ],
        prompts=[
            {
                "name": f"Analyze {HOSTILE}",
                "content": "Analyze this: {{user_input}}",
                "system_context": HOSTILE,
                "model": model,
                "position": 0,
            },
            {
                "name": "Summarize",
                "content": "Summarize: {{prompt_1_output}}",
                "model": model,
                "position": 1,
            },
        ],
    )
    done = start_execution(assistant, admin, {"user_input": " ".join(ONE_LINE_XSS)})
    drain()
    failed = start_execution(assistant, admin, {"user_input": f"[[fail:400]] {HOSTILE}"})
    drain()
    queued = start_execution(assistant, admin, {"user_input": HOSTILE})
    ApiToken.issue(admin, f"token {HOSTILE}", ["assistants:read"])
    reset_secret, _ = PasswordResetToken.issue(admin, admin, dt.timedelta(hours=1))
    return {
        "reset_secret": reset_secret,
        "admin": admin,
        "model": model,
        "assistant": assistant,
        "done": Execution.get_by_id(done.id),
        "failed": Execution.get_by_id(failed.id),
        "queued": queued,
    }


def _ids(world) -> dict[str, list]:
    assistant = world["assistant"]
    return {
        "token": [world["reset_secret"]],
        "assistant_id": [assistant.id],
        "execution_id": [world["done"].id, world["failed"].id, world["queued"].id],
        "ai_model_id": [world["model"].id],
        "field_id": [f.id for f in assistant.ordered_fields()],
        "prompt_id": [p.id for p in assistant.ordered_prompts()],
    }


def crawl_urls(app, world) -> list[str]:
    """Every GET route: those without arguments, and those with the seeded objects' ids."""
    ids = _ids(world)
    urls: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        unknown = set(rule.arguments) - set(ids)
        assert not unknown, f"{rule.rule}: seed an object for {unknown} in this test's world"
        combos: list[dict] = [{}]
        for name in sorted(rule.arguments):
            values = ids[name]
            if rule.endpoint in STREAMS and name == "execution_id":
                values = values[:2]  # a queued run's stream waits for it: finished runs only
            combos = [{**c, name: value} for c in combos for value in values]
        with app.test_request_context():
            urls += [url_for(rule.endpoint, **values) for values in combos]
    extra = [
        "/runs?all=1",
        "/runs?status=failed&date_from=2020-01-01",
        "/runs?status=bogus&date_from=nope",
        f"/catalog?q={HOSTILE}",
        f"/assistants/{world['assistant'].id}/run?again={world['done'].id}",
        "/no-such-page",
    ]
    return sorted(set(urls)) + extra


def _check(response, url: str) -> list[str]:
    problems = []
    csp = response.headers.get("Content-Security-Policy")
    if csp != CONTENT_SECURITY_POLICY:
        problems.append(f"{url}: CSP header {csp!r}")
    if response.status_code >= 500:
        problems.append(f"{url}: status {response.status_code}")
    body = response.get_data(as_text=True)
    if response.mimetype == "text/event-stream":
        body = "\n".join(line[6:] for line in body.splitlines() if line.startswith("data: "))
    if response.mimetype in {"text/html", "text/event-stream"}:
        problems += [f"{url}: {p}" for p in page_problems(body)]
        for output in OUTPUT.findall(body):
            problems += [f"{url} (model output): {p}" for p in output_problems(output)]
    return problems


def test_the_policy_forbids_inline_script_and_style():
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "style-src 'self'" in CONTENT_SECURITY_POLICY  # so style="" attributes are out too
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_csp_holds_on_every_page_for_an_administrator(app, auth, world):
    auth.sign_in(world["admin"])
    urls = crawl_urls(app, world)
    assert len(urls) >= 35
    problems: list[str] = []
    html_pages = 0
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = auth.client.get(url, headers=headers)
            html_pages += response.mimetype == "text/html"
            problems += _check(response, url + (" (fragment)" if headers else ""))
    assert problems == []
    assert html_pages >= 40


def test_csp_holds_for_students_and_signed_out_visitors(client, auth, make, world):
    for url in ["/sign-in", "/no-such-page", "/catalog"]:
        assert _check(client.get(url), url) == []
    auth.sign_in(roles=("student",))
    for url in ["/catalog", "/runs", "/profile", f"/assistants/{world['assistant'].id}/run"]:
        response = auth.client.get(url)
        assert response.status_code == 200
        assert _check(response, url) == []
    assert _check(auth.client.get("/admin/users"), "/admin/users (403)") == []


def test_model_output_is_inert_on_the_run_page_detail_and_stream(auth, world):
    auth.sign_in(world["admin"])
    done = world["done"]
    for url in [f"/runs/{done.id}", f"/runs/{done.id}/detail", f"/runs/{done.id}/stream"]:
        response = auth.client.get(url)
        body = response.get_data(as_text=True)
        assert _check(response, url) == []
        # Not vacuous: the payloads reached the page, as text.
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, url
    page = auth.client.get(f"/runs/{done.id}").get_data(as_text=True)
    outputs = OUTPUT.findall(page)
    assert len(outputs) == 2 and all("alert(1)" in o for o in outputs)


def test_exports_are_downloads_that_never_render_as_html(auth, world):
    auth.sign_in(world["admin"])
    done, assistant = world["done"], world["assistant"]
    expected = {
        f"/runs/{done.id}/export.md": "text/markdown",
        f"/runs/{done.id}/export.json": "application/json",
        f"/assistants/{assistant.id}/runs.csv": "text/csv",
    }
    for url, mimetype in expected.items():
        response = auth.client.get(url)
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    text = auth.client.get(f"/assistants/{assistant.id}/runs.csv").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]  # no spreadsheet formulas


def test_hostile_names_render_as_text_everywhere_they_appear(auth, world):
    auth.sign_in(world["admin"])
    for url in [
        "/catalog",
        "/assistants",
        f"/assistants/{world['assistant'].id}/edit",
        f"/assistants/{world['assistant'].id}/run",
        "/admin/models",
        "/admin/users",
        "/runs?all=1",
        "/profile",
    ]:
        body = auth.client.get(url).get_data(as_text=True)
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, url
        assert "<img src=x" not in body and "<script>alert" not in body, url


# --- cookies and HSTS ----------------------------------------------------------------------------
def test_session_cookie_and_hsts_behind_tls(app, auth, make, monkeypatch):
    """As in production behind the ALB: PROXY_COUNT=1, Secure cookies, X-Forwarded-Proto https."""
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1))
    make.user(roles=("administrator",))
    user = make.user(roles=("staff",))
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    page = auth.client.get("/sign-in", headers=tls)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(page.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    signed_in = auth.client.post(
        "/sign-in",
        data={"email": user.email, "password": auth.make.PASSWORD, "csrf_token": token.group(1)},
        headers={**tls, "Referer": "https://localhost/sign-in"},
        base_url="https://localhost",
    )
    assert signed_in.status_code == 303, signed_in.get_data(as_text=True)[:300]
    cookie = signed_in.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert signed_in.headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_hsts_over_plain_http(client):
    response = client.get("/sign-in")
    assert "Strict-Transport-Security" not in response.headers


def test_production_configuration_is_secure_by_default():
    """Read in a fresh interpreter: the class attributes are computed from the environment."""
    code = (
        "import json; from app.config import Config as C; print(json.dumps(["
        "C.SESSION_COOKIE_SECURE, C.SESSION_COOKIE_HTTPONLY, C.SESSION_COOKIE_SAMESITE,"
        " C.WTF_CSRF_SSL_STRICT]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "WTF_"))}
    env["APP_ENV"] = "production"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [True, True, "Lax", True]


# --- size limits ---------------------------------------------------------------------------------
def _assert_friendly_413(response) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 413, body[:300]
    assert "That was too large" in body and "Traceback" not in body
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_form_with_ten_thousand_fields_gets_a_friendly_413(auth, world):
    auth.sign_in(world["admin"])
    fields = {f"f{i}": "x" for i in range(10_000)}
    for url in ["/admin/budgets", "/assistants/new", f"/assistants/{world['assistant'].id}/run"]:
        _assert_friendly_413(auth.post(url, fields))  # url-encoded
        multipart = {**fields, "doc": (io.BytesIO(b"x"), "a.txt")}
        _assert_friendly_413(auth.post(url, multipart, content_type="multipart/form-data"))
    # Under the limit the same kind of form is fine: the limit is on the count, not the route.
    assert auth.post("/admin/budgets", {f"f{i}": "x" for i in range(1000)}).status_code == 303
    assert not Assistant.select().where(Assistant.name == "x").exists()


def test_five_mib_to_a_one_mib_route_gets_a_friendly_413(auth, world):
    auth.sign_in(world["admin"])
    big = "x" * (5 * 1024 * 1024)
    _assert_friendly_413(auth.post("/admin/budgets", {"default_runs_per_day": big}))
    _assert_friendly_413(auth.post("/assistants/new", {"name": big}))
    _assert_friendly_413(auth.client.post("/sign-in", data={"email": big, "password": "x"}))
    # The run form allows 150 KiB of text plus its file fields' maximum (10 MiB here): a 5 MiB
    # answer is too long but readable, so it comes back as a 422 with the form kept.
    run = auth.post(f"/assistants/{world['assistant'].id}/run", {"user_input": big})
    assert run.status_code == 422 and "Your answers are too long" in run.get_data(as_text=True)
    # …and a 3 MiB file is within its field's 10 MB (the limit is set before CSRF reads the form).
    upload = {"user_input": "hi", "doc": (io.BytesIO(b"word " * 600_000), "notes.txt")}
    run = auth.post(
        f"/assistants/{world['assistant'].id}/run", upload, content_type="multipart/form-data"
    )
    assert run.status_code != 413
    # Over the run form's own ceiling (150 KiB + 10 MiB) it is a 413 too.
    upload = {"user_input": "hi", "doc": (io.BytesIO(b"x" * (11 * 1024 * 1024)), "big.txt")}
    _assert_friendly_413(
        auth.post(
            f"/assistants/{world['assistant'].id}/run", upload, content_type="multipart/form-data"
        )
    )


def test_the_api_answers_413_as_problem_json(client, world):
    _, secret = ApiToken.issue(world["admin"], "big", ["assistants:execute"])
    response = client.post(
        f"/api/v1/assistants/{world['assistant'].id}/executions",
        data=b'{"inputs": {"user_input": "' + b"x" * (5 * 1024 * 1024) + b'"}}',
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413 and response.mimetype == "application/problem+json"


# --- SQL injection -------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_injection_strings_are_inert_in_filters_and_search(auth, world, payload):
    auth.sign_in(world["admin"])
    users_before = User.select().count()
    urls = [
        ("/catalog", {"q": payload}),
        ("/runs", {"status": payload, "assistant": payload, "date_from": payload, "all": "1"}),
        ("/runs", {"date_to": payload, "page": payload}),
        ("/admin/runs/failed", {"assistant": payload, "page": payload}),
        ("/assistants", {"q": payload}),
        (f"/assistants/{world['assistant'].id}/run", {"again": payload}),
        (f"/runs/{world['done'].id}/stream", {"after": payload}),
    ]
    for url, params in urls:
        response = auth.client.get(url, query_string=params)
        response.get_data()  # read streams to the end: an open one would outlive the test
        assert response.status_code < 500, (url, params)
    catalog = auth.client.get("/catalog", query_string={"q": payload}).get_data(as_text=True)
    assert "Helper" not in catalog.split("<main")[1]  # the search matched nothing, not everything
    assert User.select().count() == users_before
    assert AuditEvent.select().count() > 0


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_injection_strings_are_stored_verbatim_by_the_builder(auth, world, payload):
    user = auth.sign_in(roles=("staff",))
    response = auth.post(
        "/assistants/new",
        {"name": payload, "description": payload, "audience": "staff", "icon": "sparkles"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    created = Assistant.get(Assistant.user == user)
    assert created.name == payload and created.description == payload
    field = auth.post(
        f"/assistants/{created.id}/fields",
        {"name": "topic", "label": payload, "field_type": "short_text", "placeholder": payload},
    )
    assert field.status_code < 500
    assert InputField.get(InputField.assistant == created).label == payload
    # Signing in with it is just a wrong password.
    auth.client.post("/sign-out", data={"csrf_token": auth.csrf()})
    sign_in = auth.client.post(
        "/sign-in", data={"email": payload, "password": payload, "csrf_token": auth.csrf()}
    )
    assert sign_in.status_code == 422
    assert User.select().count() >= 2


@pytest.mark.parametrize("payload", SQL_PAYLOADS[:4])
def test_sql_injection_strings_are_inert_in_the_api(client, world, payload):
    _, secret = ApiToken.issue(world["admin"], "sqli", ["assistants:read", "assistants:execute"])
    headers = {"Authorization": f"Bearer {secret}"}
    url = f"/api/v1/assistants/{world['assistant'].id}/executions"
    response = client.post(url, json={"inputs": {"user_input": payload}}, headers=headers)
    assert response.status_code == 202
    stored = Execution.get_by_id(response.get_json()["id"])
    assert stored.input_data["user_input"] == payload
    bogus = client.get(f"/api/v1/executions/{response.get_json()['id']}/events?after={payload}")
    assert bogus.status_code in (400, 401, 422)
