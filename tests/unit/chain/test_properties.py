"""Property-based tests: the engine never raises, and its invariants hold for any text."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.chain.definition import slugify
from app.chain.lint import Finding, format_findings, lint
from app.chain.references import rewrite_references
from app.chain.variables import find_placeholders, render_prompt, scan_template, substitute

MODEL = {"id": 1, "name": "Demo", "model_id": "demo/echo", "provider": "demo", "is_active": True}
BRACEY = st.text(alphabet=st.sampled_from("{}{}{$ \n\tab_-é分1}"), max_size=60)
ANY_TEXT = st.one_of(st.text(max_size=200), BRACEY)
NAME = st.text(alphabet=st.sampled_from("abcXYZ_-é分9"), min_size=1, max_size=12)
LITERAL = st.text(alphabet=st.characters(blacklist_characters="{}$"), max_size=20)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)
SETTINGS = settings(max_examples=200, deadline=None)


def prompt(pid: int, name: str, content: str, position: int, **extra: Any) -> dict:
    return {
        "id": pid,
        "name": name,
        "content": content,
        "system_context": extra.get("system_context"),
        "position": position,
        "sort_order": extra.get("sort_order", 0),
        "input_mapping": extra.get("input_mapping", {}),
        "model": MODEL,
        "fallback_model": None,
    }


def definition(*prompts: dict) -> dict:
    field = {
        "name": "user_input",
        "label": "Text",
        "field_type": "long_text",
        "position": 0,
        "options": {},
    }
    return {
        "assistant": {"id": 1, "name": "A", "version": 1},
        "fields": [field],
        "prompts": list(prompts),
    }


@SETTINGS
@given(ANY_TEXT)
def test_substitute_never_raises_and_unresolved_text_is_unchanged(text: str) -> None:
    names = [p.name for p in find_placeholders(text)]
    assert substitute(text, lambda name: None) == (text, list(dict.fromkeys(names)))


@SETTINGS
@given(ANY_TEXT, ANY_TEXT)
def test_text_without_placeholders_is_identity(text: str, value: str) -> None:
    assume(find_placeholders(text) == [])
    assert substitute(text, lambda name: value) == (text, [])


@SETTINGS
@given(st.lists(st.tuples(LITERAL, NAME, st.booleans(), BRACEY), max_size=8), LITERAL)
def test_generated_templates_substitute_exactly_once(parts: list, tail: str) -> None:
    template, expected, names = "", "", []
    for literal, name, dollar, value in parts:
        template += literal + (f"${{{name}}}" if dollar else f"{{{{ {name} }}}}")
        expected += literal + value.upper()
        names.append(name)
    template += tail
    expected += tail
    assert [p.name for p in find_placeholders(template)] == names
    # Values full of braces are inserted as they are: never scanned again.
    values = iter(value.upper() for _, _, _, value in parts)
    assert substitute(template, lambda name: next(values)) == (expected, [])


@SETTINGS
@given(ANY_TEXT)
def test_scan_spans_are_ordered_disjoint_and_in_bounds(text: str) -> None:
    scan = scan_template(text)
    spans = sorted(
        [(p.start, p.end) for p in scan.placeholders] + [(p.start, p.end) for p in scan.problems]
    )
    last = 0
    for start, end in spans:
        assert last <= start < end <= len(text)
        last = end
    for placeholder in scan.placeholders:
        assert re.fullmatch(r"[\w-]+", placeholder.name)
        assert placeholder.name in text[placeholder.start : placeholder.end]


@SETTINGS
@given(ANY_TEXT, st.one_of(st.none(), ANY_TEXT), st.integers(0, 2))
def test_lint_and_render_never_raise_for_any_prompt_text(
    content: str, system_context: str | None, position: int
) -> None:
    d = definition(
        prompt(1, "Analyze", "{{user_input}}", 0),
        prompt(2, "Draft", content, position, system_context=system_context),
    )
    findings = lint(d)
    texts = {"content": content, "system_context": system_context or ""}
    for finding in findings:
        assert isinstance(finding, Finding) and finding.severity in ("error", "warning")
        if finding.start is not None and finding.end is not None and finding.field:
            assert 0 <= finding.start < finding.end <= len(texts[finding.field])
    errors = {f.message for f in findings if f.severity == "error"}
    assert len(format_findings(findings).splitlines()) == len(errors)
    rendered = render_prompt(d, 2, {"user_input": "U"}, {1: "A"})  # Draft is step 2
    if not errors:
        assert rendered.unresolved == []
        assert rendered.content == substitute(content, lambda n: {"user_input": "U"}.get(n, "A"))[0]


@SETTINGS
@given(JSON)
def test_lint_never_raises_on_arbitrary_json(value: Any) -> None:
    assert all(isinstance(f, Finding) for f in lint(value))
    assert all(isinstance(f, Finding) for f in lint({"prompts": [value], "fields": value}))


@SETTINGS
@given(st.dictionaries(st.sampled_from(list(prompt(1, "a", "", 0))), JSON))
def test_lint_never_raises_on_prompts_with_odd_values(fields: dict) -> None:
    d = definition(prompt(1, "Analyze", "{{user_input}}", 0), {**prompt(2, "B", "x", 1), **fields})
    assert all(isinstance(f, Finding) for f in lint(d))
    assert rewrite_references(d, d) == (d, [])


@SETTINGS
@given(st.text(max_size=40), st.integers(1, 20))
def test_slug_is_a_usable_placeholder_name(name: str, n: int) -> None:
    slug = slugify(name, n)
    assert re.fullmatch(r"[^\W_]+(?:-[^\W_]+)*", slug)  # letters and digits, single dashes
    assert [p.name for p in find_placeholders(f"{{{{{slug}}}}}")] == [slug]
    assert slugify(slug, n) == slug


@st.composite
def chains(draw: st.DrawFn) -> dict:
    """1-6 prompts with distinct names over stages 0-3, referring to each other in every form."""
    count = draw(st.integers(1, 6))
    names = draw(st.lists(st.sampled_from(WORDS), min_size=count, max_size=count, unique=True))
    positions = sorted(draw(st.lists(st.integers(0, 3), min_size=count, max_size=count)))
    prompts = []
    for i, (name, position) in enumerate(zip(names, positions, strict=True)):
        refs = draw(st.lists(st.integers(0, count - 1), max_size=4))
        pieces = ["{{user_input}}"]
        for j in refs:
            form = draw(st.sampled_from(["{{%s}}", "${%s}", "{{ %s }}"]))
            name_used = slugify(names[j], 0) if draw(st.booleans()) else f"prompt_{j + 1}_output"
            pieces.append(form % name_used)
        prompts.append(prompt(100 + i, name, " · ".join(pieces), position, sort_order=i))
    return definition(*prompts)


WORDS = ["Analyze", "Summary", "Résumé", "分析", "Draft Two", "Quiz", "Rubric!", "Feedback", "Plan"]


@SETTINGS
@given(chains(), st.data())
def test_rename_and_reorder_within_stages_keep_every_rendered_prompt(
    d: dict, data: st.DataObject
) -> None:
    new = copy.deepcopy(d)
    renamed = data.draw(st.sampled_from(new["prompts"]))
    renamed["name"] = data.draw(st.sampled_from(["Brand New", "Überblick", "新しい", "Z"]))
    for p in new["prompts"]:  # shuffle the order inside each stage: step numbers change
        p["sort_order"] = data.draw(st.integers(-5, 5))
    assume(len({slugify(p["name"], 0) for p in new["prompts"]}) == len(new["prompts"]))
    result, changes = rewrite_references(d, new)
    assert all(c.kind == "rewritten" for c in changes)

    def rendered_by_id(definition_: dict) -> dict[int, str]:
        ordered = sorted(definition_["prompts"], key=lambda p: (p["position"], p["sort_order"]))
        steps = {p["id"]: n for n, p in enumerate(ordered, start=1)}
        # Every earlier prompt's output is named after the prompt's id, which never changes.
        outputs = {n: f"<out {pid}>" for pid, n in steps.items()}
        return {
            pid: render_prompt(definition_, n, {"user_input": "U"}, outputs).content
            for pid, n in steps.items()
        }

    assert rendered_by_id(result) == rendered_by_id(d)
    assert rewrite_references(result, result) == (result, [])
