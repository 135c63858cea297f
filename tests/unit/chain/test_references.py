"""references_to and rewrite_references: renames, moves, parallel stages, deletes."""

from __future__ import annotations

import copy
from typing import Any

from app.chain.lint import lint
from app.chain.references import Change, Reference, references_to, rewrite_references

MODEL = {"id": 1, "name": "Demo", "model_id": "demo/echo", "provider": "demo", "is_active": True}


def prompt(
    pid: int, name: str, content: str, position: int, sort_order: int = 0, **extra: Any
) -> dict:
    return {
        "id": pid,
        "name": name,
        "content": content,
        "system_context": extra.pop("system_context", None),
        "position": position,
        "sort_order": sort_order,
        "input_mapping": extra.pop("input_mapping", {}),
        "model": MODEL,
        "fallback_model": None,
    }


def definition(*prompts: dict) -> dict:
    fields = [
        {
            "name": "user_input",
            "label": "Text",
            "field_type": "long_text",
            "position": 0,
            "options": {},
        }
    ]
    return {
        "assistant": {"id": 1, "name": "A", "version": 1},
        "fields": fields,
        "prompts": list(prompts),
    }


def chain() -> dict:
    """Analyze (stage 0) → Summarize (stage 1) → Report (stage 2), referring in every form."""
    return definition(
        prompt(1, "Analyze", "Analyze: {{user_input}}", 0),
        prompt(
            2,
            "Summarize",
            "Sum {{analyze}} / ${ prompt_1_output } / {{prompt_1_output}} {{source}} {{bare}}",
            1,
            system_context="Context: {{ analyze }}",
            input_mapping={"source": "{{prompt_1_output}}", "bare": "analyze"},
        ),
        prompt(3, "Report", "R {{summarize}} {{prompt_2_output}} {{analyze}}", 2),
    )


def by_id(d: dict, pid: int) -> dict:
    return next(p for p in d["prompts"] if p["id"] == pid)


def test_references_to_lists_every_form() -> None:
    d = chain()
    assert references_to(d, 1) == [
        Reference(2, "Summarize", "content", "analyze", 4, 15),
        Reference(2, "Summarize", "content", "prompt_1_output", 18, 38),
        Reference(2, "Summarize", "content", "prompt_1_output", 41, 60),
        Reference(2, "Summarize", "system_context", "analyze", 9, 22),
        Reference(2, "Summarize", "input_mapping", "prompt_1_output", 2, 17, "source"),
        Reference(2, "Summarize", "input_mapping", "analyze", 0, 7, "bare"),
        Reference(3, "Report", "content", "analyze", 36, 47),
    ]
    assert [(r.step, r.name_used) for r in references_to(d, 2)] == [
        (3, "summarize"),
        (3, "prompt_2_output"),
    ]
    assert references_to(d, 3) == []
    assert references_to(d, 99) == []


def test_references_to_includes_invalid_same_stage_references() -> None:
    d = definition(prompt(1, "A", "x", 0, 0), prompt(2, "B", "{{a}}", 0, 1))
    assert [(r.step, r.name_used) for r in references_to(d, 1)] == [(2, "a")]


def test_rename_rewrites_slug_references_only() -> None:
    old = chain()
    new = copy.deepcopy(old)
    by_id(new, 1)["name"] = "Deep Analysis"
    frozen_old, frozen_new = copy.deepcopy(old), copy.deepcopy(new)
    result, changes = rewrite_references(old, new)
    assert (old, new) == (frozen_old, frozen_new)  # inputs untouched
    assert by_id(result, 2)["content"] == (
        "Sum {{deep-analysis}} / ${ prompt_1_output } / {{prompt_1_output}} {{source}} {{bare}}"
    )
    assert by_id(result, 2)["system_context"] == "Context: {{ deep-analysis }}"
    assert by_id(result, 2)["input_mapping"] == {
        "source": "{{prompt_1_output}}",
        "bare": "deep-analysis",
    }
    assert by_id(result, 3)["content"] == "R {{summarize}} {{prompt_2_output}} {{deep-analysis}}"
    assert [c.message for c in changes] == [
        "In “Summarize”: {{analyze}} → {{deep-analysis}}",
        "In “Summarize” (system context): {{ analyze }} → {{ deep-analysis }}",
        "In “Summarize” (input mapping for {{bare}}): analyze → deep-analysis",
        "In “Report”: {{analyze}} → {{deep-analysis}}",
    ]
    assert lint(result) == []


