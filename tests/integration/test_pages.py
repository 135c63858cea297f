"""The UI shell: navigation by role, the catalog, fragments, headers and error pages."""

from __future__ import annotations

from app.demo import load_demo_data
from app.models import Assistant


def test_every_page_carries_the_content_security_policy(client):
    response = client.get("/setup")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " on" + "click=" not in html and "hx-on" not in html
    assert 'name="htmx-config"' in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_navigation_follows_roles(client, auth, make):
    make.user(roles=("administrator",))
    auth.sign_in(roles=("student",))
    html = client.get("/catalog").get_data(as_text=True)
    assert ">Catalog<" in html and ">My runs<" in html
    assert ">My assistants<" not in html and ">Admin<" not in html


def test_admin_sees_every_section(client, auth):
    auth.sign_in(roles=("administrator", "staff"))
    html = client.get("/catalog").get_data(as_text=True)
    for label in ("Catalog", "My assistants", "My runs", "Admin"):
        assert f">{label}<" in html


def test_student_opening_an_admin_page_gets_403(client, auth, make):
    make.user(roles=("administrator",))
    auth.sign_in(roles=("student",))
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "This page is not for your account" in response.get_data(as_text=True)
    assert client.get("/assistants").status_code == 403


def test_unknown_url_gets_the_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "find that page" in response.get_data(as_text=True)


def test_catalog_lists_the_example_for_staff_not_students(client, auth, make):
    make.user(roles=("administrator",))
    load_demo_data()
    auth.sign_in(roles=("staff",))
    assert "Analyze and summarize" in client.get("/catalog").get_data(as_text=True)
    auth.post("/sign-out")
    auth.sign_in(roles=("student",))
    assert "Analyze and summarize" not in client.get("/catalog").get_data(as_text=True)


def test_catalog_hides_drafts_and_searches(client, auth, make):
    make.user(roles=("administrator",))
    make.assistant(name="Quiz maker", status="approved", description="Makes quizzes")
    make.assistant(name="Lesson planner", status="approved")
    make.assistant(name="Secret draft", status="draft")
    auth.sign_in()
    html = client.get("/catalog").get_data(as_text=True)
    assert "Quiz maker" in html and "Lesson planner" in html and "Secret draft" not in html
    fragment = client.get("/catalog?q=quiz", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and "Quiz maker" in text and "Lesson planner" not in text
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = client.get("/catalog?q=quiz", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_catalog_respects_audience_with_students(client, auth, make):
    make.user(roles=("administrator",))
    make.assistant(name="For students", status="approved", audience=["student"])
    auth.sign_in(roles=("student",))
    assert "For students" in client.get("/catalog").get_data(as_text=True)


def test_hostile_names_are_text(client, auth, make):
    make.user(roles=("administrator",))
    make.assistant(name="<script>alert(1)</script>", status="approved")
    auth.sign_in()
    html = client.get("/catalog").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_demo_data_is_idempotent(app):
    assert load_demo_data() == ["model Offline demo — no AI", "assistant Analyze and summarize"]
    assert load_demo_data() == []
    example = Assistant.get(Assistant.name == "Analyze and summarize")
    prompts = example.ordered_prompts()
    assert [p.content for p in prompts] == [
        "Analyze this: {{user_input}}",
        "Summarize: {{prompt_1_output}}",
    ]
    assert [p.position for p in prompts] == [0, 1]
