"""Who may use the builder: owner and administrators edit; other staff get 404; students 403."""

from __future__ import annotations

import pytest

from app.models import Assistant, ChainPrompt, InputField

FIELD = {"label": "Topic", "name": "topic", "field_type": "short_text"}

# (method, path, form) — {a}, {f}, {p}: the assistant, one of its fields, one of its prompts.
ROUTES = [
    ("GET", "/assistants/{a}/edit", None),
    ("POST", "/assistants/{a}/details", {"name": "Renamed", "audience": ["staff"]}),
    ("GET", "/assistants/{a}/preview", None),
    ("POST", "/assistants/{a}/preview", {"in_user_input": "hi"}),
    ("GET", "/assistants/{a}/fields", None),
    ("POST", "/assistants/{a}/fields", FIELD),
    ("GET", "/assistants/{a}/fields/{f}/edit", None),
    ("POST", "/assistants/{a}/fields/{f}", {**FIELD, "name": "user_input"}),
    ("POST", "/assistants/{a}/fields/{f}/move", {"direction": "down"}),
    ("POST", "/assistants/{a}/fields/{f}/delete", {}),
    ("POST", "/assistants/{a}/fields/check-name", {"name": "x"}),
    ("GET", "/assistants/{a}/prompts", None),
    ("GET", "/assistants/{a}/prompts/new", None),
    ("POST", "/assistants/{a}/prompts", "prompt"),
    ("GET", "/assistants/{a}/prompts/{p}/edit", None),
    ("POST", "/assistants/{a}/prompts/{p}", "prompt"),
    ("POST", "/assistants/{a}/prompts/check", {"content": "x"}),
    ("POST", "/assistants/{a}/prompts/{p}/check", {"content": "x"}),
    ("POST", "/assistants/{a}/prompts/{p}/move", {"direction": "up"}),
    ("POST", "/assistants/{a}/prompts/{p}/stage", {"action": "join"}),
    ("POST", "/assistants/{a}/prompts/{p}/delete", {"confirm": "yes"}),
]
ACTORS = ["owner", "admin", "other_staff", "student", "anonymous"]


@pytest.fixture
def world(make):
    owner = make.user(roles=("staff",))
    model = make.model()
    assistant = make.assistant(
        user=owner,
        name="Owned",
        fields=[{"name": "user_input"}, {"name": "second"}],
        prompts=[
            {"name": "A", "content": "{{user_input}}", "model": model},
            {"name": "B", "content": "{{prompt_1_output}}", "model": model, "position": 1},
        ],
    )
    field = assistant.ordered_fields()[0]
    prompt = assistant.ordered_prompts()[1]
    return {
        "owner": owner,
        "assistant": assistant,
        "field": field,
        "prompt": prompt,
        "model": model,
    }


def act_as(actor, auth, make, world):
    if actor == "owner":
        auth.sign_in(world["owner"])
    elif actor == "admin":
        auth.sign_in(roles=("administrator",))
    elif actor == "other_staff":
        auth.sign_in(roles=("staff",))
    elif actor == "student":
        make.user(roles=("administrator",))
        auth.sign_in(roles=("student",))


def request(auth, client, method, path, data, world):
    url = path.format(a=world["assistant"].id, f=world["field"].id, p=world["prompt"].id)
    if data == "prompt":
        data = {"name": "Prompt", "content": "{{user_input}}", "model_id": world["model"].id}
    if method == "GET":
        return client.get(url)
    return auth.post(url, data)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("method", "path", "data"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_matrix(client, auth, make, world, actor, method, path, data):
    act_as(actor, auth, make, world)
    response = request(auth, client, method, path, data, world)
    if actor in ("owner", "admin"):
        assert response.status_code in (200, 303), response.get_data(as_text=True)[:1500]
    elif actor == "other_staff":
        assert response.status_code == 404
    elif actor == "student":
        assert response.status_code == 403
    else:
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    if actor not in ("owner", "admin"):
        assistant = Assistant.get_by_id(world["assistant"].id)
        assert assistant.name == "Owned"
        assert InputField.select().count() == 2 and ChainPrompt.select().count() == 2


@pytest.mark.parametrize(
    ("actor", "status"), [("owner", 200), ("admin", 200), ("student", 403), ("anonymous", 302)]
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/assistants"), ("GET", "/assistants/new")])
def test_pages_without_an_id(client, auth, make, world, actor, status, method, path):
    act_as(actor, auth, make, world)
    assert client.get(path).status_code == status


def test_students_cannot_create(client, auth, make):
    make.user(roles=("administrator",))
    auth.sign_in(roles=("student",))
    response = auth.post("/assistants/new", {"name": "Sneaky", "audience": ["student"]})
    assert response.status_code == 403 and Assistant.select().count() == 0


def test_htmx_requests_when_signed_out_are_sent_to_sign_in(client, world):
    url = f"/assistants/{world['assistant'].id}/edit"
    response = client.get(url, headers={"HX-Request": "true"})
    assert "/sign-in" in response.headers["HX-Redirect"]


def test_parts_of_another_assistant_are_404_under_mine(client, auth, make, world):
    me = auth.sign_in(world["owner"])
    mine = make.assistant(user=me, name="Also mine")
    for path in (
        f"/assistants/{mine.id}/fields/{world['field'].id}/edit",
        f"/assistants/{mine.id}/prompts/{world['prompt'].id}/edit",
    ):
        assert client.get(path).status_code == 404
    delete = f"/assistants/{mine.id}/prompts/{world['prompt'].id}/delete"
    assert auth.post(delete, {"confirm": "yes"}).status_code == 404
    assert ChainPrompt.select().count() == 2
