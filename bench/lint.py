"""Lint benchmark: how long the builder's check takes on the largest assistants allowed.

The check runs on every keystroke pause in the builder and before every run, so it must stay
linear: 20 prompts of 100 kB each, and one prompt of 10,000,000 characters made of the pieces that
could trip a scanner into quadratic work. Prints the best of N runs per case (ms) and, for the
huge cases, the ratio to half the size — ≈ 2 means linear, ≈ 4 quadratic.

    .venv/bin/python -m bench.lint [--runs 5]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from app.chain.definition import MAX_CONTENT_CHARS, MAX_PROMPTS
from app.chain.lint import lint

MODEL = {"id": 1, "name": "Demo", "model_id": "demo/offline", "active": True}


def _definition(*contents: str) -> dict:
    prompts = [
        {
            "id": None,
            "name": f"P{i}",
            "content": content,
            "system_context": None,
            "position": i,
            "sort_order": 0,
            "input_mapping": {},
            "model": MODEL,
            "fallback_model": None,
        }
        for i, content in enumerate(contents)
    ]
    field = {"name": "user_input", "label": "User input", "field_type": "long_text"}
    return {
        "assistant": {"id": 1, "name": "A", "version": 1, "timeout_seconds": None},
        "fields": [{**field, "position": 0, "options": {}}],
        "prompts": prompts,
    }


def best_ms(runs: int, work: Any) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    prose = "The quick brown fox jumps over the lazy dog. " * 200 + '{"a": 1} {{user_input}}\n'
    body = (prose * (100_000 // len(prose) + 1))[:100_000]
    wide = _definition(*([body] * MAX_PROMPTS))
    print(f"20 prompts × 100 kB: {best_ms(runs, lambda: lint(wide)):8.1f} ms")
    for unit in ["a", "{{", "}}", "{}", "${", "{{a}}", "{x}}", "{{a ", " {{"]:
        full = _definition(unit * (MAX_CONTENT_CHARS // len(unit)))
        half = _definition(unit * (MAX_CONTENT_CHARS // 2 // len(unit)))
        full_ms = best_ms(max(1, runs // 2), lambda d=full: lint(d))
        half_ms = best_ms(max(1, runs // 2), lambda d=half: lint(d))
        print(f"10M chars of {unit!r:8}: {full_ms:8.1f} ms   ×{full_ms / half_ms:.2f} vs 5M")


if __name__ == "__main__":
    main()
