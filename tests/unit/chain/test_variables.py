"""Placeholders, slugs, step order and substitution (app.chain.variables, app.chain.definition)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.chain.definition import (
    MAX_CONTENT_CHARS,
    MAX_PLACEHOLDERS,
    MAX_PROMPTS,
    slugify,
    step_order,
)
from app.chain.variables import (
    Placeholder,
    VariableUse,
    find_placeholders,
    format_input_value,
    render_prompt,
    scan_template,
    substitute,
)

MODEL = {"id": 1, "name": "Demo", "model_id": "demo/echo", "provider": "demo", "is_active": True}


def prompt(name: str, content: str, position: int = 0, sort_order: int = 0, **extra: Any) -> dict:
    return {
        "id": extra.pop("id", None),
        "name": name,
        "content": content,
        "system_context": extra.pop("system_context", None),
        "position": position,
        "sort_order": sort_order,
        "input_mapping": extra.pop("input_mapping", {}),
        "model": MODEL,
        "fallback_model": None,
        **extra,
    }


def definition(*prompts: dict, fields: tuple[str, ...] = ("user_input",)) -> dict:
    return {
        "assistant": {"id": 1, "name": "A", "version": 1, "timeout_seconds": None},
        "fields": [
            {
                "name": n,
                "label": n.title(),
                "field_type": "short_text",
                "position": i,
                "options": {},
            }
            for i, n in enumerate(fields)
        ],
        "prompts": list(prompts),
    }


SEED = definition(
    prompt("Analyze", "Analyze this: {{user_input}}", 0),
    prompt("Summarize", "Summarize: {{prompt_1_output}}", 1),
)


def test_limits_are_the_documented_ones() -> None:
    assert (MAX_CONTENT_CHARS, MAX_PLACEHOLDERS, MAX_PROMPTS) == (10_000_000, 50, 20)


# --- slugs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "n", "slug"),
    [
        ("Analyze Input!", 1, "analyze-input"),
        ("Résumé & Notes", 2, "résumé-notes"),
        ("🎉", 3, "prompt-3"),
        ("", 4, "prompt-4"),
        ("   --- ", 5, "prompt-5"),
        ("Step--One -- Two", 1, "step-one-two"),
        ("-leading and trailing-", 1, "leading-and-trailing"),
        ("user_input", 1, "user-input"),
        ("What's next? (v2.0)", 1, "what-s-next-v2-0"),
        ("分析 文本", 1, "分析-文本"),
        ("要約", 1, "要約"),
        ("Party 🎉 Plan", 1, "party-plan"),
        ("ÉCOLE Élémentaire", 1, "école-élémentaire"),
        ("Re\u0301sume\u0301", 1, "résumé"),  # decomposed accents are composed first
        ("İstanbul", 1, "istanbul"),  # "İ".lower() adds a combining dot, which is dropped
        ("Grade 12", 1, "grade-12"),
    ],
)
def test_slugify(name: str, n: int, slug: str) -> None:
    assert slugify(name, n) == slug


# --- step order -----------------------------------------------------------------------------------


def test_step_order_sorts_by_position_then_sort_order_then_list_index() -> None:
    a = prompt("a", "", 1, 0)
    b = prompt("b", "", 0, 5)
    c = prompt("c", "", 0, 1)
    d = prompt("d", "", 0, 1)
    assert [p["name"] for p in step_order([a, b, c, d])] == ["c", "d", "b", "a"]


# --- finding placeholders -------------------------------------------------------------------------


def test_find_placeholders_both_syntaxes_mixed_with_spans() -> None:
    text = "A {{x}} B ${y} C {{ z }} D ${ w }"
    assert find_placeholders(text) == [
        Placeholder("x", 2, 7, "braces"),
        Placeholder("y", 10, 14, "dollar"),
        Placeholder("z", 17, 24, "braces"),
        Placeholder("w", 27, 33, "dollar"),
    ]


def test_names_may_use_unicode_letters_digits_underscore_and_hyphen() -> None:
    names = [p.name for p in find_placeholders("{{résumé-notes}} ${分析} {{prompt_12_output}}")]
    assert names == ["résumé-notes", "分析", "prompt_12_output"]


def test_dollar_directly_before_braces_is_a_dollar_sign() -> None:
    assert find_placeholders("It costs ${{price}}.") == [Placeholder("price", 10, 19, "braces")]


def test_placeholder_inside_json_keeps_the_json_brace() -> None:
    text = '{"data": {{user_input}}}'
    assert find_placeholders(text) == [Placeholder("user_input", 9, 23, "braces")]
    assert scan_template(text).problems == []


@pytest.mark.parametrize(
    ("text", "kind", "span"),
    [
        ("a {{ }} b", "malformed_placeholder", (2, 7)),
        ("{{a b}}", "malformed_placeholder", (0, 7)),
        ("{{a.b}}", "malformed_placeholder", (0, 7)),
        ("x {{x} y", "unbalanced_braces", (2, 6)),
        ("{{{x}}}", "malformed_placeholder", (0, 7)),
        ("oops }} here", "unbalanced_braces", (5, 7)),
        ("see ${x and more", "unbalanced_braces", (4, 7)),
        ("{{x", "unbalanced_braces", (0, 3)),
        ("${}", "malformed_placeholder", (0, 3)),
        ("${a b}", "malformed_placeholder", (0, 6)),
        ("say {x}} now", "malformed_placeholder", (4, 8)),
    ],
)
def test_broken_braces_are_reported_with_their_span(text: str, kind: str, span: tuple) -> None:
    scan = scan_template(text)
    assert [(p.kind, (p.start, p.end)) for p in scan.problems] == [(kind, span)]
    assert scan.placeholders == []


def test_broken_brace_explanations_say_how_to_fix() -> None:
    explain = {t: scan_template(t).problems[0].explanation for t in ("{{x}", "{{{x}}}", "${x")}
    assert explain == {
        "{{x}": "“{{x}” is missing a closing brace — write {{x}}",
        "{{{x}}}": "“{{{x}}}” has too many braces — write {{x}}",
        "${x": "“${x” is never closed — write ${x}",
    }


def test_nested_placeholder_after_unclosed_one_is_still_found() -> None:
    scan = scan_template("{{a{{b}}")
    assert scan.placeholders == [Placeholder("b", 3, 8, "braces")]
    assert [(p.kind, p.start, p.end) for p in scan.problems] == [("unbalanced_braces", 0, 3)]


def test_json_examples_are_not_broken_braces() -> None:
    text = 'Reply as {"a": {"b": [1, {"c": 2}]}} or {"x": {"y": {}}}.'
    assert scan_template(text).problems == []
    assert find_placeholders(text) == []


# --- substitution ---------------------------------------------------------------------------------


def test_substitute_is_single_pass_and_reports_unresolved() -> None:
    values = {"x": "{{y}}", "y": "never"}
    text, unresolved = substitute("[{{x}}] [${y}] [{{z}}] [{{z}}]", values.get)
    assert text == "[{{y}}] [never] [{{z}}] [{{z}}]"
    assert unresolved == ["z"]


def test_substitute_without_placeholders_is_identity() -> None:
    text = "No variables here: { } }{ $ {x} $x"
    assert substitute(text, lambda name: "!") == (text, [])


def test_format_input_value() -> None:
    assert format_input_value(["Math", "Science"]) == "Math, Science"
    assert format_input_value(None) == ""
    assert format_input_value(["a", None, "b"]) == "a, b"
    assert format_input_value(7) == "7"


# --- render_prompt --------------------------------------------------------------------------------


def test_seed_chain_prompt_2_receives_prompt_1_output() -> None:
    first = render_prompt(SEED, 1, {"user_input": "photosynthesis"}, {})
    assert first.content == "Analyze this: photosynthesis"
    assert first.variables == [VariableUse("user_input", "input", 14, None)]
    second = render_prompt(SEED, 2, {"user_input": "photosynthesis"}, {1: "It is about plants."})
    assert second.content == "Summarize: It is about plants."
    assert second.variables == [VariableUse("prompt_1_output", "prompt", 19, 1)]
    assert second.unresolved == []


def test_multi_select_joins_and_missing_or_none_inputs_are_empty() -> None:
    d = definition(
        prompt("P", "[{{subjects}}] [{{note}}] [{{grade}}]"), fields=("subjects", "note", "grade")
    )
    rendered = render_prompt(d, 1, {"subjects": ["Math", "Art"], "note": None}, {})
    assert rendered.content == "[Math, Art] [] []"
    assert rendered.unresolved == []


def test_input_text_with_placeholders_is_not_substituted_again() -> None:
    d = definition(prompt("P", "Q: {{user_input}} / ${user_input}"))
    rendered = render_prompt(d, 1, {"user_input": "{{user_input}} ${x} {{prompt_1_output}}"}, {})
    assert rendered.content == (
        "Q: {{user_input}} ${x} {{prompt_1_output}} / {{user_input}} ${x} {{prompt_1_output}}"
    )


def test_both_syntaxes_and_system_context_are_substituted() -> None:
    d = definition(
        prompt("Analyze", "x", 0),
        prompt("Use", "{{ analyze }} and ${user_input}", 1, system_context="Topic: ${user_input}"),
    )
    rendered = render_prompt(d, 2, {"user_input": "bees"}, {1: "OUT"})
    assert (rendered.content, rendered.system_context) == ("OUT and bees", "Topic: bees")
    assert [v.name for v in rendered.variables] == ["analyze", "user_input"]


def test_unicode_slug_reference() -> None:
    d = definition(prompt("Résumé & Notes", "x", 0), prompt("Use", "<{{résumé-notes}}>", 1))
    assert render_prompt(d, 2, {}, {1: "R"}).content == "<R>"


@pytest.mark.parametrize("name", ["constructor", "__class__", "__proto__", "toString", "__dict__"])
def test_object_property_names_are_just_unknown_names(name: str) -> None:
    d = definition(prompt("P", f"{{{{{name}}}}} ${{{name}}}"))
    rendered = render_prompt(d, 1, {"user_input": "x"}, {})
    assert rendered.content == f"{{{{{name}}}}} ${{{name}}}"
    assert rendered.unresolved == [name]


def test_object_property_names_work_when_they_are_real_fields() -> None:
    d = definition(
        prompt("P", "{{constructor}}/{{__proto__}}"), fields=("constructor", "__proto__")
    )
    rendered = render_prompt(d, 1, {"constructor": "c", "__proto__": "p"}, {})
    assert rendered.content == "c/p"


def test_multi_digit_prompt_numbers() -> None:
    prompts = [prompt(f"Step {i}", f"content {i}", i - 1) for i in range(1, 14)]
    prompts.append(prompt("Last", "{{prompt_12_output}}|{{prompt_1_output}}|{{step-12}}", 13))
    d = definition(*prompts)
    outputs = {i: f"out{i}" for i in range(1, 14)}
    assert render_prompt(d, 14, {}, outputs).content == "out12|out1|out12"


def test_step_numbers_follow_step_order_not_list_order() -> None:
    d = definition(
        prompt("Second", "uses {{prompt_1_output}} = {{first}}", 1),
        prompt("First", "start", 0),
    )
    assert render_prompt(d, 2, {}, {1: "F"}).content == "uses F = F"


def test_resolution_order_mapping_then_field_then_slug() -> None:
    d = definition(
        prompt("Topic", "x", 0),
        prompt("Use", "{{topic}} {{renamed}}", 1, input_mapping={"renamed": "{{prompt_1_output}}"}),
        fields=("topic",),
    )
    rendered = render_prompt(d, 2, {"topic": "field value"}, {1: "prompt value"})
    assert rendered.content == "field value prompt value"
    assert rendered.variables == [
        VariableUse("topic", "input", 11, None),
        VariableUse("renamed", "mapping", 12, 1, "prompt_1_output"),
    ]


@pytest.mark.parametrize(
    "value", ["analyze", "{{analyze}}", "${analyze}", " {{ prompt_1_output }} "]
)
def test_mapping_values_may_be_bare_or_wrapped(value: str) -> None:
    d = definition(
        prompt("Analyze", "x", 0), prompt("Use", "<{{text}}>", 1, input_mapping={"text": value})
    )
    assert render_prompt(d, 2, {}, {1: "A"}).content == "<A>"


def test_mapping_is_not_recursive_and_can_point_at_a_field() -> None:
    d = definition(
        prompt("P", "{{a}}|{{b}}", input_mapping={"a": "b", "b": "user_input"}),
    )
    rendered = render_prompt(d, 1, {"user_input": "U"}, {})
    assert rendered.content == "{{a}}|U"  # a → b is not followed into b's own mapping
    assert rendered.unresolved == ["a"]


def test_same_stage_and_later_references_are_not_substituted() -> None:
    d = definition(
        prompt("A", "x", 0, 0),
        prompt("B", "{{a}} {{prompt_1_output}} {{c}} {{b}}", 0, 1),
        prompt("C", "x", 1),
    )
    rendered = render_prompt(d, 2, {}, {1: "A", 3: "C"})
    assert rendered.content == "{{a}} {{prompt_1_output}} {{c}} {{b}}"
    assert rendered.unresolved == ["a", "prompt_1_output", "c", "b"]


def test_missing_earlier_output_stays_verbatim() -> None:
    assert render_prompt(SEED, 2, {}, {}).unresolved == ["prompt_1_output"]


def test_unknown_step_raises_value_error() -> None:
    with pytest.raises(ValueError, match="no prompt 3"):
        render_prompt(SEED, 3, {}, {})


def test_content_at_the_limit_renders() -> None:
    content = "a" * (MAX_CONTENT_CHARS - len("{{user_input}}")) + "{{user_input}}"
    d = definition(prompt("Big", content))
    rendered = render_prompt(d, 1, {"user_input": "Z"}, {})
    assert len(rendered.content) == MAX_CONTENT_CHARS - len("{{user_input}}") + 1
    assert rendered.content.endswith("aZ")


def test_substitute_many_distinct_unresolved_names_is_linear() -> None:
    text = "".join(f"{{{{n{i}}}}} " for i in range(100_000))
    started = time.perf_counter()
    result, unresolved = substitute(text, lambda name: None)
    assert (result, len(unresolved), unresolved[-1]) == (text, 100_000, "n99999")
    assert time.perf_counter() - started < 5  # quadratic bookkeeping would take hours
