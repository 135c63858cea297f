"""The versions page (list and readable diff) and the catalog (audience, search, Run)."""

from __future__ import annotations

import pytest

from app.models import Assistant

HX = {"HX-Request": "true"}


@pytest.fixture
def world(make):
    admin = make.user(roles=("administrator",), name="Ada Admin")
    owner = make.user(roles=("staff",), name="Tom Teacher")
    model = make.model(name="Test model")
    assistant = make.assistant(
        user=owner,
        name="Seed chain",
        description="Analyzes a text, then summarizes it.",
        image_path="book",
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
    )
    return {"admin": admin, "owner": owner, "model": model, "assistant": assistant}


def _two_versions(auth, world, new_content="Summarize <b>briefly</b>: {{prompt_1_output}}"):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    auth.post(f"/assistants/{assistant.id}/submit")
    auth.sign_in(world["admin"])
    auth.post(f"/admin/approvals/{assistant.id}/reject", {"reason": "Shorter, please"})
    auth.sign_in(world["owner"])
    prompt = assistant.ordered_prompts()[1]
    form = {"name": "Summarize", "content": new_content, "model_id": world["model"].id}
    auth.post(f"/assistants/{assistant.id}/prompts/{prompt.id}", form)
    auth.post(f"/assistants/{assistant.id}/submit")
    return assistant


def test_versions_are_listed_and_the_diff_marks_changed_words_escaped(client, auth, world):
    assistant = _two_versions(auth, world)
    response = client.get(f"/assistants/{assistant.id}/versions")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Shorter, please" in page and "Waiting for review" in page
    assert "Version 1 → Version 2" in page
    # Side by side: the old text on the left, the new one with its new words marked.
    assert "Summarize: {{prompt_1_output}}" in page
    assert "Summarize <ins>&lt;b&gt;briefly&lt;/b&gt;</ins>: {{prompt_1_output}}" in page
    assert "<b>" not in page
    assert "Unchanged: Details, Field “Your text” ({{user_input}}), Prompt 1 “Analyze”" in page


def test_compare_any_two_and_the_fragment_for_htmx(client, auth, world):
    assistant = _two_versions(auth, world, "Summarize in one line: {{prompt_1_output}}")
    url = f"/assistants/{assistant.id}/versions?old=2&new=1"
    fragment = client.get(url, headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "Version 2 → Version 1" in fragment
    assert "<del>in one line</del>" in fragment
    same = client.get(f"/assistants/{assistant.id}/versions?old=2&new=0").get_data(as_text=True)
    assert "No differences" in same
    everything = client.get(f"/assistants/{assistant.id}/versions?old=1&new=2&all=1")
    assert "Analyze this: {{user_input}}" in everything.get_data(as_text=True)
    # Unknown numbers fall back to the defaults instead of failing.
    assert client.get(f"/assistants/{assistant.id}/versions?old=77&new=x").status_code == 200


def test_a_draft_without_versions_shows_itself(client, auth, world):
    auth.sign_in(world["owner"])
    page = client.get(f"/assistants/{world['assistant'].id}/versions").get_data(as_text=True)
    assert "No versions yet" in page and "Analyze this: {{user_input}}" in page


@pytest.mark.parametrize(("who", "status"), [("other", 404), ("student", 403), ("admin", 200)])
def test_versions_are_for_owner_and_administrators(client, auth, world, who, status):
    if who == "admin":
        auth.sign_in(world["admin"])
    else:
        auth.sign_in(roles=("staff",) if who == "other" else ("student",))
    assert client.get(f"/assistants/{world['assistant'].id}/versions").status_code == status


# --- the catalog -----------------------------------------------------------------------------
@pytest.fixture
def catalog(make, world):
    owner = world["owner"]
    make.assistant(user=owner, name="Staff helper", description="Plans lessons", status="approved")
    make.assistant(
        user=owner,
        name="Homework buddy",
        description="Explains <maths> step by step",
        status="approved",
        audience=["staff", "student"],
        image_path="calculator",
    )
    make.assistant(user=owner, name="Secret draft", description="Plans lessons")
    make.assistant(user=owner, name="Waiting one", status="pending_approval")
    make.assistant(user=owner, name="Retired one", status="disabled")
    make.assistant(user=owner, name="Turned down", status="rejected")
    return world


def _names(html: str) -> set[str]:
    names = {a.name for a in Assistant.select()}
    return {name for name in names if f">{name}</h2>" in html}


def test_staff_see_approved_assistants_for_staff_only(client, auth, catalog):
    auth.sign_in(roles=("staff",))
    page = client.get("/catalog").get_data(as_text=True)
    assert _names(page) == {"Staff helper", "Homework buddy"}
    assert "Explains &lt;maths&gt; step by step" in page
    assert page.count(">Run</a>") == 0 and page.count("Run</a>") == 2
    assert "Make a copy" in page  # authors may copy what they can see


def test_students_see_only_what_includes_students(client, auth, catalog):
    auth.sign_in(roles=("student",))
    page = client.get("/catalog").get_data(as_text=True)
    assert _names(page) == {"Homework buddy"}
    assert "Make a copy" not in page
    staff_only = Assistant.get(Assistant.name == "Staff helper")
    assert client.get(f"/assistants/{staff_only.id}/run").status_code == 404


def test_active_search_answers_the_fragment_and_works_without_js(client, auth, catalog):
    auth.sign_in(roles=("staff",))
    page = client.get("/catalog").get_data(as_text=True)
    assert 'hx-trigger="input changed delay:300ms from:#catalog-q, search from:#catalog-q' in page
    assert 'method="get" action="/catalog"' in page
    fragment = client.get("/catalog?q=LESSONS", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and _names(fragment) == {"Staff helper"}
    plain = client.get("/catalog?q=maths").get_data(as_text=True)
    assert "<html" in plain and _names(plain) == {"Homework buddy"}
    none = client.get("/catalog?q=<zzz>", headers=HX).get_data(as_text=True)
    assert "No assistant matches “&lt;zzz&gt;”" in none


def test_approval_puts_it_in_the_catalog_and_disable_takes_it_out(client, auth, world):
    assistant = world["assistant"]
    auth.sign_in(world["owner"])
    auth.post(f"/assistants/{assistant.id}/submit")
    auth.sign_in(roles=("staff",))
    assert "Seed chain" not in client.get("/catalog").get_data(as_text=True)
    auth.sign_in(world["admin"])
    auth.post(f"/admin/approvals/{assistant.id}/approve")
    staff = auth.sign_in(roles=("staff",))
    assert _names(client.get("/catalog").get_data(as_text=True)) == {"Seed chain"}
    auth.sign_in(roles=("student",))
    assert _names(client.get("/catalog").get_data(as_text=True)) == set()
    auth.sign_in(world["admin"])
    auth.post(f"/assistants/{assistant.id}/disable")
    auth.sign_in(staff)
    assert _names(client.get("/catalog").get_data(as_text=True)) == set()
