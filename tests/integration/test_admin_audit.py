"""The administrators' audit trail page (filters, pages, CSV) and the settings page."""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
import re

import pytest

from app.db import utcnow
from app.models import AuditEvent, Execution
from app.models.audit import record
from app.retention import retention_days

FRAGMENT = {"HX-Request": "true"}


def text(html: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def summaries(html: str) -> list[str]:
    """The "What happened" cells, top to bottom (the summary before any details)."""
    rows = re.findall(r"<tr>\s*<td><time.*?</tr>", html, flags=re.S)
    return [
        text(re.findall(r"<td>(.*?)</td>", row, flags=re.S)[4]).split(" Details")[0] for row in rows
    ]


@pytest.fixture
def admin(auth):
    return auth.sign_in(roles=("administrator",))


def at(event: AuditEvent, moment: dt.datetime) -> AuditEvent:
    AuditEvent.update(at=moment).where(AuditEvent.id == event.id).execute()
    return event


@pytest.fixture
def trail(make, admin):
    """A few events of different kinds, actors and days (plus the admin's sign-in)."""
    staff = make.user(email="teacher@school.example", roles=("staff",))
    assistant = make.assistant(user=staff, name="Essay helper")
    at(
        record(
            "assistant.created", actor=staff, target=assistant, summary="Created “Essay helper”"
        ),
        dt.datetime(2026, 3, 1, 9, 0),
    )
    at(
        record(
            "assistant.edited",
            actor=staff,
            target=assistant,
            summary="Edited “Essay helper”: name",
            details={"changed": ["name"]},
        ),
        dt.datetime(2026, 3, 2, 9, 0),
    )
    at(
        record("model.activated", actor=None, target=None, summary='=HYPERLINK("x") activated'),
        dt.datetime(2026, 3, 3, 9, 0),
    )
    at(
        record(
            "user.sign_in_failed",
            actor=None,
            summary="Failed sign-in as x@school.example: no such account",
            ip="203.0.113.9",
        ),
        dt.datetime(2026, 2, 1, 9, 0),
    )
    return {"staff": staff, "assistant": assistant}


def test_newest_first_with_who_what_and_details(client, trail):
    response = client.get("/admin/audit")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert summaries(html)[1:] == [
        '=HYPERLINK("x") activated',
        "Edited “Essay helper”: name",
        "Created “Essay helper”",
        "Failed sign-in as x@school.example: no such account",
    ]
    # today: the admin's own sign-in, on top
    assert summaries(html)[0].endswith("signed in with password")
    words = text(html)
    assert "2026-03-02 09:00:00 teacher@school.example assistant.edited Assistant" in words
    assert 'Details changed ["name"]' in words
    assert "2026-03-03 09:00:00 system model.activated" in words
    assert "2026-02-01 09:00:00 anonymous 203.0.113.9 user.sign_in_failed" in words
    assert f'<a href="/assistants/{trail["assistant"].id}/edit">Assistant' in html
    assert 'href="/admin/audit.csv"' in html and "Audit trail" in words


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "TEACHER@school"}, ["Edited “Essay helper”: name", "Created “Essay helper”"]),
        ({"actor": "system"}, ['=HYPERLINK("x") activated']),
        ({"actor": "anonymous"}, ["Failed sign-in as x@school.example: no such account"]),
        ({"action": "assistant.created"}, ["Created “Essay helper”"]),
        ({"target_type": "assistant_architects", "q": "edited"}, ["Edited “Essay helper”: name"]),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, ["Edited “Essay helper”: name"]),
        (
            {"date_to": "2026-03-01"},
            ["Created “Essay helper”", "Failed sign-in as x@school.example: no such account"],
        ),
        ({"q": "nothing like this"}, []),
    ],
)
def test_filters(client, trail, query, expected):
    response = client.get("/admin/audit", query_string=query, headers=FRAGMENT)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert summaries(html) == expected
    if not expected:
        assert "No event matches these filters." in text(html)
    assert "Clear the filters" in text(html)


def test_filter_choices_come_from_the_trail(client, trail):
    html = client.get("/admin/audit").get_data(as_text=True)
    assert '<option value="assistant.edited">assistant.edited</option>' in html
    assert '<option value="assistant_architects">Assistant</option>' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "yesterday"}, "“From” must be a date like 2026-01-31."),
        ({"date_from": "2026-03-05", "date_to": "2026-03-01"}, "“To” must be on or after “From”."),
    ],
)
def test_bad_dates_say_so(client, trail, query, message):
    response = client.get("/admin/audit", query_string=query)
    assert response.status_code == 422
    assert message in text(response.get_data(as_text=True))
    csv_response = client.get("/admin/audit.csv", query_string=query)
    assert csv_response.status_code == 422
    assert message in text(csv_response.get_data(as_text=True))


