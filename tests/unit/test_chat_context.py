"""What a follow-up question sends to the model, and how it is cut to the context window."""

from __future__ import annotations

from app.chain.chat_context import CHARS_PER_TOKEN, Piece, build_context, run_pieces


def test_everything_fits_in_order_without_a_note():
    pieces = run_pieces({"topic": "tides", "tags": ["sea", "moon"]}, [(1, "Analyze", "Out 1")])
    context = build_context(
        assistant_name="Helper",
        pieces=pieces,
        turns=[("Q1", "A1")],
        question="Q2",
        window=8_000,
    )
    assert [m["role"] for m in context.messages] == ["system", "user", "assistant", "user"]
    system = context.messages[0]["content"]
    assert "“Helper”" in system and "tides" in system and "sea, moon" in system
    assert "## Output of prompt 1, “Analyze”\nOut 1" in system
    assert context.messages[-1]["content"] == "Q2" and context.note is None


def test_the_longest_pieces_are_cut_first_and_the_note_says_so():
    pieces = [Piece("short", "s" * 100), Piece("long", "l" * 40_000)]
    context = build_context(
        assistant_name="A", pieces=pieces, turns=[], question="Q?", window=2_000
    )
    system = context.messages[0]["content"]
    assert "s" * 100 in system  # the short piece is whole
    assert "characters cut to fit the model's context window" in system
    assert len(system) < 2_000 * CHARS_PER_TOKEN
    assert context.note and "(2,000 tokens)" in context.note and "were cut" in context.note
    assert context.tokens <= 2_000


def test_old_exchanges_go_before_the_latest_and_the_question_always_stays():
    turns = [(f"question {i} " + "x" * 2_000, f"answer {i} " + "y" * 2_000) for i in range(6)]
    context = build_context(
        assistant_name="A", pieces=[], turns=turns, question="Now?", window=4_000
    )
    sent = [m["content"][:10] for m in context.messages[1:-1]]
    assert sent and sent[-2:] == ["question 5", "answer 5 y"]  # the latest exchange is kept
    assert "question 0" not in sent  # the oldest went first
    assert context.messages[-1]["content"] == "Now?"
    assert "earlier exchanges left out" in context.note


def test_an_unknown_window_uses_the_default():
    context = build_context(assistant_name="A", pieces=[], turns=[], question="Q", window=None)
    assert context.window == 8_192
