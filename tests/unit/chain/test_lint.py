"""lint(definition): every kind of finding, its message and span, the limits, and speed."""

from __future__ import annotations

from typing import Any

import pytest

from app.chain.definition import MAX_CONTENT_CHARS, MAX_PLACEHOLDERS, MAX_PROMPTS
from app.chain.lint import Finding, format_findings, has_errors, lint

MODEL = {"id": 1, "name": "Demo", "model_id": "demo/echo", "provider": "demo", "is_active": True}
OFF = {
    "id": 2,
    "name": "Old GPT",
    "model_id": "openai/old",
    "provider": "openai",
    "is_active": False,
}


def prompt(name: str, content: str, position: int = 0, sort_order: int = 0, **extra: Any) -> dict:
    return {
        "id": extra.pop("id", None),
        "name": name,
        "content": content,
        "system_context": extra.pop("system_context", None),
        "position": position,
        "sort_order": sort_order,
        "input_mapping": extra.pop("input_mapping", {}),
        "model": extra.pop("model", MODEL),
        "fallback_model": extra.pop("fallback_model", None),
        **extra,
    }


def definition(*prompts: dict, fields: tuple[str, ...] = ("user_input",)) -> dict:
    return {
        "assistant": {"id": 1, "name": "A", "version": 1, "timeout_seconds": None},
        "fields": [
            {
                "name": n,
                "label": n.replace("_", " ").title(),
                "field_type": "long_text",
                "position": i,
                "options": {},
            }
            for i, n in enumerate(fields)
        ],
        "prompts": list(prompts),
    }


def kinds(findings: list[Finding]) -> list[tuple[int | None, str, str]]:
    return [(f.step, f.kind, f.severity) for f in findings]


def only(findings: list[Finding], kind: str) -> Finding:
    matching = [f for f in findings if f.kind == kind]
    assert len(matching) == 1, findings
    return matching[0]


SEED = definition(
    prompt("Analyze", "Analyze this: {{user_input}}", 0),
    prompt("Summarize", "Summarize: {{prompt_1_output}}", 1),
)


def test_seed_chain_is_clean() -> None:
    assert lint(SEED) == []
    assert not has_errors(lint(SEED))
    assert format_findings(lint(SEED)) == ""


def test_unknown_prompt_number() -> None:
    d = definition(
        prompt("Analyze", "{{user_input}}", 0), prompt("Summarize", "x {{prompt_3_output}}", 1)
    )
    assert lint(d) == [
        Finding(
            2,
            "Summarize",
            "unknown_variable",
            "error",
            "Prompt “Summarize” uses {{prompt_3_output}}, but there is no prompt 3.",
            "content",
            2,
            21,
        )
    ]


def test_prompt_zero_says_numbering_starts_at_one() -> None:
    d = definition(prompt("A", "{{user_input}}"), prompt("B", "${prompt_0_output}", 1))
    assert only(lint(d), "unknown_variable").message == (
        "Prompt “B” uses ${prompt_0_output}, but there is no prompt 0. Prompts are numbered from 1."
    )


def test_unknown_variable_with_suggestion_and_span_in_system_context() -> None:
    d = definition(prompt("A", "{{user_input}}", system_context="Be kind. {{User_Input}}"))
    finding = only(lint(d), "unknown_variable")
    assert finding.message == (
        "Prompt “A” uses {{User_Input}} in its system context, but there is no input field or "
        "earlier prompt called “User_Input”. Did you mean {{user_input}}?"
    )
    assert (finding.field, finding.start, finding.end) == ("system_context", 9, 23)


def test_suggests_slug_of_a_misspelt_prompt_name() -> None:
    d = definition(
        prompt("Analyze Input", "{{user_input}}"),
        prompt("B", "{{Analyze Input}} {{analyze_input}}", 1),
    )
    messages = [f.message for f in lint(d)]
    assert messages[0].startswith("Prompt “B”: “{{Analyze Input}}” is not a valid placeholder")
    assert messages[1].endswith("Did you mean {{analyze-input}}?")


@pytest.mark.parametrize("name", ["constructor", "__proto__", "__class__", "toString"])
def test_object_property_names_are_unknown(name: str) -> None:
    d = definition(prompt("A", f"{{{{user_input}}}} {{{{{name}}}}}"))
    assert kinds(lint(d)) == [(1, "unknown_variable", "error")]