def test_move_up_renumbers_prompt_n_output_keeping_syntax() -> None:
    old = chain()
    new = copy.deepcopy(old)
    # Summarize no longer needs Analyze: it moves to the first stage, Analyze to the second.
    by_id(new, 2).update(
        position=0, content="Sum ${ user_input }", system_context=None, input_mapping={}
    )
    by_id(new, 1)["position"] = 1
    result, changes = rewrite_references(old, new)
    assert by_id(result, 3)["content"] == "R {{summarize}} {{prompt_1_output}} {{analyze}}"
    assert changes == [
        Change(
            3,
            "Report",
            "content",
            "rewritten",
            "{{prompt_2_output}}",
            "{{prompt_1_output}}",
            "In “Report”: {{prompt_2_output}} → {{prompt_1_output}}",
        )
    ]


def test_swap_is_single_pass() -> None:
    old = definition(
        prompt(1, "A", "a", 0),
        prompt(2, "B", "b", 1),
        prompt(3, "C", "{{prompt_1_output}} then ${prompt_2_output}", 2),
    )
    new = copy.deepcopy(old)
    by_id(new, 1)["position"], by_id(new, 2)["position"] = 1, 0
    result, changes = rewrite_references(old, new)
    assert by_id(result, 3)["content"] == "{{prompt_2_output}} then ${prompt_1_output}"
    assert [c.message for c in changes] == [
        "In “C”: {{prompt_1_output}} → {{prompt_2_output}}",
        "In “C”: ${prompt_2_output} → ${prompt_1_output}",
    ]


def test_move_into_a_parallel_stage_keeps_pointing_and_lint_reports_it() -> None:
    old = chain()
    new = copy.deepcopy(old)
    by_id(new, 2).update(position=0, sort_order=-1)  # Summarize joins Analyze's stage, first
    by_id(new, 3)["position"] = 1
    result, changes = rewrite_references(old, new)
    summarize = by_id(result, 2)
    assert summarize["content"] == (
        "Sum {{analyze}} / ${ prompt_2_output } / {{prompt_2_output}} {{source}} {{bare}}"
    )
    assert summarize["input_mapping"]["source"] == "{{prompt_2_output}}"
    assert by_id(result, 3)["content"] == ("R {{summarize}} {{prompt_1_output}} {{analyze}}")
    assert {c.kind for c in changes} == {"rewritten"}
    forward = [f for f in lint(result) if f.kind == "forward_reference"]
    assert [(f.step, f.start) for f in forward][:3] == [(1, 4), (1, 18), (1, 41)]
    assert forward[0].message.startswith(
        "Prompt “Summarize” uses {{analyze}}, but prompt “Analyze” is in the same stage (stage 1). "
        "Prompts of one stage run at the same time"
    )


