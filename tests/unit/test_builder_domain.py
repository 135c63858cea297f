"""The builder's pure parts: stage layouts, marked spans, renaming inputs, one prompt's check."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app import builder, builder_check
from app.schemas.builder import choices_text, parse_choices

MODEL = {"id": 1, "name": "Demo", "model_id": "demo/x", "provider": "demo", "is_active": True}


def definition(*prompts, fields=("user_input",)):
    return {
        "assistant": {"id": 1, "name": "T", "version": 0},
        "fields": [{"name": n, "label": n.title(), "field_type": "long_text"} for n in fields],
        "prompts": [
            {"id": i, "name": name, "content": content, "position": i - 1, "sort_order": 0}
            | {"model": {**MODEL, "max_tokens": 100}}
            for i, (name, content) in enumerate(prompts, start=1)
        ],
    }


def test_moves_swap_stages_and_leave_or_reorder_shared_ones():
    stages = [[1], [2, 3], [4]]
    assert builder.moved(stages, 4, "up") == [[1], [4], [2, 3]]
    assert builder.moved(stages, 3, "up") == [[1], [3, 2], [4]]
    assert builder.moved(stages, 2, "up") == [[1], [2], [3], [4]]
    assert builder.moved(stages, 3, "down") == [[1], [2], [3], [4]]
    assert builder.moved(stages, 1, "down") == [[2, 3], [1], [4]]
    assert not builder.can_move(stages, 1, "up") and not builder.can_move(stages, 4, "down")
    assert builder.can_move(stages, 2, "up") and builder.can_move(stages, 3, "down")
    assert stages == [[1], [2, 3], [4]]  # never mutated


def test_joining_separating_and_removing_keep_stages_contiguous():
    assert builder.joined_previous([[1], [2], [3]], 2) == [[1, 2], [3]]
    assert builder.can_join_previous([[1], [2, 3]], 2)
    assert not builder.can_join_previous([[1], [2, 3]], 3)
    assert not builder.can_join_previous([[1], [2]], 1)
    assert builder.separated([[1, 2], [3]], 1) == [[2], [1], [3]]
    assert builder.without([[1], [2, 3], [4]], 1) == [[2, 3], [4]]
    assert builder.without([[1], [2, 3], [4]], 3) == [[1], [2], [4]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["up", "down", "join", "sep"]))),
)
def test_any_sequence_of_changes_keeps_every_prompt_once(sizes, operations):
    ids = iter(range(1, 100))
    stages = [[next(ids) for _ in range(size)] for size in sizes]
    everyone = sorted(p for stage in stages for p in stage)
    for pick, operation in operations:
        prompt = everyone[pick % len(everyone)]
        if operation in ("up", "down") and builder.can_move(stages, prompt, operation):
            stages = builder.moved(stages, prompt, operation)
        elif operation == "join" and builder.can_join_previous(stages, prompt):
            stages = builder.joined_previous(stages, prompt)
        elif operation == "sep" and len(next(s for s in stages if prompt in s)) > 1:
            stages = builder.separated(stages, prompt)
        assert all(stages) and sorted(p for stage in stages for p in stage) == everyone


def test_marked_merges_overlaps_and_clamps():
    segments = builder_check.marked("abcdefgh", [(5, 99), (1, 3), (2, 4)])
    assert [(s.text, s.marked) for s in segments] == [
        ("a", False),
        ("bc", True),
        ("d", True),
        ("e", False),
        ("fgh", True),
    ]
    assert [(s.text, s.marked) for s in builder_check.marked("", [])] == [("", False)]


def test_rename_input_keeps_syntax_and_skips_mapped_names():
    before = definition(("A", "{{user_input}} and ${ user_input } not {{user_inputs}}"))
    before["prompts"].append(
        {"id": 9, "name": "B", "content": "{{user_input}}", "position": 1, "sort_order": 0}
        | {"input_mapping": {"user_input": "{{prompt_1_output}}", "x": "user_input"}}
    )
    after, messages = builder.rename_input(before, "user_input", "essay")
    assert after["prompts"][0]["content"] == "{{essay}} and ${ essay } not {{user_inputs}}"
    assert after["prompts"][1]["content"] == "{{user_input}}"  # the mapping decides that one
    assert after["prompts"][1]["input_mapping"] == {
        "user_input": "{{prompt_1_output}}",
        "x": "essay",
    }
    assert messages == [
        "In prompt “A”: {{user_input}} → {{essay}}",
        "In prompt “B”: {{user_input}} → {{essay}}",
    ]
    assert before["prompts"][0]["content"].startswith("{{user_input}}")  # not mutated


def test_check_prompt_applies_the_unsaved_edit():
    saved = definition(("Analyze", "{{user_input}}"), ("Summarize", "{{prompt_1_output}}"))
    check = builder_check.check_prompt(
        saved, 1, {"content": "Use {{prompt_2_output}}", "model": MODEL}
    )
    assert [f.kind for f in check.findings] == ["forward_reference"]
    assert [(s.text, s.marked) for s in check.content] == [
        ("Use ", False),
        ("{{prompt_2_output}}", True),
    ]
    assert check.tokens == 6 and check.window is None and not check.over_window
    new = builder_check.check_prompt(
        saved, None, {"content": "{{analyze}}" * 40, "model": MODEL | {"max_tokens": 10}}
    )
    assert new.findings == [] and new.over_window


def test_palette_lists_inputs_and_only_earlier_prompts():
    saved = definition(("Analyze", "{{user_input}}"), ("Summarize", "{{prompt_1_output}}"))
    inputs, earlier = builder.palette(saved, 2)
    assert [e.variable for e in inputs] == ["{{user_input}}"]
    assert [e.variable for e in earlier] == ["{{analyze}}", "{{prompt_1_output}}"]
    _, for_new = builder.palette(saved, None)
    assert "{{prompt_2_output}}" in [e.variable for e in for_new]
    assert builder.palette(saved, 1)[1] == []


def test_choices_round_trip():
    choices = parse_choices("ks1 | Key stage 1\n  \nks2|Key | stage 2\nplain")
    assert choices == [
        {"value": "ks1", "label": "Key stage 1"},
        {"value": "ks2", "label": "Key | stage 2"},
        {"value": "plain", "label": "plain"},
    ]
    assert parse_choices(choices_text(choices)) == choices