def test_same_stage_reference_says_stages_run_at_the_same_time() -> None:
    d = definition(
        prompt("Analyze", "{{user_input}}", 0, 0), prompt("Summarize", "{{analyze}}", 0, 1)
    )
    finding = only(lint(d), "forward_reference")
    assert finding.message == (
        "Prompt “Summarize” uses {{analyze}}, but prompt “Analyze” is in the same stage (stage 1). "
        "Prompts of one stage run at the same time, so its output is not ready yet: move prompt "
        "“Analyze” to an earlier stage."
    )
    assert (finding.step, finding.start, finding.end) == (2, 0, 11)


def test_later_stage_reference() -> None:
    d = definition(
        prompt("Analyze", "{{user_input}} {{prompt_2_output}}", 0), prompt("Later", "x", 2)
    )
    assert only(lint(d), "forward_reference").message == (
        "Prompt “Analyze” uses {{prompt_2_output}}, but prompt “Later” runs later, in stage 3 "
        "(this prompt is in stage 1). A prompt can only use the output of prompts in earlier "
        "stages."
    )


def test_self_reference() -> None:
    d = definition(prompt("Analyze", "{{user_input}} {{analyze}}"))
    assert only(lint(d), "forward_reference").message == (
        "Prompt “Analyze” uses {{analyze}}, which is its own output."
    )


@pytest.mark.parametrize(
    ("content", "kind", "span", "explanation"),
    [
        (
            "{{user_input}} {{ }}",
            "malformed_placeholder",
            (15, 20),
            "“{{ }}” has no variable name inside",
        ),
        (
            "{{user_input}} {{a b}}",
            "malformed_placeholder",
            (15, 22),
            "“{{a b}}” is not a valid placeholder: names use only letters, digits, _ and -",
        ),
        (
            "{{user_input}",
            "unbalanced_braces",
            (0, 13),
            "“{{user_input}” is missing a closing brace — write {{user_input}}",
        ),
        (
            "{{{user_input}}}",
            "malformed_placeholder",
            (0, 16),
            "“{{{user_input}}}” has too many braces — write {{user_input}}",
        ),
        (
            "{{user_input}} done}}",
            "unbalanced_braces",
            (19, 21),
            "“}}” closes nothing — is an opening {{ missing?",
        ),
        (
            "{{user_input}} ${user_input",
            "unbalanced_braces",
            (15, 27),
            "“${user_input” is never closed — write ${user_input}",
        ),
        (
            "{{user_input}} {name}}",
            "malformed_placeholder",
            (15, 22),
            "“{name}}” has only one opening brace — write {{name}}",
        ),
    ],
)
def test_broken_braces(content: str, kind: str, span: tuple, explanation: str) -> None:
    finding = only(lint(definition(prompt("Draft", content))), kind)
    assert finding.message == f"Prompt “Draft”: {explanation}."
    assert (finding.field, finding.start, finding.end) == ("content", *span)
    assert finding.severity == "error"


def test_json_in_a_prompt_is_fine() -> None:
    d = definition(prompt("A", 'Reply as {"topic": {"name": "{{user_input}}"}} and nothing else.'))
    assert lint(d) == []


def test_placeholder_limit_50_passes_51_fails() -> None:
    fifty = "{{user_input}} " * MAX_PLACEHOLDERS
    assert lint(definition(prompt("A", fifty))) == []
    finding = only(lint(definition(prompt("A", fifty + "${user_input}"))), "too_many_placeholders")
    assert (
        finding.message == "Prompt “A” uses more than 50 placeholders; the limit is 50 per prompt."
    )
    assert (finding.start, finding.end) == (len(fifty), len(fifty) + 13)


def test_placeholder_limit_counts_content_and_system_context_together() -> None:
    d = definition(prompt("A", "{{user_input}}" * 30, system_context="{{user_input}}" * 21))
    finding = only(lint(d), "too_many_placeholders")
    assert (finding.field, finding.start) == ("system_context", 20 * 14)


def test_content_length_limit() -> None:
    at_limit = "a" * (MAX_CONTENT_CHARS - 14) + "{{user_input}}"
    assert len(at_limit) == MAX_CONTENT_CHARS
    assert lint(definition(prompt("Big", at_limit))) == []
    finding = only(lint(definition(prompt("Big", at_limit + "b"))), "content_too_long")
    assert finding.message == "Prompt “Big” is 10,000,001 characters long; the limit is 10,000,000."
    assert (finding.field, finding.start, finding.end) == ("content", 10_000_000, 10_000_001)


