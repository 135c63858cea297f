"""The readable diff: changed words marked, everything escaped, sections matched sensibly."""

from __future__ import annotations

from app.versions_diff import diff_versions, word_diff


def _definition(**changes):
    base = {
        "assistant": {"name": "Helper", "timeout_seconds": None},
        "details": {"description": "Helps.", "image_path": "book", "audience": ["staff"]},
        "fields": [{"name": "topic", "label": "Topic", "field_type": "short_text", "options": {}}],
        "prompts": [
            {"id": 1, "name": "A", "content": "Write about {{topic}}", "position": 0},
            {"id": 2, "name": "B", "content": "Shorten {{prompt_1_output}}", "position": 1},
        ],
    }
    base.update(changes)
    return base


def test_word_diff_marks_only_the_changed_words():
    left, right = word_diff("The quick brown fox", "The slow brown fox jumps")
    assert str(left) == "The <del>quick</del> brown fox"
    assert str(right) == "The <ins>slow</ins> brown fox <ins>jumps</ins>"


def test_word_diff_escapes_everything():
    left, right = word_diff("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
    for text in (left, right):
        bare = str(text)
        for tag in ("<del>", "</del>", "<ins>", "</ins>"):
            bare = bare.replace(tag, "")
        assert "<" not in bare and ">" not in bare  # only our marks are markup
    assert "&lt;" in left and "img src=x" in right
    same, _ = word_diff("a & b", "a & b")
    assert str(same) == "a &amp; b"


def test_long_texts_fall_back_to_lines():
    old = "\n".join(f"line {n} word" for n in range(30_000))
    new = old.replace("line 5 word", "line 5 changed")
    left, right = word_diff(old, new)
    assert "<del>line 5 word</del>" in left and "<ins>line 5 changed</ins>" in right


def test_unchanged_versions_have_no_changed_sections():
    assert {s.kind for s in diff_versions(_definition(), _definition())} == {"same"}


def test_sections_for_details_fields_and_prompts():
    new = _definition(
        details={"description": "Helps a lot.", "image_path": "book", "audience": ["staff"]},
        fields=[{"name": "tone", "label": "Tone", "field_type": "select", "options": {}}],
        prompts=[
            {"id": 2, "name": "B", "content": "Shorten {{prompt_1_output}}", "position": 0},
            {"id": 3, "name": "C", "content": "New", "position": 1},
        ],
    )
    sections = {s.title: s for s in diff_versions(_definition(), new)}
    assert sections["Details"].kind == "changed"
    assert [r.label for r in sections["Details"].changed_rows] == ["Description"]
    assert sections["Field “Tone” ({{tone}})"].kind == "added"
    assert sections["Field “Topic” ({{topic}})"].kind == "removed"
    moved = sections["Prompt 1 “B”"]
    assert moved.kind == "changed" and [r.label for r in moved.changed_rows] == ["Runs in"]
    assert sections["Prompt 2 “C”"].kind == "added"
    assert sections["Prompt “A”"].kind == "removed"
