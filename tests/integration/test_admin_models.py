"""Administrators list, add, edit, test, deactivate and activate models — validated and audited."""

from __future__ import annotations

import re
import socket
from decimal import Decimal

import pytest

from app.chain.lint import lint
from app.demo import ensure_demo_model
from app.models import AIModel
from app.models.audit import AuditEvent

HX = {"HX-Request": "true"}
FORM = {
    "name": "GPT-4o mini",
    "model_id": "openai/gpt-4o-mini",
    "provider": "openai",
    "api_base": "",
    "api_key_env": "OPENAI_API_KEY",
    "max_tokens": "128000",
    "input_cost_per_1k": "0.00015",
    "output_cost_per_1k": "0.0006",
}
REFUSED_ADDRESS = "it points at the cloud metadata service or a link-local address"


@pytest.fixture
def admin(auth):
    return auth.sign_in(roles=("administrator",))


def row_html(html: str, model: AIModel) -> str:
    match = re.search(rf'<tr id="model-{model.id}">.*?</tr>', html, re.S)
    assert match, f"no row for model {model.id}"
    return match.group(0)


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="form-field__error" id="f-{name}-error">([^<]*)</p>', html)
    assert match, f"no error shown beside {name}"
    return match.group(1)


def text(html: str) -> str:
    """The visible words, as a reader sees them (tags out, entities decoded, spaces collapsed)."""
    import html as html_lib

    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- the list --------------------------------------------------------------------------------
def test_list_shows_key_state_prices_and_usage_never_a_key(client, auth, admin, make, monkeypatch):
    monkeypatch.setenv("SCHOOL_API_KEY", "sk-very-secret-value-123456")
    monkeypatch.delenv("NOWHERE_API_KEY", raising=False)
    priced = make.model(
        name="Priced",
        api_key_env="SCHOOL_API_KEY",
        max_tokens=128000,
        input_cost_per_1k=Decimal("0.00015"),
        output_cost_per_1k=Decimal("0.0006"),
    )
    mapped = make.model(name="Mapped", model_id="openai/gpt-4o-mini", api_key_env="NOWHERE_API_KEY")
    unknown = make.model(
        name="Local", model_id="openai/llama3", api_base="http://127.0.0.1:11434/v1"
    )
    users = [make.assistant(prompts=[{"name": "A", "model": priced}]) for _ in range(2)]
    html = client.get("/admin/models").get_data(as_text=True)
    assert "sk-very-secret-value-123456" not in html
    first = text(row_html(html, priced))
    assert "SCHOOL_API_KEY set" in first and "128,000" in first
    assert "$0.00015 / $0.0006 Active Used by 2 assistants" in first
    for assistant in users:
        assert f'href="/assistants/{assistant.id}/edit"' in row_html(html, priced)
    second = text(row_html(html, mapped))
    assert "NOWHERE_API_KEY missing" in second
    assert "$0.00015 / $0.0006 priced by litellm's map Active Not used" in second
    third = text(row_html(html, unknown))
    assert "http://127.0.0.1:11434/v1 No key" in third and "unpriced" in third