def test_delete_reports_broken_references_and_renumbers_the_rest() -> None:
    old = chain()
    new = copy.deepcopy(old)
    new["prompts"] = [p for p in new["prompts"] if p["id"] != 1]
    for p in new["prompts"]:
        p["position"] -= 1
    result, changes = rewrite_references(old, new)
    assert by_id(result, 2)["content"] == by_id(old, 2)["content"]  # broken ones left alone
    assert by_id(result, 3)["content"] == "R {{summarize}} {{prompt_1_output}} {{analyze}}"
    assert [(c.step, c.kind, c.count, c.message) for c in changes] == [
        (
            1,
            "broken",
            1,
            "In “Summarize”: {{analyze}} refers to prompt “Analyze”, which was deleted. "
            "Fix or remove it.",
        ),
        (
            1,
            "broken",
            1,
            "In “Summarize”: ${ prompt_1_output } refers to prompt “Analyze”, which was "
            "deleted. Fix or remove it.",
        ),
        (
            1,
            "broken",
            1,
            "In “Summarize”: {{prompt_1_output}} refers to prompt “Analyze”, which was "
            "deleted. Fix or remove it.",
        ),
        (
            1,
            "broken",
            1,
            "In “Summarize” (system context): {{ analyze }} refers to prompt “Analyze”, "
            "which was deleted. Fix or remove it.",
        ),
        (
            1,
            "broken",
            1,
            "In “Summarize” (input mapping for {{source}}): {{prompt_1_output}} refers "
            "to prompt “Analyze”, which was deleted. Fix or remove it.",
        ),
        (
            1,
            "broken",
            1,
            "In “Summarize” (input mapping for {{bare}}): analyze refers to prompt "
            "“Analyze”, which was deleted. Fix or remove it.",
        ),
        (2, "rewritten", 1, "In “Report”: {{prompt_2_output}} → {{prompt_1_output}}"),
        (
            2,
            "broken",
            1,
            "In “Report”: {{analyze}} refers to prompt “Analyze”, which was deleted. "
            "Fix or remove it.",
        ),
    ]


def test_references_already_wrong_in_old_are_left_alone() -> None:
    old = definition(
        prompt(1, "A", "{{b}} {{prompt_2_output}}", 0),  # forward references: wrong already
        prompt(2, "B", "{{prompt_9_output}} {{nope}} {{a}}", 1),
    )
    new = copy.deepcopy(old)
    by_id(new, 1)["name"] = "Alpha"
    by_id(new, 2)["name"] = "Beta"
    result, changes = rewrite_references(old, new)
    assert by_id(result, 1)["content"] == "{{b}} {{prompt_2_output}}"
    assert by_id(result, 2)["content"] == "{{prompt_9_output}} {{nope}} {{alpha}}"
    assert [c.message for c in changes] == ["In “Beta”: {{a}} → {{alpha}}"]


def test_ambiguous_slug_in_old_is_left_alone() -> None:
    old = definition(
        prompt(1, "Draft", "x", 0), prompt(2, "draft!", "y", 0, 1), prompt(3, "U", "{{draft}}", 1)
    )
    new = copy.deepcopy(old)
    by_id(new, 1)["name"] = "First"
    result, changes = rewrite_references(old, new)
    assert (by_id(result, 3)["content"], changes) == ("{{draft}}", [])


def test_repeated_reference_is_one_change_with_a_count() -> None:
    old = definition(prompt(1, "A", "x", 0), prompt(2, "B", "{{a}} {{a}} {{a}}", 1))
    new = copy.deepcopy(old)
    by_id(new, 1)["name"] = "Zed"
    result, changes = rewrite_references(old, new)
    assert by_id(result, 2)["content"] == "{{zed}} {{zed}} {{zed}}"
    assert [(c.count, c.before, c.after) for c in changes] == [(3, "{{a}}", "{{zed}}")]


def test_unchanged_definition_gives_no_changes_and_an_equal_copy() -> None:
    old = chain()
    result, changes = rewrite_references(old, copy.deepcopy(old))
    assert (result, changes) == (old, [])
    assert result is not old and result["prompts"][0] is not old["prompts"][0]


def test_new_prompts_are_not_rewritten() -> None:
    old = definition(prompt(1, "A", "x", 0))
    new = copy.deepcopy(old)
    by_id(new, 1)["name"] = "Renamed"
    new["prompts"].append(prompt(2, "Fresh", "{{a}}", 1))
    result, changes = rewrite_references(old, new)
    assert (by_id(result, 2)["content"], changes) == ("{{a}}", [])


def test_field_shadowing_a_slug_is_not_a_prompt_reference() -> None:
    old = definition(
        prompt(1, "User Input", "x", 0), prompt(2, "B", "{{user_input}} {{user-input}}", 1)
    )
    new = copy.deepcopy(old)
    by_id(new, 1)["name"] = "Raw"
    result, _ = rewrite_references(old, new)
    assert by_id(result, 2)["content"] == "{{user_input}} {{raw}}"
