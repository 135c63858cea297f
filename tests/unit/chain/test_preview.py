"""preview(definition, sample_inputs): every prompt rendered, earlier outputs as named labels."""

from __future__ import annotations

from typing import Any

from app.chain.preview import PreviewStep, preview

MODEL = {
    "id": 1,
    "name": "Demo model",
    "model_id": "demo/echo",
    "provider": "demo",
    "is_active": True,
}


def prompt(name: str, content: str, position: int, sort_order: int = 0, **extra: Any) -> dict:
    return {
        "id": None,
        "name": name,
        "content": content,
        "system_context": extra.pop("system_context", None),
        "position": position,
        "sort_order": sort_order,
        "input_mapping": extra.pop("input_mapping", {}),
        "model": extra.pop("model", MODEL),
        "fallback_model": None,
    }


def definition(*prompts: dict) -> dict:
    fields = [
        {
            "name": "user_input",
            "label": "Your text",
            "field_type": "long_text",
            "position": 0,
            "options": {},
        },
        {
            "name": "subjects",
            "label": "Subjects",
            "field_type": "multi_select",
            "position": 1,
            "options": {},
        },
    ]
    return {
        "assistant": {"id": None, "name": "A", "version": 1},
        "fields": fields,
        "prompts": list(prompts),
    }


def test_seed_chain_preview() -> None:
    d = definition(
        prompt(
            "Analyze", "Analyze this: {{user_input}} ({{subjects}})", 0, system_context="You teach."
        ),
        prompt("Summarize", "Summarize: {{prompt_1_output}}", 1, model=None),
    )
    steps = preview(d, {"user_input": "volcanoes", "subjects": ["Science", "Geography"]})
    assert steps[0] == PreviewStep(
        1,
        "Analyze",
        0,
        "Demo model",
        "You teach.",
        "Analyze this: volcanoes (Science, Geography)",
        [],
    )
    second = steps[1]
    assert (second.step, second.name, second.position, second.model_name) == (
        2,
        "Summarize",
        1,
        None,
    )
    assert second.content == "Summarize: «output of Analyze»"
    assert [f.kind for f in second.findings] == ["model_missing"]


def test_slug_and_mapping_references_show_the_named_label() -> None:
    d = definition(
        prompt("Analyze", "{{user_input}}", 0),
        prompt("", "{{subjects}}", 0, 1),
        prompt(
            "Use",
            "{{analyze}} | {{prompt_2_output}} | {{x}}",
            1,
            input_mapping={"x": "${prompt-2}"},
        ),
    )
    use = preview(d, {"user_input": "", "subjects": None})[2]
    assert use.content == "«output of Analyze» | «output of prompt 2» | «output of prompt 2»"
    assert use.findings == []


def test_missing_sample_inputs_show_the_field_label() -> None:
    d = definition(prompt("A", "Text: {{user_input}}; ${subjects}", 0))
    assert preview(d, {})[0].content == "Text: «Your text»; «Subjects»"
    assert preview(d, {"user_input": None, "subjects": []})[0].content == "Text: ; "


def test_unknown_and_forward_references_stay_verbatim_and_are_listed() -> None:
    d = definition(
        prompt("First", "{{user_input}} {{second}} {{nope}} {{subjects}}", 0),
        prompt("Second", "{{first}} {{prompt_2_output}}", 1),
    )
    first, second = preview(d, {"user_input": "U", "subjects": ["S"]})
    assert first.content == "U {{second}} {{nope}} S"
    # Spans point into the template (for the builder's underline), not into the preview.
    assert [(f.kind, f.start, f.end) for f in first.findings] == [
        ("forward_reference", 15, 25),
        ("unknown_variable", 26, 34),
    ]
    assert second.content == "«output of First» {{prompt_2_output}}"
    assert [f.kind for f in second.findings] == ["forward_reference"]


def test_preview_is_in_step_order_and_keeps_sample_text_literal() -> None:
    d = definition(
        prompt("Later", "{{prompt_1_output}}", 1), prompt("Early", "{{user_input}} {{subjects}}", 0)
    )
    steps = preview(d, {"user_input": "{{prompt_1_output}}", "subjects": "${x}"})
    assert [(s.step, s.name, s.content) for s in steps] == [
        (1, "Early", "{{prompt_1_output}} ${x}"),
        (2, "Later", "«output of Early»"),
    ]