def test_system_context_length_limit() -> None:
    d = definition(prompt("Big", "{{user_input}}", system_context="s" * (MAX_CONTENT_CHARS + 1)))
    assert only(lint(d), "content_too_long").field == "system_context"


def test_duplicate_slugs_name_both_prompts() -> None:
    d = definition(prompt("Analyze", "{{user_input}}", 0), prompt("analyze!", "{{user_input}}", 1))
    finding = only(lint(d), "duplicate_slug")
    assert finding.message == (
        "Prompts “Analyze” (step 1) and “analyze!” (step 2) have the same variable name “analyze”, "
        "so {{analyze}} is ambiguous. Rename one of them."
    )
    assert finding.step == 2


def test_unnamed_prompt_clashing_with_default_slug() -> None:
    d = definition(prompt("Prompt 2", "{{user_input}}", 0), prompt("", "{{user_input}}", 1))
    assert only(lint(d), "duplicate_slug").message.startswith(
        "Prompts “Prompt 2” (step 1) and 2 (step 2) have the same variable name “prompt-2”"
    )


def test_empty_content() -> None:
    d = definition(prompt("A", "{{user_input}}"), prompt("Blank", "  \n ", 1))
    assert only(lint(d), "empty_content").message == "Prompt “Blank” has no text."


def test_model_missing_and_inactive() -> None:
    d = definition(
        prompt("A", "{{user_input}}", model=None),
        prompt("B", "{{prompt_1_output}}", 1, model=OFF),
    )
    assert [(f.kind, f.message) for f in lint(d)] == [
        ("model_missing", "Prompt “A” has no model. Choose one."),
        (
            "model_inactive",
            "Prompt “B” uses the model “Old GPT”, which is turned off. Choose an active model.",
        ),
    ]
    assert "Prompt “A” has no model" in format_findings(lint(d))


def test_fallback_model_warnings() -> None:
    d = definition(
        prompt("A", "{{user_input}}", fallback_model=OFF),
        prompt("B", "{{prompt_1_output}}", 1, fallback_model=MODEL),
    )
    assert kinds(lint(d)) == [
        (1, "fallback_model_inactive", "warning"),
        (2, "fallback_same_as_model", "warning"),
    ]
    assert not has_errors(lint(d))
    assert format_findings(lint(d)) == ""


def test_prompt_count_limit() -> None:
    twenty = [prompt(f"P{i}", "{{user_input}}", i) for i in range(MAX_PROMPTS)]
    assert lint(definition(*twenty)) == []
    too_many = lint(definition(*twenty, prompt("P20", "{{user_input}}", 20)))
    assert too_many == [
        Finding(
            None,
            None,
            "too_many_prompts",
            "error",
            "This assistant has 21 prompts; the limit is 20.",
        )
    ]


def test_no_prompts() -> None:
    assert kinds(lint(definition(fields=()))) == [(None, "no_prompts", "error")]


def test_unused_field_is_a_warning() -> None:
    d = definition(prompt("A", "{{user_input}}"), fields=("user_input", "grade_level"))
    assert lint(d) == [
        Finding(
            None,
            None,
            "unused_field",
            "warning",
            "The input field “Grade Level” ({{grade_level}}) is not used by any prompt.",
        )
    ]


def test_field_used_through_a_mapping_is_used() -> None:
    d = definition(prompt("A", "{{text}}", input_mapping={"text": "user_input"}))
    assert lint(d) == []


def test_mapping_findings() -> None:
    d = definition(
        prompt("Analyze", "{{user_input}}", 0),
        prompt(
            "Use",
            "{{a}} {{b}} {{c}}",
            1,
            input_mapping={"a": "nope", "b": "prompt_5.output", "c": "{{use}}", "d": "analyze"},
        ),
    )
    assert [(f.kind, f.severity, f.mapping_key, f.message) for f in lint(d)] == [
        (
            "unknown_mapping_target",
            "error",
            "a",
            "Prompt “Use” maps {{a}} to “nope”, but there is no input field or earlier prompt "
            "called “nope”.",
        ),
        (
            "invalid_mapping",
            "error",
            "b",
            "Prompt “Use” maps {{b}} to “prompt_5.output”, which is not a variable name (such as "
            "prompt_1_output).",
        ),
        (
            "forward_reference",
            "error",
            "c",
            "Prompt “Use” maps {{c}} to “{{use}}”, which is its own output.",
        ),
        (
            "unused_mapping",
            "warning",
            "d",
            "Prompt “Use” has an input mapping for {{d}}, but never uses it.",
        ),
    ]


