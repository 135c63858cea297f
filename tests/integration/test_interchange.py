"""AI Studio JSON import and export: the admin page, the API, real runs, round trips."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.chain.demo_provider import configure_demo
from app.chain.queue import start_execution
from app.demo import ensure_demo_model
from app.models import AIModel, Assistant, AuditEvent, ChainPrompt, Execution, PromptResult
from tests.integration.api_support import assert_problem, bearer, drain, reset_rate_limits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aistudio"
WRITE = "assistants:write"
DOCUMENTED = (
    "single_prompt",
    "three_step_chain",
    "parallel_then_synthesis",
    "all_field_types",
)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture(autouse=True)
def _fast(app):
    reset_rate_limits()
    configure_demo(delay_ms=0)
    yield
    configure_demo(delay_ms=None)


@pytest.fixture
def admin(auth):
    return auth.sign_in(roles=("administrator",))


def upload(auth, name: str, data: bytes | None = None, **kwargs):
    payload = data if data is not None else fixture_bytes(name)
    return auth.post(
        "/admin/interchange/import",
        {"file": (io.BytesIO(payload), f"{name}.json")},
        content_type="multipart/form-data",
        **kwargs,
    )


def api_import(client, user, body: bytes, scopes=(WRITE,)):
    headers = {**bearer(user, *scopes), "Content-Type": "application/json"}
    return client.post("/api/v1/assistants/import", data=body, headers=headers)


def api_export(client, user, ids, scopes=(WRITE,)):
    return client.post(
        "/api/v1/assistants/export", json={"assistant_ids": ids}, headers=bearer(user, *scopes)
    )


def without_volatile(document: dict) -> dict:
    """A document less what a round trip may change: exported_at and each status."""
    copy = json.loads(json.dumps(document))
    copy.pop("exported_at")
    for assistant in copy["assistants"]:
        assistant.pop("status")
    return copy


def run_to_end(assistant: Assistant, inputs: dict) -> Execution:
    execution = start_execution(assistant, assistant.user, inputs)
    drain()
    return Execution.get_by_id(execution.id)


def results(execution: Execution) -> list[PromptResult]:
    return list(
        PromptResult.select()
        .where(PromptResult.execution == execution.id)
        .order_by(PromptResult.step)
    )


# --- the documented examples, imported on the page and run on the offline demo model -----------
INPUTS = {
    "single_prompt": {"draft": "hi, your kid forgot his lunch again, pls pack one"},
    "three_step_chain": {"topic": "The water cycle", "grade_level": "6"},
    "parallel_then_synthesis": {"essay": "Dogs is the best pet.", "audience": "teacher"},
    "all_field_types": {
        "trip_title": "Science museum",
        "notes": "Budget 400 dollars",
        "grade": "5",
        "goals": ["science", "careers"],
        "policy_document": "",
    },
}


@pytest.mark.parametrize("name", DOCUMENTED)
def test_documented_examples_import_and_run_on_the_demo_model(client, auth, admin, name):
    demo = ensure_demo_model()
    response = upload(auth, name)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    assert "1 of 1 assistant imported, pending approval" in html
    [assistant] = Assistant.select()
    assert (assistant.status, assistant.user_id) == ("pending_approval", admin.id)
    assert f'href="/assistants/{assistant.id}/edit"' in html
    assert "Offline demo" in html and "no other model exists: the offline demo" in html
    assert "No problems found." in html
    assert all(p.model_id == demo.id for p in assistant.ordered_prompts())
    for page in (f"/assistants/{assistant.id}/edit", f"/assistants/{assistant.id}/run"):
        assert client.get(page).status_code == 200  # a foreign image_path shows our default icon
    done = run_to_end(assistant, INPUTS[name])
    assert done.status == "completed", done.error_message
    steps = results(done)
    assert [r.status for r in steps] == ["completed"] * len(assistant.ordered_prompts())
    for result in steps:  # each prompt got its inputs and every earlier output it names
        assert "{{" not in result.input_data["processed_content"]
        assert "${" not in result.input_data["processed_content"]


def test_three_step_chain_passes_outputs_along_as_ai_studio_meant(client, auth, admin):
    ensure_demo_model()
    html = upload(auth, "three_step_chain").get_data(as_text=True)
    assert "In “Activities”: {{prompt_0_output}} → {{prompt_1_output}}" in html
    assert "In “Exit ticket”: ${prompt_0_output} → ${prompt_1_output}" in html
    assistant = Assistant.get()
    prompts = assistant.ordered_prompts()
    assert [p.position for p in prompts] == [0, 1, 2]
    assert prompts[2].content.startswith("Lesson:\n${prompt_1_output}\n\nActivities:\n{{ prompt_2")
    done = run_to_end(assistant, INPUTS["three_step_chain"])
    outline, activities, ticket = results(done)
    assert activities.input_data["processed_content"].endswith(outline.output_data)
    assert outline.output_data in ticket.input_data["processed_content"]
    assert activities.output_data in ticket.input_data["processed_content"]
    assert outline.output_data.startswith("**Offline demo — no AI.**")


def test_parallel_group_collapses_into_one_stage_and_synthesis_gets_all(client, auth, admin):
    ensure_demo_model()
    html = upload(auth, "parallel_then_synthesis").get_data(as_text=True)
    assert "Parallel group 1" in html and "runs together in one stage" in html
    assistant = Assistant.get()
    prompts = assistant.ordered_prompts()
    assert [(p.name, p.position, p.sort_order) for p in prompts] == [
        ("Grammar reviewer", 0, 0),
        ("Argument reviewer", 0, 1),
        ("Style reviewer", 0, 2),
        ("Synthesis", 1, 0),
    ]
    assert prompts[3].input_mapping == {"grammar": "{{prompt_1_output}}"}
    assert (
        "{{prompt_2_output}}" in prompts[3].content and "{{prompt_3_output}}" in prompts[3].content
    )
    done = run_to_end(assistant, INPUTS["parallel_then_synthesis"])
    grammar, argument, style, synthesis = results(done)
    merged = synthesis.input_data["processed_content"]
    assert f"Grammar: {grammar.output_data}" in merged
    assert f"Argument: {argument.output_data}" in merged
    assert f"Style: {style.output_data}" in merged


def test_every_field_type_keeps_its_options_in_our_terms(client, auth, admin):
    ensure_demo_model()
    upload(auth, "all_field_types")
    fields = {f.name: f for f in Assistant.get().ordered_fields()}
    assert [f.field_type for f in fields.values()] == [
        "short_text",
        "long_text",
        "select",
        "multi_select",
        "file_upload",
    ]
    assert fields["trip_title"].options == {
        "placeholder": "Science museum visit",
        "required": True,
        "max_length": 120,
    }
    assert fields["notes"].options["rows"] == 6  # unknown to us: kept
    assert fields["goals"].options["min_selections"] == 1
    assert fields["goals"].options["max_selections"] == 3
    assert fields["goals"].options["default"] == ["science"]
    assert fields["policy_document"].options == {
        "accept": [".pdf", ".docx", ".txt", ".md"],
        "max_size_mb": 10,
        "multiple": False,
        "required": False,
    }


def test_the_run_form_applies_imported_options(client, auth, admin):
    ensure_demo_model()
    upload(auth, "all_field_types")
    assistant = Assistant.get()
    form = {"trip_title": "x" * 121, "grade": "5", "goals": ["science"] * 4}
    response = auth.post(f"/assistants/{assistant.id}/run", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use at most 120 characters" in html
    assert "Choose at most 3 options" in html


# --- refusals with plain messages ------------------------------------------------------------
def test_a_file_with_21_prompts_fails_alone_and_20_pass(client, auth, admin):
    ensure_demo_model()
    response = upload(auth, "too_many_prompts")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 of 2 assistants imported" in html
    assert "It has 21 prompts; the limit is 20." in html
    [imported] = Assistant.select()
    assert imported.name == "Twenty steps" and imported.prompts.count() == 20


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("wrong_version", "only AI Studio&#39;s format version &#34;1.0&#34; can be imported"),
        ("broken", "The file is not valid JSON: Expecting &#39;,&#39; delimiter at line 4"),
    ],
)
def test_unreadable_files_are_refused_with_a_message(client, auth, admin, name, message):
    response = upload(auth, name)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"{name}.json was not imported." in html and message in html
    assert Assistant.select().count() == 0
    refused = AuditEvent.get(AuditEvent.action == "assistants.import_refused")
    assert refused.actor_id == admin.id and name in refused.summary


def test_an_11_mib_file_is_refused_on_the_page(client, auth, admin):
    big = b'{"version": "1.0", "assistants": [], "pad": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    response = upload(auth, "huge", big)
    assert response.status_code == 413
    assert "The file is larger than 10 MiB" in response.get_data(as_text=True)
    fragment = upload(auth, "huge", big, headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 422  # htmx swaps 422, not 413
    assert "<html" not in html and "The file is larger than 10 MiB" in html
    assert Assistant.select().count() == 0


def test_a_file_just_under_10_mib_is_read(client, auth, admin):
    ensure_demo_model()
    document = json.loads(fixture_bytes("single_prompt"))
    document["pad"] = ""
    size = len(json.dumps(document).encode())
    document["pad"] = "x" * (10 * 1024 * 1024 - size)
    body = json.dumps(document).encode()
    assert len(body) == 10 * 1024 * 1024
    assert upload(auth, "exactly", body).status_code == 200
    assert Assistant.select().count() == 1


def test_unknown_field_type_fails_that_assistant_only(client, auth, admin):
    ensure_demo_model()
    response = upload(auth, "unknown_field_type")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Input field 1 “event_date” has the type “date”, which this system does not have" in html
    assert [a.name for a in Assistant.select()] == ["Reading log coach"]


def test_a_model_that_maps_nowhere_takes_the_first_active_one_and_says_so(
    client, auth, admin, make
):
    ensure_demo_model()
    make.model(name="Old", model_id="openai/old", is_active=False)
    first = make.model(name="GPT-4o", model_id="openai/gpt-4o")
    make.model(name="Claude", model_id="anthropic/claude-3-5-sonnet", provider="anthropic")
    html = upload(auth, "unmapped_model").get_data(as_text=True)
    assert "“zephyr-ultra-9000” → GPT-4o (openai/gpt-4o): no match: the first active model" in html
    assert Assistant.get().ordered_prompts()[0].model_id == first.id


def test_without_any_model_it_arrives_with_the_finding(client, auth, admin):
    response = upload(auth, "unmapped_model")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "→ nothing: no model exists yet" in html
    assert "has no model. Choose one." in html
    assert ChainPrompt.get().model_id is None


def test_the_page_refuses_no_file_and_non_admins(client, auth, make):
    staff = auth.sign_in(roles=("staff",))
    assert client.get("/admin/interchange").status_code == 403
    assert upload(auth, "single_prompt").status_code == 403
    assert auth.post("/admin/interchange/export", {"assistant_ids": "1"}).status_code == 403
    assert staff and Assistant.select().count() == 0


def test_the_page_asks_for_a_file(client, auth, admin):
    response = auth.post("/admin/interchange/import", {}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose an AI Studio JSON file to import." in response.get_data(as_text=True)


def test_htmx_upload_answers_the_report_fragment(client, auth, admin):
    ensure_demo_model()
    response = upload(auth, "single_prompt", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="import-report"')
    # The export list comes along out of band, so the new assistant can be ticked at once.
    oob = html[html.index('<section id="export-section"') :]
    assert 'hx-swap-oob="true"' in oob.split(">")[0] and "Parent Email Polisher" in oob


def test_imports_write_the_audit_trail(client, auth, admin):
    ensure_demo_model()
    upload(auth, "unknown_field_type")
    imported = AuditEvent.get(AuditEvent.action == "assistant.imported")
    assistant = Assistant.get()
    assert (imported.actor_id, imported.target_id) == (admin.id, str(assistant.id))
    assert imported.details["source"] == "unknown_field_type.json"
    summary = AuditEvent.get(AuditEvent.action == "assistants.import")
    assert summary.details["imported"] == [assistant.id]
    assert summary.details["failed"][0]["name"] == "Field day scheduler"


# --- export, and round trips -------------------------------------------------------------------
def test_the_page_exports_the_ticked_assistants(client, auth, admin):
    ensure_demo_model()
    for name in ("single_prompt", "three_step_chain"):
        upload(auth, name)
    page = client.get("/admin/interchange").get_data(as_text=True)
    assert "Parent Email Polisher" in page and 'name="assistant_ids"' in page
    ids = [a.id for a in Assistant.select().order_by(Assistant.id)]
    response = auth.post("/admin/interchange/export", {"assistant_ids": [str(i) for i in ids]})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    document = response.get_json()
    assert [a["name"] for a in document["assistants"]] == [
        "Parent Email Polisher",
        "Lesson Plan Builder",
    ]
    chain = document["assistants"][1]
    assert "{{prompt_0_output}}" in chain["prompts"][1]["content"]  # AI Studio's numbering again
    exported = AuditEvent.get(AuditEvent.action == "assistants.exported")
    assert exported.details["assistant_ids"] == ids


def test_the_page_says_when_nothing_is_ticked(client, auth, admin):
    response = auth.post("/admin/interchange/export", {})
    assert response.status_code == 422
    assert "Tick at least one assistant to export." in response.get_data(as_text=True)


@pytest.mark.parametrize("name", DOCUMENTED)
def test_export_import_export_is_identical_but_for_time_and_status(client, make, name):
    admin = make.user(roles=("administrator",))
    make.model(name="GPT-4o", model_id="openai/gpt-4o")
    make.model(name="GPT-4o mini", model_id="openai/gpt-4o-mini")
    make.model(
        name="Claude 3.5 Sonnet", model_id="anthropic/claude-3-5-sonnet", provider="anthropic"
    )
    ensure_demo_model()
    first = api_import(client, admin, fixture_bytes(name)).get_json()
    [report] = first["assistants"]
    exported = api_export(client, admin, [report["assistant_id"]]).get_json()
    again = api_import(client, admin, json.dumps(exported).encode()).get_json()
    reexported = api_export(client, admin, [again["assistants"][0]["assistant_id"]]).get_json()
    assert without_volatile(reexported) == without_volatile(exported)
    assert exported["assistants"][0]["status"] == "pending_approval"
    assert again["assistants"][0]["renumbered"] == first["assistants"][0]["renumbered"]
    original = json.loads(fixture_bytes(name))["assistants"][0]
    ours = exported["assistants"][0]
    # The file as AI Studio wrote it comes back, but for what maps to another model here.
    for prompt, back in zip(original["prompts"], ours["prompts"], strict=True):
        assert (
            back["model_name"] == prompt["model_name"] or prompt["model_name"] == "gemini-1.5-flash"
        )
        assert {**back, "model_name": None} == {**prompt, "model_name": None}
    for field, back in zip(original["input_fields"], ours["input_fields"], strict=True):
        assert back == field


def test_round_trip_of_what_the_builder_makes(client, make):
    """Our own features survive: a shared stage, slugs, mappings, options, timeouts, icons."""
    admin = make.user(roles=("administrator",))
    model = make.model(name="GPT-4o", model_id="openai/gpt-4o")
    other = make.model(name="Llama", model_id="ollama/llama3", provider="ollama")
    choices = [{"value": "a", "label": "Apples"}, {"value": "b", "label": "Bananas"}]
    assistant = make.assistant(
        user=admin,
        name="Builder-made",
        description="All our features",
        image_path="sparkles",
        is_parallel=True,
        timeout_seconds=120,
        status="approved",
        fields=[
            {
                "name": "topic",
                "field_type": "short_text",
                "options": {"max_length": 50, "help": "h", "pattern": "[a-z]+"},
            },
            {
                "name": "fruit",
                "field_type": "multi_select",
                "options": {"choices": choices, "default": ["a"], "min_selections": None},
            },
            {
                "name": "doc",
                "field_type": "file_upload",
                "options": {"accept": [".txt", ".pdf"], "max_size_mb": 5},
            },
        ],
        prompts=[
            {"name": "Facts", "content": "Facts on {{topic}}", "model": model, "position": 0},
            {
                "name": "Myths",
                "content": "Myths on ${topic}",
                "model": other,
                "position": 0,
                "sort_order": 1,
                "parallel_group": 7,
            },
            {
                "name": "Merge",
                "content": "{{facts}} / {{prompt_2_output}} / {{m}}",
                "system_context": "Use {{fruit}}",
                "model": model,
                "position": 1,
                "input_mapping": {"m": "{{prompt_1_output}}"},
                "timeout_seconds": 30,
            },
        ],
    )
    exported = api_export(client, admin, [assistant.id]).get_json()
    merge = exported["assistants"][0]["prompts"][2]
    assert merge["content"] == "{{facts}} / {{prompt_1_output}} / {{m}}"
    assert merge["input_mapping"] == {"m": "{{prompt_0_output}}"}
    assert [p["model_name"] for p in exported["assistants"][0]["prompts"]] == [
        "gpt-4o",
        "llama3",
        "gpt-4o",
    ]
    doc = exported["assistants"][0]["input_fields"][2]["options"]
    assert doc == {"accept": ".txt,.pdf", "maxSize": 5 * 1024 * 1024}
    response = api_import(client, admin, json.dumps(exported).encode())
    assert response.status_code == 200
    [report] = response.get_json()["assistants"]
    assert report["errors"] == []
    # The shared stage is written as AI Studio reads one: own positions, one parallel_group.
    assert [(p["position"], p["parallel_group"]) for p in exported["assistants"][0]["prompts"]] == [
        (0, 8),
        (1, 8),
        (2, None),
    ]
    [note] = report["notes"]
    assert note.startswith("Parallel group 8 (“Facts” and “Myths”) runs together in one stage")
    assert report["findings"] == [
        {
            "severity": "warning",
            "message": "The input field “doc” ({{doc}}) is not used by any prompt.",
        }
    ]
    copy = Assistant.get_by_id(report["assistant_id"])
    assert (
        copy.definition()["prompts"][2]["content"]
        == assistant.definition()["prompts"][2]["content"]
    )
    assert [f.options for f in copy.ordered_fields()] == [
        f.options for f in assistant.ordered_fields()
    ]
    reexported = api_export(client, admin, [copy.id]).get_json()
    assert without_volatile(reexported) == without_volatile(exported)


# --- the API ------------------------------------------------------------------------------------
def test_api_import_answers_200_with_a_report_per_assistant(client, make):
    admin = make.user(roles=("administrator",))
    ensure_demo_model()
    response = api_import(client, admin, fixture_bytes("unknown_field_type"))
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["imported"] == 1
    failed, ok = body["assistants"]
    assert failed["imported"] is False and failed["assistant_id"] is None
    assert "has the type “date”" in failed["errors"][0]
    assert ok["links"] == {
        "self": f"/api/v1/assistants/{ok['assistant_id']}",
        "page": f"/assistants/{ok['assistant_id']}/edit",
    }
    event = AuditEvent.get(AuditEvent.action == "assistant.imported")
    assert event.details["via"] == "api" and event.details["token"]


def test_api_import_takes_a_multipart_file(client, make):
    admin = make.user(roles=("administrator",))
    ensure_demo_model()
    response = client.post(
        "/api/v1/assistants/import",
        data={"file": (io.BytesIO(fixture_bytes("single_prompt")), "export.json")},
        headers=bearer(admin, WRITE),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert Assistant.get().status == "pending_approval"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (fixture_bytes("wrong_version"), 'The file\'s version is "2.0"'),
        (fixture_bytes("broken"), "The file is not valid JSON"),
        (b'{"version": "1.0", "assistants": []}', "list of assistants is empty"),
        (b"[1, 2]", "not an AI Studio export"),
        (b"\xff\xfe\x00", "not text in UTF-8"),
    ],
)
def test_api_import_answers_422_when_the_file_is_unreadable(client, make, body, detail):
    admin = make.user(roles=("administrator",))
    problem = assert_problem(api_import(client, admin, body), 422)
    assert detail.lower() in problem["detail"].lower()


def test_api_import_answers_422_when_no_assistant_could_be_imported(client, make):
    admin = make.user(roles=("administrator",))
    document = json.loads(fixture_bytes("unknown_field_type"))
    document["assistants"] = document["assistants"][:1]
    problem = assert_problem(api_import(client, admin, json.dumps(document).encode()), 422)
    assert problem["imported"] == 0
    assert "has the type “date”" in problem["assistants"][0]["errors"][0]


def test_api_import_limits_its_body_to_10_mib_and_others_stay_at_1(client, make):
    admin = make.user(roles=("administrator",))
    big = b'{"version": "1.0", "pad": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    problem = assert_problem(api_import(client, admin, big), 413)
    assert "larger than 10 MiB" in problem["detail"]
    two_mib = {"assistant_ids": [1], "pad": "x" * (2 * 1024 * 1024)}
    response = client.post("/api/v1/assistants/export", json=two_mib, headers=bearer(admin, WRITE))
    assert_problem(response, 413)


def test_api_needs_an_administrator_with_the_write_scope(client, make):
    admin = make.user(roles=("administrator",))
    staff = make.user(roles=("staff",))
    body = fixture_bytes("single_prompt")
    assert_problem(client.post("/api/v1/assistants/import", data=body), 401)
    for user, scopes in (
        (staff, ("assistants:read", "assistants:execute")),
        (admin, ("assistants:read",)),
    ):
        problem = assert_problem(api_import(client, user, body, scopes), 403)
        assert "assistants:write" in problem["detail"]
        assert_problem(api_export(client, user, [1], scopes), 403)
    assert Assistant.select().count() == 0


def test_a_demoted_administrator_loses_import(client, make):
    admin = make.user(roles=("administrator",))
    headers = {**bearer(admin, WRITE), "Content-Type": "application/json"}
    admin.set_roles(["staff"])
    response = client.post(
        "/api/v1/assistants/import", data=fixture_bytes("single_prompt"), headers=headers
    )
    assert_problem(response, 403)


def test_api_export_validates_its_request(client, make):
    admin = make.user(roles=("administrator",))
    kept = make.assistant(user=admin)
    problem = assert_problem(api_export(client, admin, [kept.id, 999999]), 422)
    assert problem["errors"] == {"assistant_ids": "No assistant with id 999999."}
    problem = assert_problem(api_export(client, admin, []), 422)
    assert "assistant_ids" in problem["errors"]
    response = client.post(
        "/api/v1/assistants/export", json={"ids": [1]}, headers=bearer(admin, WRITE)
    )
    assert_problem(response, 422)


def test_api_export_writes_model_names_back_unambiguously(client, make):
    admin = make.user(roles=("administrator",))
    openai = make.model(name="GPT-4o", model_id="openai/gpt-4o")
    azure = make.model(name="GPT-4o on Azure", model_id="azure/gpt-4o", provider="azure")
    assistant = make.assistant(
        user=admin,
        prompts=[
            {"name": "A", "content": "x", "model": openai, "position": 0},
            {"name": "B", "content": "y", "model": azure, "position": 1},
        ],
    )
    document = api_export(client, admin, [assistant.id]).get_json()
    assert [p["model_name"] for p in document["assistants"][0]["prompts"]] == [
        "gpt-4o",  # the bare name maps back to the first of the two
        "azure/gpt-4o",
    ]
    assert AIModel.select().count() == 2


# --- the CLI ------------------------------------------------------------------------------------
def test_cli_imports_as_a_named_administrator_and_exports_back(runner, make, tmp_path):
    admin = make.user(roles=("administrator",), email="ops@school.example")
    ensure_demo_model()
    path = FIXTURES / "unknown_field_type.json"
    result = runner.invoke(args=["assistants", "import", str(path), "--as", admin.email])
    assert result.exit_code == 0, result.output
    assert "✗ 1. Field day scheduler: not imported" in result.output
    assert "1 of 2 imported." in result.output
    imported = Assistant.get()
    assert (imported.user_id, imported.status) == (admin.id, "pending_approval")
    assert AuditEvent.get(AuditEvent.action == "assistant.imported").details["via"] == "cli"
    out = tmp_path / "out.json"
    result = runner.invoke(
        args=["assistants", "export", str(imported.id), "--as", admin.email, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["assistants"][0]["name"] == "Reading log coach"
    assert AuditEvent.get(AuditEvent.action == "assistants.exported").actor_id == admin.id


def test_cli_refuses_non_administrators_and_bad_files(runner, make):
    staff = make.user(roles=("staff",))
    admin = make.user(roles=("administrator",))
    path = str(FIXTURES / "single_prompt.json")
    result = runner.invoke(args=["assistants", "import", path, "--as", staff.email])
    assert result.exit_code == 1 and "is not an active administrator" in result.output
    broken = str(FIXTURES / "wrong_version.json")
    result = runner.invoke(args=["assistants", "import", broken, "--as", admin.email])
    assert result.exit_code == 1 and "only AI Studio's format version" in result.output
    result = runner.invoke(args=["assistants", "export", "424242", "--as", admin.email])
    assert result.exit_code == 1 and "No assistant with id 424242." in result.output
    assert Assistant.select().count() == 0
