"""My assistants, creating one, its details and its preview."""

from __future__ import annotations

from app.models import Assistant
from app.models.audit import AuditEvent

HX = {"HX-Request": "true"}
DETAILS = {
    "name": "Lesson helper",
    "description": "Plans lessons.",
    "icon": "book",
    "audience": ["staff", "student"],
    "timeout_seconds": "",
}


def seed_chain(make, user, **values):
    model = make.model(name="Demo", max_tokens=1000)
    return make.assistant(
        user=user,
        fields=[{"name": "user_input", "label": "Your text"}],
        prompts=[
            {"name": "Analyze", "content": "Analyze this: {{user_input}}", "model": model},
            {
                "name": "Summarize",
                "content": "Summarize: {{prompt_1_output}}",
                "model": model,
                "position": 1,
            },
        ],
        **values,
    )


def test_my_assistants_lists_mine_with_statuses_and_the_reviewers_reason(client, auth, make):
    me = auth.sign_in()
    make.assistant(user=me, name="My draft")
    make.assistant(user=me, name="Sent back", status="rejected", rejection_reason="Too vague")
    make.assistant(name="Someone elses")
    html = client.get("/assistants").get_data(as_text=True)
    assert "My draft" in html and "Sent back" in html and "Too vague" in html
    assert "Rejected" in html and "Draft" in html
    assert "Someone else" not in html and ">Owner<" not in html
    assert "New assistant" in html


def test_administrators_see_everyones_with_the_owner(client, auth, make):
    auth.sign_in(roles=("administrator",))
    teacher = make.user(name="Grace Teacher")
    make.assistant(user=teacher, name="Grace helper")
    html = client.get("/assistants").get_data(as_text=True)
    assert "Grace helper" in html and ">Owner<" in html and "Grace Teacher" in html


