"""What a follow-up question sends to the model: the run, earlier turns, the question — capped.

Pure functions of plain data (no database, no Flask). Priority when the model's context window is
too small: the question always; then the most recent earlier exchange(s) (up to a quarter of the
room); then the run's inputs and outputs, the longest pieces cut first; then older exchanges while
they fit. Whatever was left out is said in `note`, which the page shows under the answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4  # the builder's estimate (app.builder_check); no tokenizer per model here
DEFAULT_WINDOW = 8_192  # a model whose context window nobody entered
MAX_REPLY_RESERVE = 4_096  # tokens kept free for the answer
MIN_PIECE_CHARS = 200  # a cut piece keeps at least this much, when there is any room at all
CUT_MARK = "\n[… {chars:,} characters cut to fit the model's context window …]"


@dataclass(frozen=True)
class Piece:
    """One section of the run: an input value or a prompt's output."""

    title: str
    text: str


@dataclass(frozen=True)
class ChatContext:
    messages: list[dict[str, str]]
    tokens: int  # estimated tokens sent
    window: int
    note: str | None  # what was cut or left out, in plain words; None when everything fitted


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def reply_reserve(window: int) -> int:
    return min(max(window // 4, 256), MAX_REPLY_RESERVE)


def run_pieces(
    input_data: Mapping[str, Any], outputs: Sequence[tuple[int, str, str | None]]
) -> list[Piece]:
    """The run's inputs (multi-select values joined) and each prompt's output, in step order."""
    pieces = []
    for name, value in input_data.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        pieces.append(Piece(f"Input “{name}”", str(value if value is not None else "")))
    for step, name, output in outputs:
        pieces.append(Piece(f"Output of prompt {step}, “{name}”", output or "(no output)"))
    return pieces


def _system_text(assistant_name: str, pieces: Sequence[Piece]) -> str:
    head = (
        f"You answer follow-up questions about one run of the assistant “{assistant_name}”. "
        "Its inputs and the output of each of its prompts follow. Answer from them; when they "
        "do not hold the answer, say so."
    )
    body = "\n\n".join(f"## {p.title}\n{p.text}" for p in pieces)
    return f"{head}\n\n{body}" if body else head


def _clip(pieces: Sequence[Piece], budget_chars: int) -> tuple[list[Piece], int]:
    """Cut the longest pieces first to a common length so the texts fit; returns chars cut."""
    total = sum(len(p.text) for p in pieces)
    if total <= budget_chars:
        return list(pieces), 0
    lengths = sorted(len(p.text) for p in pieces)
    room, cap = max(budget_chars, 0), 0
    for index, length in enumerate(lengths):  # water-filling: the largest cap that fits
        remaining = len(lengths) - index
        if length * remaining > room:
            cap = room // remaining
            break
        room -= length
    else:
        cap = lengths[-1]
    cap = max(cap, MIN_PIECE_CHARS) if budget_chars > 0 else 0
    clipped, cut = [], 0
    for p in pieces:
        if len(p.text) > cap:
            lost = len(p.text) - cap
            cut += lost
            clipped.append(Piece(p.title, p.text[:cap] + CUT_MARK.format(chars=lost)))
        else:
            clipped.append(p)
    return clipped, cut


def build_context(
    *,
    assistant_name: str,
    pieces: Sequence[Piece],
    turns: Sequence[tuple[str, str]],
    question: str,
    window: int | None,
) -> ChatContext:
    """Messages for the model: system (the run), earlier (question, answer) pairs, the question."""
    window = window if window and window > 0 else DEFAULT_WINDOW
    room = window - reply_reserve(window) - estimate_tokens(question)
    room -= estimate_tokens(_system_text(assistant_name, []))
    turn_cost = [estimate_tokens(q) + estimate_tokens(a) for q, a in turns]
    kept: set[int] = set()
    recent_room = room // 4
    for index in reversed(range(len(turns))):  # the latest exchanges first, a quarter at most
        if turn_cost[index] > recent_room:
            break
        kept.add(index)
        recent_room -= turn_cost[index]
    room -= sum(turn_cost[i] for i in kept)
    titles = sum(estimate_tokens(f"## {p.title}\n\n\n") for p in pieces)
    clipped, cut = _clip(pieces, (room - titles) * CHARS_PER_TOKEN)
    room -= titles + sum(estimate_tokens(p.text) for p in clipped)
    for index in reversed(range(len(turns))):  # then older ones while they fit
        if index not in kept and turn_cost[index] <= room:
            kept.add(index)
            room -= turn_cost[index]
    messages = [{"role": "system", "content": _system_text(assistant_name, clipped)}]
    for index, (q, a) in enumerate(turns):
        if index in kept:
            messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    messages.append({"role": "user", "content": question})
    notes = []
    if cut:
        notes.append(f"{cut:,} characters of the run's inputs and outputs were cut")
    if len(kept) < len(turns):
        left = len(turns) - len(kept)
        notes.append(f"{left} earlier exchange{'s' if left != 1 else ''} left out")
    note = None
    if notes:
        note = f"To fit the model's context window ({window:,} tokens): " + "; ".join(notes) + "."
    tokens = sum(estimate_tokens(m["content"]) for m in messages)
    return ChatContext(messages=messages, tokens=tokens, window=window, note=note)