def test_mapping_to_a_same_stage_prompt_is_a_forward_reference() -> None:
    d = definition(
        prompt("Analyze", "{{user_input}}", 0, 0),
        prompt("Use", "{{x}}", 0, 1, input_mapping={"x": "${prompt_1_output}"}),
    )
    assert kinds(lint(d)) == [(2, "forward_reference", "error")]


def test_slug_shadowed_by_field_is_a_warning() -> None:
    d = definition(
        prompt("Topic", "{{topic}}", 0), prompt("B", "{{prompt_1_output}}", 1), fields=("topic",)
    )
    finding = only(lint(d), "slug_shadowed")
    assert finding.message == (
        "Prompt “Topic”'s output cannot be used as {{topic}}: that is an input field's name. "
        "Use {{prompt_1_output}} instead."
    )


def test_format_findings_one_line_per_distinct_error_naming_the_prompt() -> None:
    d = definition(
        prompt("Analyze", "{{user_input}} {{nope}} {{nope}}", 0, model=None),
        prompt("Summarize", "{{x}", 1),
    )
    assert format_findings(lint(d)).splitlines() == [
        "Prompt “Analyze” uses {{nope}}, but there is no input field or earlier prompt called "
        "“nope”.",
        "Prompt “Analyze” has no model. Choose one.",
        "Prompt “Summarize”: “{{x}” is missing a closing brace — write {{x}}.",
    ]


def test_multi_digit_step_numbers() -> None:
    prompts = [prompt(f"P{i}", "{{user_input}}", i) for i in range(12)]
    prompts.append(prompt("Last", "{{prompt_12_output}} {{prompt_13_output}}", 12))
    findings = lint(definition(*prompts))
    assert [(f.step, f.kind, f.start) for f in findings] == [(13, "forward_reference", 21)]


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        42,
        "text",
        [],
        {},
        {"prompts": None},
        {"prompts": "x"},
        {"prompts": [None, 3, "x"]},
        {"prompts": [{"content": 5, "name": None, "position": "1", "input_mapping": [1]}]},
        {"prompts": [{"content": "{{a}}", "input_mapping": {"a": 3, 4: "x"}, "model": "gpt"}]},
        {"fields": "x", "prompts": [{"content": "{{a}}", "system_context": 7, "position": True}]},
        {
            "fields": [None, {"name": 3}, {"name": "a"}],
            "prompts": [{"content": "{{a}}", "model": {}}],
        },
    ],
)
def test_lint_never_raises_on_garbage(garbage: Any) -> None:
    findings = lint(garbage)
    assert has_errors(findings)
    assert all(isinstance(f, Finding) for f in findings)


def test_lint_of_non_mapping_prompt_item() -> None:
    assert kinds(lint({"prompts": [None]})) == [(1, "invalid_prompt", "error")]


# How fast lint is on these inputs is measured by bench/lint.py (figures in docs/PERFORMANCE.md),
# never by a timed assertion here.
def test_lint_of_20_prompts_of_100_kb() -> None:
    prose = (
        "The quick brown fox jumps over the lazy dog. " * 200 + '{"a": {"b": 1}} {{user_input}}\n'
    )
    body = (prose * (100_000 // len(prose) + 1))[:100_000]
    d = definition(*(prompt(f"P{i}", body, i) for i in range(MAX_PROMPTS)))
    assert len(lint(d)) == 0


@pytest.mark.parametrize(
    "unit",
    ["a", "{{", "}}", "{}", "${", "{{a}}", "{x}}", "{{a ", " {{"],
)
def test_lint_of_10_million_characters(unit: str) -> None:
    d = definition(prompt("Huge", unit * (MAX_CONTENT_CHARS // len(unit))))
    assert has_errors(lint(d)) == (unit not in ("a", "{}"))
