"""AI Studio's format without a database: reading, converting, renumbering, models, export."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.chain.lint import lint
from app.interchange import aistudio, aistudio_export
from app.interchange.aistudio import FormatError, convert_assistant, read_document
from app.interchange.models_map import ModelChoice, export_name, match_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aistudio"
GPT = ModelChoice(1, "GPT-4o", "openai/gpt-4o", "openai", True)
MINI = ModelChoice(2, "GPT-4o mini", "openai/gpt-4o-mini", "openai", True)
CLAUDE = ModelChoice(3, "Claude Sonnet", "anthropic/claude-3-5-sonnet", "anthropic", True)
DEMO = ModelChoice(4, "Offline demo — no AI", "demo/offline", "demo", True)
OLD = ModelChoice(5, "Old GPT", "openai/gpt-3.5-turbo", "openai", False)
MODELS = [GPT, MINI, CLAUDE, DEMO, OLD]
FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def assistant(**overrides) -> dict:
    base = {
        "name": "Test assistant",
        "prompts": [
            {"name": "One", "content": "Hi {{topic}}", "model_name": "gpt-4o", "position": 0}
        ],
        "input_fields": [
            {"name": "topic", "label": "Topic", "field_type": "short_text", "position": 0}
        ],
    }
    return {**base, **overrides}


def prompt(name: str, content: str, position: int, **more) -> dict:
    return {"name": name, "content": content, "model_name": "gpt-4o", "position": position, **more}


# --- model mapping (DESIGN §8) -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("asked", "expected", "how"),
    [
        ("openai/gpt-4o", GPT, "model_id"),
        ("gpt-4o", GPT, "bare_name"),
        ("azure/gpt-4o-mini", MINI, "bare_name"),  # ↔: the prefix is dropped on either side
        ("claude sonnet", CLAUDE, "name"),
        ("claude-3-opus", CLAUDE, "provider"),
        ("anthropic/claude-2", CLAUDE, "provider"),
        ("o1-preview", GPT, "provider"),
        ("zephyr-9000", GPT, "first_active"),
        ("", GPT, "first_active"),
        (None, GPT, "first_active"),
        ("gpt-3.5-turbo", OLD, "bare_name"),  # exact beats active; the report says inactive
    ],
)
def test_model_mapping_order(asked, expected, how):
    match = match_model(asked, MODELS)
    assert (match.model, match.how) == (expected, how)


def test_the_demo_only_when_nothing_else_exists():
    assert match_model("gpt-4o", [DEMO, OLD]).model == DEMO  # the inactive GPT is not "else"
    assert match_model("gpt-4o", [DEMO]).how == "demo"
    assert match_model("gpt-4o", [OLD]).how == "inactive_only"
    assert match_model("gpt-4o", []).model is None


def test_export_names_map_back_to_the_same_model():
    twin = ModelChoice(9, "Azure GPT-4o", "azure/gpt-4o", "azure", True)
    models = [*MODELS, twin]
    for model in models:
        assert match_model(export_name(model, models), models).model == model
    assert export_name(GPT, models) == "gpt-4o" and export_name(twin, models) == "azure/gpt-4o"


# --- the file ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf", "The file is empty."),
        (b'{"version": "1.0", "assistants": [] ', "not valid JSON: Expecting ',' delimiter"),
        (b'{"version": NaN}', "NaN is not allowed in JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"assistants": []}', 'has no "version"'),
        (b'{"version": 1.0, "assistants": []}', "The file's version is 1.0"),
        (b'{"version": "1.0"}', 'no list of "assistants"'),
        (b'"1.0"', "not an AI Studio export"),
    ],
)
def test_unreadable_files(raw, message):
    with pytest.raises(FormatError) as caught:
        read_document(raw)
    assert message in caught.value.message


def test_a_bom_and_str_input_are_fine():
    raw = (FIXTURES / "single_prompt.json").read_bytes()
    assert read_document(b"\xef\xbb\xbf" + raw) == read_document(raw.decode())


def test_size_limit_is_exact():
    head, tail = b'{"version": "1.0", "assistants": [1], "pad": "', b'"}'
    pad = aistudio.MAX_BYTES - len(head) - len(tail)
    assert read_document(head + b"x" * pad + tail) == [1]
    with pytest.raises(FormatError, match="the limit is 10 MiB"):
        read_document(head + b"x" * (pad + 1) + tail)


# --- one assistant ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("item", "error"),
    [
        ([], "This entry is not an assistant"),
        (assistant(name="AB"), "name must be 3 to 255 characters long."),
        (assistant(prompts=[]), "prompts must hold 1 to 20 prompts."),
        (assistant(prompts="x"), "prompts must be a list."),
        (assistant(prompts=[prompt(f"P{i}", "x", i) for i in range(21)]), "It has 21 prompts"),
        (
            assistant(prompts=[{"name": "Nameless content"}]),
            "Prompt 1 “Nameless content”: content is missing.",
        ),
        (
            assistant(prompts=[prompt("P", "x", 1.5)]),
            "Prompt 1 “P”: position must be a whole number.",
        ),
        (assistant(prompts=[prompt("P", "x", -1)]), "position must be a whole number from 0"),
        (assistant(prompts=[7]), "Prompt 1: must be an object."),
        (assistant(timeout_seconds=0), "timeout_seconds must be a whole number from 1 to 3,600."),
        (assistant(is_parallel="maybe"), "is_parallel must be true or false."),
        (
            assistant(input_fields=[{"name": "x", "label": "X", "field_type": 3}]),
            "field_type must be text.",
        ),
        (
            assistant(input_fields=[{"name": "when", "label": "When", "field_type": "datetime"}]),
            "Input field 1 “when” has the type “datetime”, which this system does not have.",
        ),
    ],
)
def test_assistant_errors_in_plain_words(item, error):
    plan, report = convert_assistant(item, MODELS, 1)
    assert plan is None and not report.imported
    assert any(error in line for line in report.errors), report.errors


def test_renumbering_zero_based_references_everywhere():
    item = assistant(
        prompts=[
            prompt("A", "Start {{topic}}", 0),
            prompt(
                "B",
                "After ${prompt_0_output} and {{ prompt_0_output }}",
                1,
                system_context="Ctx {{prompt_0_output}}",
            ),
            prompt(
                "C",
                "{{x}} {{prompt_1_output}} {{prompt_7_output}}",
                2,
                input_mapping={"x": "prompt_0_output"},
            ),
        ]
    )
    plan, report = convert_assistant(item, MODELS, 1)
    assert plan is not None
    _, b, c = plan.prompts
    assert b["content"] == "After ${prompt_1_output} and {{ prompt_1_output }}"
    assert b["system_context"] == "Ctx {{prompt_1_output}}"
    assert (
        c["content"] == "{{x}} {{prompt_2_output}} {{prompt_8_output}}"
    )  # beyond the end: still beyond
    assert c["input_mapping"] == {"x": "prompt_1_output"}
    assert "In “B”: ${prompt_0_output} → ${prompt_1_output}" in report.renumbered
    assert "In “C” (input mapping x): prompt_0_output → prompt_1_output" in report.renumbered
    kinds = [f["message"] for f in report.findings]
    assert any("prompt_8_output" in m for m in kinds)  # lint names the reference that leads nowhere


def test_row_id_mappings_are_dropped_with_a_warning():
    item = assistant(
        prompts=[
            prompt("A", "x", 0),
            prompt("B", "{{v}}", 1, input_mapping={"v": "prompt_4711.output"}),
        ]
    )
    plan, report = convert_assistant(item, MODELS, 1)
    assert plan is not None and plan.prompts[1]["input_mapping"] == {}
    assert "named a row of the source system" in report.notes[0]


def test_a_group_whose_member_uses_another_keeps_its_positions():
    item = assistant(
        prompts=[
            prompt("A", "x", 0, parallel_group=1),
            prompt("B", "{{prompt_0_output}}", 1, parallel_group=1),
        ]
    )
    plan, report = convert_assistant(item, MODELS, 1)
    assert [p["position"] for p in plan.prompts] == [0, 1]
    assert "keeps its positions: “B” uses the output of “A”" in report.notes[0]


def test_a_group_whose_move_would_run_a_member_too_early_stays():
    item = assistant(
        prompts=[
            prompt("A", "x", 0, parallel_group=2),
            prompt("Between", "y", 1),
            prompt("C", "{{prompt_1_output}}", 2, parallel_group=2),
        ]
    )
    plan, report = convert_assistant(item, MODELS, 1)
    assert [p["position"] for p in plan.prompts] == [0, 1, 2]
    assert "moving “C” up would run it before “Between”" in report.notes[0]


def test_collapsing_reorders_and_references_follow_their_prompt():
    item = assistant(
        prompts=[
            prompt("A", "{{topic}}", 0, parallel_group=1),
            prompt("B", "{{prompt_0_output}}", 1),
            prompt("C", "z", 2, parallel_group=1),
            prompt("D", "{{prompt_1_output}} {{prompt_2_output}}", 3),
        ]
    )
    plan, report = convert_assistant(item, MODELS, 1)
    assert [(p["name"], p["position"], p["sort_order"]) for p in plan.prompts] == [
        ("A", 0, 0),
        ("C", 0, 1),
        ("B", 1, 0),
        ("D", 2, 0),
    ]
    # B was AI Studio's prompt 1 and C its prompt 2; here they are steps 3 and 2.
    assert plan.prompts[3]["content"] == "{{prompt_3_output}} {{prompt_2_output}}"
    assert plan.prompts[2]["content"] == "{{prompt_1_output}}"
    assert report.findings == []
    definition = {"fields": [{"name": "topic"}], "prompts": plan.prompts}
    assert [f for f in lint(definition) if f.kind != "model_missing"] == []


def test_gaps_and_shared_positions_become_stages():
    item = assistant(prompts=[prompt("A", "x", 3), prompt("B", "y", 7), prompt("C", "z", 7)])
    plan, report = convert_assistant(item, MODELS, 1)
    assert [(p["position"], p["sort_order"]) for p in plan.prompts] == [(0, 0), (1, 0), (1, 1)]
    assert "“B” and “C” share a position" in report.notes[0]


def test_field_names_are_made_valid_and_references_follow():
    item = assistant(
        prompts=[prompt("A", "{{Student-Name}} {{topic}} {{topic}}", 0)],
        input_fields=[
            {"name": "Student-Name", "label": "Student", "field_type": "text", "position": 0},
            {"name": "topic", "label": "Topic", "field_type": "textarea", "position": 1},
            {"name": "topic", "label": "Again", "field_type": "short_text", "position": 2},
        ],
    )
    plan, report = convert_assistant(item, MODELS, 1)
    assert [(f["name"], f["field_type"]) for f in plan.fields] == [
        ("student_name", "short_text"),
        ("topic", "long_text"),
        ("topic_2", "short_text"),
    ]
    assert plan.prompts[0]["content"] == "{{student_name}} {{topic}} {{topic}}"
    assert any("renamed student_name" in n for n in report.notes)
    assert any("{{topic}} still means the first" in n for n in report.notes)


def test_options_in_our_terms_and_back():
    notes: list[str] = []
    ais = {
        "placeholder": "p",
        "required": True,
        "maxLength": 9,
        "rows": 4,
        "choices": [{"value": "a", "label": "A"}, "b", {"label": "no value"}],
        "default": "a",
        "minSelections": 1,
        "maxSelections": 2,
        "accept": ".PDF, docx, image/png, text/plain",
        "maxSize": 5_000_000,
        "multiple": True,
        "custom": {"kept": 1},
    }
    ours = aistudio.options_in(ais, "Field", notes)
    assert ours == {
        "placeholder": "p",
        "required": True,
        "max_length": 9,
        "rows": 4,
        "choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "b"}],
        "default": "a",
        "min_selections": 1,
        "max_selections": 2,
        "accept": [".pdf", ".docx", ".txt"],
        "max_size_mb": 5,
        "multiple": True,
        "custom": {"kept": 1},
    }
    assert any("image/png" in n for n in notes) and any(
        "5,000,000 bytes is 5 MB" in n for n in notes
    )
    back = aistudio_export.options_out(ours)
    assert back["accept"] == ".pdf,.docx,.txt" and back["maxSize"] == 5 * 1024 * 1024
    assert aistudio.options_in(back, "Field", []) == ours


def test_export_writes_zero_based_numbers_and_skips_field_names():
    definition = {
        "fields": [
            {"name": "prompt_1_output", "label": "odd", "field_type": "short_text", "options": {}}
        ],
        "prompts": [
            {"name": "A", "content": "{{prompt_1_output}}", "position": 0, "sort_order": 0},
            {
                "name": "B",
                "content": "{{prompt_2_output}} {{prompt_0_output}}",
                "position": 1,
                "sort_order": 0,
            },
        ],
    }
    info = {"name": "N", "status": "approved"}
    out = aistudio_export.export_assistant(info, definition, lambda ref: None)
    assert out["prompts"][0]["content"] == "{{prompt_1_output}}"  # the field, not a prompt
    assert out["prompts"][1]["content"] == "{{prompt_1_output}} {{prompt_0_output}}"


def test_export_document_shape():
    document = aistudio_export.export_document([])
    assert set(document) == {"version", "exported_at", "export_source", "assistants"}
    assert document["version"] == "1.0" and document["exported_at"].endswith("Z")


# --- fuzz: nothing but FormatError or a report, ever ---------------------------------------------
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "name",
        "content",
        "model_name",
        "position",
        "parallel_group",
        "input_mapping",
        "prompts",
        "input_fields",
        "field_type",
        "options",
        "timeout_seconds",
        "label",
        "accept",
        "maxSize",
        "choices",
        "system_context",
        "is_parallel",
        "version",
        "assistants",
    ]
)
NAMES = ("single_prompt", "three_step_chain", "parallel_then_synthesis", "all_field_types")


def _mutate(node, data, depth=0):
    """Replace one value somewhere in a valid document with arbitrary JSON."""
    if isinstance(node, dict) and node and depth < 6:
        key = data.draw(st.sampled_from(sorted(node)) | KEYS)
        if key in node and data.draw(st.booleans()):
            node[key] = _mutate(node[key], data, depth + 1)
        else:
            node[key] = data.draw(JSON)
        return node
    if isinstance(node, list) and node and depth < 6:
        index = data.draw(st.integers(0, len(node) - 1))
        node[index] = _mutate(node[index], data, depth + 1)
        return node
    return data.draw(JSON | st.text(alphabet="{}$_prompt0123456789 ", max_size=30))


def _check(raw: bytes | str) -> None:
    try:
        items = read_document(raw)
    except FormatError as exc:
        assert exc.message
        return
    for number, item in enumerate(items, start=1):
        plan, report = convert_assistant(item, MODELS, number)
        assert (plan is None) == bool(report.errors)
        json.dumps(report.as_dict())  # the API can always answer with it


@FUZZ
@given(st.sampled_from(NAMES), st.data())
def test_fuzz_mutated_documents_never_raise(name, data):
    document = copy.deepcopy(fixture(name))
    _check(json.dumps(_mutate(document, data)))


@FUZZ
@given(JSON)
def test_fuzz_arbitrary_json_never_raises(value):
    _check(json.dumps({"version": "1.0", "assistants": [value]}))
    _check(json.dumps(value))


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes_never_raise(raw):
    _check(raw)


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        # (position, parallel_group) per prompt in step order → what the file says
        ([(0, None), (1, None)], [(0, None), (1, None)]),
        ([(0, None), (0, None), (1, 3)], [(0, 4), (1, 4), (2, None)]),  # a new group; alone: none
        ([(0, 2), (0, 2), (1, None)], [(0, 2), (1, 2), (2, None)]),  # their own group
        ([(0, 2), (0, 2), (1, 2), (1, 2)], [(0, 2), (1, 2), (2, 3), (3, 3)]),  # never two stages
        ([(0, 1), (0, None)], [(0, 2), (1, 2)]),
        ([(0, 1), (0, 2), (1, None)], [(0, 1), (0, 2), (1, None)]),  # different groups: shared
    ],
)
def test_stages_are_written_as_positions_and_groups(stages, expected):
    prompts = [
        {"name": f"P{i}", "content": "x", "position": p, "sort_order": i, "parallel_group": g}
        for i, (p, g) in enumerate(stages)
    ]
    out = aistudio_export.export_assistant(
        {"name": "Name", "status": "draft"}, {"fields": [], "prompts": prompts}, lambda r: None
    )
    assert [(p["position"], p["parallel_group"]) for p in out["prompts"]] == expected
    back, _ = convert_assistant({**out, "input_fields": []}, MODELS, 1)
    assert back is not None
    assert [p["position"] for p in back.prompts] == [p for p, _ in stages]