def test_search_answers_the_list_fragment(client, auth, make):
    me = auth.sign_in()
    make.assistant(user=me, name="Essay marker")
    make.assistant(user=me, name="Quiz maker", status="approved")
    response = client.get("/assistants?q=essay", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Essay marker" in html and "Quiz maker" not in html
    html = client.get("/assistants?status=approved", headers=HX).get_data(as_text=True)
    assert "Quiz maker" in html and "Essay marker" not in html
    html = client.get("/assistants?q=nothing-like-this", headers=HX).get_data(as_text=True)
    assert "Nothing matches" in html
    assert client.get("/assistants?status=bogus").status_code == 200


def test_create_then_edit_page_and_audit(client, auth):
    me = auth.sign_in()
    response = auth.post("/assistants/new", DETAILS)
    assert response.status_code == 303
    assistant = Assistant.get(Assistant.name == "Lesson helper")
    assert assistant.user_id == me.id and assistant.status == "draft"
    assert assistant.image_path == "book" and assistant.audience == ["staff", "student"]
    assert response.headers["Location"].endswith(f"/assistants/{assistant.id}/edit#fields")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is created" in page and "Input fields" in page and "Prompts" in page
    event = AuditEvent.get(AuditEvent.action == "assistant.created")
    assert event.target_id == str(assistant.id) and "Lesson helper" in event.summary


def test_create_with_htmx_redirects_and_keeps_what_was_typed_on_errors(client, auth):
    auth.sign_in()
    response = auth.post("/assistants/new", {**DETAILS, "name": "ab", "audience": []}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert "Use 3 to 255 characters." in html
    assert "Choose at least one role" in html
    assert "Plans lessons." in html  # nothing typed is lost
    ok = auth.post("/assistants/new", DETAILS, headers=HX)
    assert ok.status_code == 200 and "/edit" in ok.headers["HX-Redirect"]


def test_new_form_defaults_and_description_hint(client, auth):
    auth.sign_in()
    html = client.get("/assistants/new").get_data(as_text=True)
    assert "needed before you submit it for approval" in html
    assert 'value="staff" checked' in html and 'value="administrator" checked' in html
    assert 'value="student" checked' not in html
    assert 'value="sparkles" checked' in html and "#icon-calculator" in html


def test_details_save_answers_the_section_and_the_title_out_of_band(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me, name="Old name")
    before = Assistant.get_by_id(assistant.id).updated_at
    url = f"/assistants/{assistant.id}/details"
    response = auth.post(url, {**DETAILS, "name": "New name"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="details"' in html and 'hx-swap-oob="true"' in html and "Details saved." in html
    saved = Assistant.get_by_id(assistant.id)
    assert saved.name == "New name" and saved.updated_at >= before
    event = AuditEvent.get(AuditEvent.action == "assistant.edited")
    assert "name" in event.details["changed"]
    bad = auth.post(url, {**DETAILS, "timeout_seconds": "5", "icon": "not-an-icon"}, headers=HX)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "from 10 to 3600" in text and "Pick one of the icons." in text


def test_details_without_javascript_redirect_with_a_flash(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me)
    response = auth.post(f"/assistants/{assistant.id}/details", DETAILS)
    assert response.status_code == 303
    assert "Details saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    bad = auth.post(f"/assistants/{assistant.id}/details", {**DETAILS, "name": ""})
    assert bad.status_code == 422 and "<html" in bad.get_data(as_text=True)


def test_an_imported_icon_path_is_kept_when_no_icon_is_picked(client, auth, make):
    me = auth.sign_in()
    assistant = make.assistant(user=me, image_path="/uploads/custom.png")
    details = {k: v for k, v in DETAILS.items() if k != "icon"}
    auth.post(f"/assistants/{assistant.id}/details", details)
    assert Assistant.get_by_id(assistant.id).image_path == "/uploads/custom.png"


def test_preview_renders_the_seed_chain(client, auth, make):
    me = auth.sign_in()
    assistant = seed_chain(make, me)
    page = client.get(f"/assistants/{assistant.id}/preview").get_data(as_text=True)
    assert "Your text" in page and 'name="in_user_input"' in page
    response = auth.post(
        f"/assistants/{assistant.id}/preview", {"in_user_input": "Rainbows"}, headers=HX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Analyze this: Rainbows" in html
    assert "Summarize: «output of Analyze»" in html
    empty = auth.post(f"/assistants/{assistant.id}/preview", {}).get_data(as_text=True)
    assert "Analyze this: «Your text»" in empty and "<html" in empty


def test_preview_shows_each_steps_findings(client, auth, make):
    me = auth.sign_in()
    model = make.model()
    assistant = make.assistant(
        user=me, prompts=[{"name": "Only", "content": "Use {{missing}}", "model": model}]
    )
    html = auth.post(f"/assistants/{assistant.id}/preview", {}).get_data(as_text=True)
    assert "no input field or earlier prompt called “missing”" in html


def test_hostile_names_stay_text_everywhere(client, auth, make):
    me = auth.sign_in()
    evil = "<script>alert(1)</script>"
    model = make.model(name=evil)
    assistant = make.assistant(
        user=me,
        name=evil,
        description=evil,
        fields=[{"name": "x", "label": evil, "options": {"help": evil}}],
        prompts=[{"name": evil, "content": evil + " {{x}}", "model": model}],
    )
    prompt = assistant.ordered_prompts()[0]
    urls = [
        "/assistants",
        f"/assistants/{assistant.id}/edit",
        f"/assistants/{assistant.id}/preview",
        f"/assistants/{assistant.id}/prompts/{prompt.id}/edit",
    ]
    for url in urls:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
    lint = auth.post(
        f"/assistants/{assistant.id}/prompts/{prompt.id}/check",
        {"name": evil, "content": evil + " {{nope}}", "model_id": str(model.id)},
        headers=HX,
    ).get_data(as_text=True)
    assert "<script>alert" not in lint and "&lt;script&gt;" in lint
    preview = auth.post(f"/assistants/{assistant.id}/preview", {"in_x": evil})
    assert "<script>alert" not in preview.get_data(as_text=True)