def test_pages_of_fifty(client, admin):
    for n in range(1, 61):
        record("test.event", actor=None, summary=f"event {n:02d}")
    first = summaries(
        client.get("/admin/audit", query_string={"action": "test.event"}).get_data(as_text=True)
    )
    assert len(first) == 50 and first[0] == "event 60" and first[-1] == "event 11"
    html = client.get("/admin/audit", query_string={"action": "test.event", "page": 2}).get_data(
        as_text=True
    )
    assert summaries(html) == [f"event {n:02d}" for n in range(10, 0, -1)]
    assert 'rel="prev"' in html and 'rel="next"' not in html
    assert "action=test.event" in re.search(r'rel="prev" href="([^"]+)"', html).group(1)


def test_csv_exports_the_filtered_rows_and_is_audited(client, trail):
    response = client.get("/admin/audit.csv", query_string={"actor": "teacher"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert re.match(
        r'attachment; filename="audit-\d{8}-\d{4}\.csv"', response.headers["Content-Disposition"]
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "time_utc",
        "actor",
        "action",
        "target_type",
        "target_id",
        "summary",
        "details",
        "ip",
        "request_id",
    ]
    assert [r[2] for r in rows[1:]] == ["assistant.edited", "assistant.created"]
    edited = rows[1]
    assert edited[0] == "2026-03-02T09:00:00Z" and edited[1] == "teacher@school.example"
    assert edited[3:7] == [
        "assistant_architects",
        str(trail["assistant"].id),
        "Edited “Essay helper”: name",
        '{"changed": ["name"]}',
    ]
    exported = AuditEvent.select().where(AuditEvent.action == "audit.exported").get()
    assert exported.summary == "Exported the audit trail as CSV (filtered)"
    assert exported.details == {"filters": {"actor": "teacher"}}
    assert exported.actor_email.startswith("user") and exported.ip == "127.0.0.1"


def test_csv_neutralises_formulas_and_reads_in_batches(client, trail, monkeypatch):
    from app.blueprints.admin import audit as audit_views

    monkeypatch.setattr(audit_views, "CSV_BATCH", 2)
    rows = list(csv.reader(io.StringIO(client.get("/admin/audit.csv").get_data(as_text=True))))
    by_action = {r[2]: r for r in rows[1:]}
    assert by_action["model.activated"][5] == '\'=HYPERLINK("x") activated'
    assert by_action["model.activated"][1] == "system"
    assert by_action["user.sign_in_failed"][1] == "anonymous"
    assert len(rows) == 1 + 6  # sign-in, four events, and the export itself (written first)


# --- settings: retention -----------------------------------------------------------------------
def test_settings_page_says_forever_until_set(client, admin):
    html = client.get("/admin/settings").get_data(as_text=True)
    words = text(html)
    assert "Data retention" in words and "Runs are kept forever." in words
    assert "Last deletion None yet." in words
    assert 'aria-current="page">Settings' in html


def test_setting_retention_is_saved_audited_and_shows_what_will_go(client, auth, admin, make):
    assistant = make.assistant()
    Execution.create(
        assistant=assistant,
        user=assistant.user,
        status="completed",
        definition={},
        started_at=utcnow() - dt.timedelta(days=41),
        completed_at=utcnow() - dt.timedelta(days=40),
    )
    response = auth.post("/admin/settings/retention", {"retention_days": "30"})
    assert response.status_code == 303 and response.location.endswith("/admin/settings")
    assert retention_days() == 30
    words = text(client.get("/admin/settings").get_data(as_text=True))
    assert "Runs are now kept 30 days." in words
    assert "Runs are kept 30 days; 1 finished run already older than that will be deleted" in words
    assert f"UTC by {admin.email}" in words
    row = AuditEvent.get(AuditEvent.action == "settings.retention_changed")
    assert row.summary == "Runs kept: forever → 30 days"
    assert row.details == {"before": None, "after": 30} and row.actor_id == admin.id
    assert row.target_type == "app_settings"

    again = auth.post("/admin/settings/retention", {"retention_days": "30"})
    assert again.status_code == 303  # no change: no new audit row
    assert AuditEvent.select().where(AuditEvent.action == "settings.retention_changed").count() == 1

    fragment = auth.post("/admin/settings/retention", {"retention_days": ""}, headers=FRAGMENT)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    assert "Runs are now kept forever." in text(html) and retention_days() is None
    last = (
        AuditEvent.select()
        .where(AuditEvent.action == "settings.retention_changed")
        .order_by(AuditEvent.id.desc())
        .first()
    )
    assert last.summary == "Runs kept: 30 days → forever"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Enter a whole number of days, or leave it empty to keep runs forever."),
        ("-5", "Enter a whole number of days, or leave it empty to keep runs forever."),
        ("0", "Enter between 1 and 36,500 days, or leave it empty."),
        ("99999999999999999999", "Enter between 1 and 36,500 days, or leave it empty."),
    ],
)
def test_bad_retention_is_refused_with_a_message_and_keeps_the_input(auth, admin, value, message):
    response = auth.post("/admin/settings/retention", {"retention_days": value}, headers=FRAGMENT)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert re.search(r'id="f-retention_days-error">([^<]*)<', html).group(1) == html_lib.escape(
        message, quote=True
    ).replace("&#x27;", "&#39;")
    assert f'value="{value}"' in html
    assert retention_days() is None
    assert not AuditEvent.select().where(AuditEvent.action == "settings.retention_changed").exists()