def test_list_answers_its_fragment_to_htmx(client, admin, make):
    make.model(name="Only one")
    response = client.get("/admin/models", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="model-table">') and "Only one" in html
    assert "HX-Request" in response.headers["Vary"]


def test_admin_tabs_link_people_and_models(client, admin):
    people = client.get("/admin/users").get_data(as_text=True)
    assert re.search(r'href="/admin/users" aria-current="page">People</a>', people)
    assert re.search(r'href="/admin/models">Models</a>', people)
    models = client.get("/admin/models").get_data(as_text=True)
    assert re.search(r'href="/admin/models" aria-current="page">Models</a>', models)


# --- add and edit ----------------------------------------------------------------------------
def test_admin_adds_a_model_and_it_is_audited(client, auth, admin):
    response = auth.post("/admin/models/new", FORM)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/models"
    model = AIModel.get(AIModel.model_id == "openai/gpt-4o-mini")
    assert (model.name, model.provider, model.api_key_env, model.max_tokens) == (
        "GPT-4o mini",
        "openai",
        "OPENAI_API_KEY",
        128000,
    )
    assert model.api_base is None and model.is_active
    assert (model.input_cost_per_1k, model.output_cost_per_1k) == (
        Decimal("0.00015"),
        Decimal("0.0006"),
    )
    event = AuditEvent.get(AuditEvent.action == "model.created")
    assert event.target_id == str(model.id) and event.actor_id == admin.id
    assert event.summary == "Added the model GPT-4o mini (openai/gpt-4o-mini, openai)"
    assert event.details["api_key_env"] == "OPENAI_API_KEY"
    assert "GPT-4o mini added." in client.get("/admin/models").get_data(as_text=True)


def test_htmx_add_answers_hx_redirect(client, auth, admin):
    response = auth.post("/admin/models/new", FORM, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/models"


def test_every_problem_is_shown_beside_its_field_and_nothing_typed_is_lost(client, auth, admin):
    bad = {
        "name": "  ",
        "model_id": "open ai/gpt",
        "provider": "cohere",
        "api_base": "ftp://files.example",
        "api_key_env": "openai key",
        "max_tokens": "0",
        "input_cost_per_1k": "-1",
        "output_cost_per_1k": "cheap",
    }
    response = auth.post("/admin/models/new", bad, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert html.lstrip().startswith('<form id="model-form"')
    assert field_error(html, "name") == "Enter a name (up to 255 characters)."
    assert field_error(html, "model_id").startswith("Write a litellm model name such as")
    assert field_error(html, "provider") == "Choose a provider from the list."
    assert field_error(html, "api_base").startswith("Enter an http:// or https:// address")
    assert field_error(html, "api_key_env").startswith("Enter the NAME of an environment variable")
    assert "greater than 0" in field_error(html, "max_tokens")
    assert field_error(html, "input_cost_per_1k").startswith("Enter the input price")
    assert field_error(html, "output_cost_per_1k").startswith("Enter the output price")
    for typed in ('value="open ai/gpt"', 'value="ftp://files.example"', 'value="cheap"'):
        assert typed in html
    assert AIModel.select().count() == 0
    assert not AuditEvent.select().where(AuditEvent.action.startswith("model.")).exists()


def test_without_javascript_a_refused_form_is_the_whole_page(client, auth, admin):
    response = auth.post("/admin/models/new", {**FORM, "name": ""})
    assert response.status_code == 422 and "<html" in response.get_data(as_text=True)


def test_key_variable_must_end_in_api_key_unless_allowlisted(client, auth, admin, app, monkeypatch):
    form = {**FORM, "api_key_env": "SCHOOL_TOKEN"}
    refused = auth.post("/admin/models/new", form, headers=HX).get_data(as_text=True)
    assert field_error(refused, "api_key_env") == (
        "SCHOOL_TOKEN is not allowed: a key variable&#39;s name must end in _API_KEY."
    )
    monkeypatch.setitem(app.config, "API_KEY_ENV_ALLOWLIST", ("SCHOOL_TOKEN",))
    assert auth.post("/admin/models/new", form).status_code == 303
    assert AIModel.get(AIModel.model_id == FORM["model_id"]).api_key_env == "SCHOOL_TOKEN"


@pytest.mark.parametrize(
    "address",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",
        "http://2852039166/",
        "http://0xA9FEA9FE/",
        "http://169.254.169.254./",
        "http://[fe80::1]:8080/v1",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "https://metadata.google.internal/computeMetadata/v1/",
    ],
)
def test_metadata_and_link_local_addresses_are_refused(client, auth, admin, address):
    form = {**FORM, "api_base": address}
    html = auth.post("/admin/models/new", form, headers=HX).get_data(as_text=True)
    assert REFUSED_ADDRESS in field_error(html, "api_base")
    assert AIModel.select().count() == 0


def test_addresses_with_credentials_are_refused_and_loopback_is_fine(client, auth, admin):
    html = auth.post(
        "/admin/models/new", {**FORM, "api_base": "http://me:pw@llm.example/v1"}, headers=HX
    ).get_data(as_text=True)
    assert field_error(html, "api_base").startswith("Don&#39;t put a user name or password")
    ok = auth.post("/admin/models/new", {**FORM, "api_base": "http://127.0.0.1:11434/v1"})
    assert ok.status_code == 303


def test_both_prices_or_neither(client, auth, admin):
    html = auth.post("/admin/models/new", {**FORM, "output_cost_per_1k": ""}, headers=HX).get_data(
        as_text=True
    )
    assert field_error(html, "output_cost_per_1k") == "Give both prices, or neither (unpriced)."
    neither = {**FORM, "input_cost_per_1k": "", "output_cost_per_1k": ""}
    assert auth.post("/admin/models/new", neither).status_code == 303
    assert not AIModel.get(AIModel.model_id == FORM["model_id"]).is_priced


def test_model_names_are_unique_and_demo_is_not_a_choice(client, auth, admin, make):
    make.model(model_id="openai/gpt-4o-mini")
    html = auth.post("/admin/models/new", FORM, headers=HX).get_data(as_text=True)
    assert field_error(html, "model_id") == "Another model already uses this model name."
    demo = {**FORM, "model_id": "demo/other", "provider": "demo"}
    html = auth.post("/admin/models/new", demo, headers=HX).get_data(as_text=True)
    assert field_error(html, "provider") == "Choose a provider from the list."


def test_openai_compatible_server_needs_its_address_and_prefix(client, auth, admin):
    form = {**FORM, "provider": "openai-compatible", "model_id": "llama3", "api_base": ""}
    html = auth.post("/admin/models/new", form, headers=HX).get_data(as_text=True)
    assert field_error(html, "api_base") == "An OpenAI-compatible server needs its address."
    assert field_error(html, "model_id").startswith("For an OpenAI-compatible server, start")


def test_editing_saves_and_audits_what_changed(client, auth, admin, make):
    model = make.model(name="Old name", max_tokens=8000, api_key_env="OPENAI_API_KEY")
    page = client.get(f"/admin/models/{model.id}/edit").get_data(as_text=True)
    assert 'value="Old name"' in page and 'value="8000"' in page
    form = {
        "name": "New name",
        "model_id": model.model_id,
        "provider": "openai",
        "api_key_env": "OPENAI_API_KEY",
        "max_tokens": "16000",
    }
    response = auth.post(f"/admin/models/{model.id}/edit", form)
    assert response.status_code == 303
    saved = AIModel.get_by_id(model.id)
    assert (saved.name, saved.max_tokens) == ("New name", 16000)
    event = AuditEvent.get(AuditEvent.action == "model.edited")
    assert event.details == {
        "changes": {"name": ["Old name", "New name"], "max_tokens": ["8000", "16000"]}
    }
    assert event.summary == (
        "Edited the model New name: name Old name → New name; context window 8000 → 16000"
    )
    again = auth.post(f"/admin/models/{model.id}/edit", form)
    assert again.status_code == 303
    assert AuditEvent.select().where(AuditEvent.action.startswith("model.")).count() == 1


def test_the_demo_row_keeps_its_wiring(client, auth, admin):
    demo = ensure_demo_model()
    form = {"name": "Practice model", "model_id": "openai/gpt-4o", "provider": "openai"}
    assert auth.post(f"/admin/models/{demo.id}/edit", form).status_code == 303
    saved = AIModel.get_by_id(demo.id)
    assert (saved.name, saved.model_id, saved.provider) == (
        "Practice model",
        "demo/offline",
        "demo",
    )


# --- deactivate and activate -----------------------------------------------------------------
def test_deactivating_lists_users_first_then_flags_their_prompts(client, auth, admin, make):
    model, other = make.model(name="Retiring"), make.model(name="Other")
    main = make.assistant(
        name="Essay helper",
        prompts=[{"name": "Draft", "content": "Plan an essay.", "model": model}],
    )
    spare = make.assistant(
        name="Quiz maker",
        prompts=[{"name": "Ask", "content": "Ask.", "model": other, "fallback_model": model}],
    )
    confirm = client.get(f"/admin/models/{model.id}/deactivate", headers=HX)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section class="card stack"')
    assert f'<a href="/assistants/{main.id}/edit">Essay helper</a>' in html
    assert f'<a href="/assistants/{spare.id}/edit">Quiz maker</a>' in html
    assert "— main model, Draft" in text(html) and "— fallback model, Draft" in text(html)
    assert AIModel.get_by_id(model.id).is_active  # nothing changed yet
    page = client.get(f"/admin/models/{model.id}/deactivate").get_data(as_text=True)
    assert "<html" in page and "Deactivate Retiring?" in page

    response = auth.post(f"/admin/models/{model.id}/deactivate")
    assert response.status_code == 303
    assert not AIModel.get_by_id(model.id).is_active
    event = AuditEvent.get(AuditEvent.action == "model.deactivated")
    assert event.details == {"assistants": [main.id, spare.id]}
    assert event.summary.endswith("used by: Essay helper, Quiz maker")
    listing = client.get("/admin/models").get_data(as_text=True)
    assert "2 assistants still use it" in listing
    assert "Inactive Still in use Used by 2 assistants" in text(row_html(listing, model))
    assert [f.kind for f in lint(main.definition())] == ["model_inactive"]
    assert "fallback_model_inactive" in [f.kind for f in lint(spare.definition())]


def test_activating_from_the_list_answers_the_row(client, auth, admin, make):
    model = make.model(name="Back again", is_active=False)
    response = auth.post(f"/admin/models/{model.id}/activate", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="model-{model.id}">')
    assert '<span class="badge badge--done">Active</span>' in html
    assert AIModel.get_by_id(model.id).is_active
    assert AuditEvent.get(AuditEvent.action == "model.activated").target_id == str(model.id)
    assert auth.post(f"/admin/models/{model.id}/activate").status_code == 303
    model_events = AuditEvent.select().where(AuditEvent.action.startswith("model."))
    assert model_events.count() == 1  # already active: nothing to record


# --- test connection -------------------------------------------------------------------------
@pytest.fixture
def fake_model(make, fake_openai, monkeypatch, app):
    monkeypatch.setenv("FAKE_API_KEY", "sk-test-0123456789abcdef")
    monkeypatch.setitem(app.config, "MODEL_TEST_TIMEOUT_SECONDS", 0.5)
    return make.model(
        name="Fake GPT",
        model_id="openai/fake-model",
        api_base=fake_openai.base_url,
        api_key_env="FAKE_API_KEY",
    )


def test_connection_shows_latency_and_tokens(client, auth, admin, fake_model, fake_openai):
    response = auth.post(f"/admin/models/{fake_model.id}/test", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    words = text(html)
    assert "Connected: Fake GPT answered." in words
    assert re.search(r"First token after \d+ ms Whole answer in \d+ ms", words)
    assert "Tokens 2 in, 3 out Answer echo: Say OK." in words
    assert "sk-test-0123456789abcdef" not in html
    [request] = fake_openai.requests
    assert request.body["messages"] == [{"role": "user", "content": "Say OK."}]
    assert request.body["max_tokens"] == 5 and request.body["stream"] is True


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        ("fail:401", "The provider refused the API key (HTTP 401)."),
        ("fail:404", "The provider does not know the model openai/fake-model (HTTP 404)."),
        ("hang", "The model did not start answering within 0.5 seconds."),
    ],
)
def test_connection_errors_in_plain_words(
    client, auth, admin, fake_model, fake_openai, behaviour, words
):
    fake_openai.script(behaviour)
    html = auth.post(f"/admin/models/{fake_model.id}/test", headers=HX).get_data(as_text=True)
    assert f"The test failed. {words}" in text(html)


def test_connection_to_a_closed_port_is_unreachable(client, auth, admin, make):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = make.model(model_id="openai/fake-model", api_base=f"http://127.0.0.1:{port}/v1")
    html = auth.post(f"/admin/models/{model.id}/test", headers=HX).get_data(as_text=True)
    assert "The test failed. Could not reach the provider. Check the endpoint address" in text(html)


def test_connection_without_the_key_says_so(client, auth, admin, make, monkeypatch):
    monkeypatch.delenv("ABSENT_API_KEY", raising=False)
    model = make.model(name="Keyless", api_key_env="ABSENT_API_KEY")
    html = auth.post(f"/admin/models/{model.id}/test", headers=HX).get_data(as_text=True)
    assert (
        "The API key for Keyless is not set: the server has no ABSENT_API_KEY environment variable."
        in text(html)
    )


def test_connection_to_the_offline_demo_without_javascript(client, auth, admin):
    demo = ensure_demo_model()
    response = auth.post(f"/admin/models/{demo.id}/test")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html  # the edit page, with the result
    assert "Tokens 2 in, 5 out Answer **Offline demo — no AI.**" in text(html)


# --- who may ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["staff", "student"])
def test_only_administrators(client, auth, make, role):
    model = make.model()
    auth.sign_in(roles=(role,))
    assert client.get("/admin/models").status_code == 403
    assert client.get(f"/admin/models/{model.id}/edit").status_code == 403
    assert auth.post("/admin/models/new", FORM).status_code == 403
    assert auth.post(f"/admin/models/{model.id}/test").status_code == 403
    assert auth.post(f"/admin/models/{model.id}/deactivate").status_code == 403
    assert AIModel.get_by_id(model.id).is_active and AIModel.select().count() == 1


def test_unknown_ids_are_404(client, auth, admin):
    assert client.get("/admin/models/999999/edit").status_code == 404
    assert client.get("/admin/models/999999/deactivate").status_code == 404
    for action in ("edit", "test", "deactivate", "activate"):
        assert auth.post(f"/admin/models/999999/{action}", FORM).status_code == 404


def test_every_form_carries_a_csrf_token(client, admin, make):
    model = make.model(is_active=False)
    for url in ("/admin/models", f"/admin/models/{model.id}/edit", "/admin/models/new"):
        html = client.get(url).get_data(as_text=True)
        forms = len(re.findall(r"<form\b", html))
        assert forms and len(re.findall(r'name="csrf_token"', html)) == forms
