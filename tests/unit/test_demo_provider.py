"""The offline demo model: deterministic, built from its prompt, at a configurable speed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import litellm
import pytest

from app.chain.demo_provider import (
    DEMO_MODEL_ID,
    DEMO_MODEL_NAME,
    answer_pieces,
    configure_demo,
    demo_answer,
    demo_delay_seconds,
)
from app.chain.providers import CompletionStream, ModelSpec, stream_completion

DEMO = ModelSpec(1, DEMO_MODEL_NAME, DEMO_MODEL_ID, "demo")


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DEMO_MODEL_DELAY_MS", raising=False)
    configure_demo(delay_ms=0)
    yield
    configure_demo(delay_ms=None)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def streamed(messages: list[dict], **kwargs: int) -> tuple[list[str], CompletionStream]:
    stream = stream_completion(DEMO, messages, timeout=5, **kwargs)
    return list(stream), stream


def test_answer_is_built_from_the_prompt() -> None:
    answer = demo_answer(user("Analyze this:   the water\ncycle and evaporation"))
    assert answer == (
        "**Offline demo — no AI.** You asked me to: "
        "Analyze this: the water cycle and evaporation\n\n"
        "- Point 1: what the prompt says about **analyze**.\n"
        "- Point 2: what the prompt says about **water**.\n"
        "- Point 3: what the prompt says about **cycle**.\n"
        "- Point 4: what the prompt says about **evaporation**.\n\n"
        "_7 words received; no model was called._"
    )


def test_only_the_last_user_message_counts() -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        *user("first question"),
        {"role": "assistant", "content": "an answer"},
        *user("second question"),
    ]
    assert "You asked me to: second question\n" in demo_answer(messages)


def test_long_prompts_are_cut_to_an_excerpt() -> None:
    prompt = "word " * 100
    answer = demo_answer(user(prompt))
    excerpt = " ".join(prompt.split())[:200] + "…"
    assert f"You asked me to: {excerpt}\n" in answer
    assert "_100 words received" in answer


def test_streaming_is_deterministic_byte_for_byte() -> None:
    messages = user("Summarize: photosynthesis turns light into chemical energy")
    first, stream = streamed(messages)
    second, _ = streamed(messages)
    assert first == second == answer_pieces(demo_answer(messages))
    assert "".join(first) == demo_answer(messages)
    assert stream.finish_reason == "stop"


def test_a_chain_visibly_passes_text_along() -> None:
    first = "".join(streamed(user("Analyze this: volcanoes"))[0])
    second = "".join(streamed(user(f"Summarize: {first}"))[0])
    assert (
        "You asked me to: Summarize: **Offline demo — no AI.** You asked me to: Analyze" in second
    )


def test_usage_is_reported_on_the_final_chunk() -> None:
    messages = [{"role": "system", "content": "Be kind."}, *user("three words here")]
    pieces, stream = streamed(messages)
    usage = stream.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (
        5,
        len(pieces),
        False,
    )


def test_output_cap_cuts_the_answer() -> None:
    pieces, stream = streamed(user("Analyze this: tides"), max_tokens=4)
    assert pieces == answer_pieces(demo_answer(user("Analyze this: tides")))[:4]
    assert stream.finish_reason == "length"


def test_non_streaming_completion_returns_the_same_text() -> None:
    messages = user("Explain gravity")
    response = litellm.completion(model=DEMO_MODEL_ID, messages=messages)
    assert response.choices[0].message.content == demo_answer(messages)
    assert response.usage.completion_tokens == len(answer_pieces(demo_answer(messages)))


def test_delay_setting_paces_the_stream() -> None:
    messages = user("pace")
    configure_demo(delay_ms=0)
    streamed(messages, max_tokens=1)  # warm up litellm's lazy imports before timing
    began = time.monotonic()
    fast, _ = streamed(messages, max_tokens=10)
    fast_seconds = time.monotonic() - began
    configure_demo(delay_ms=60)
    began = time.monotonic()
    slow, _ = streamed(messages, max_tokens=10)
    slow_seconds = time.monotonic() - began
    assert len(fast) == len(slow) == 10
    assert slow_seconds >= 10 * 0.060 * 0.9  # ten pieces, each after a 60 ms pause
    assert fast_seconds < slow_seconds / 2


def test_delay_comes_from_the_environment_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_demo(delay_ms=None)
    assert demo_delay_seconds() == 0.020  # the default
    monkeypatch.setenv("DEMO_MODEL_DELAY_MS", "30")
    assert demo_delay_seconds() == 0.030
    began = time.monotonic()
    streamed(user("pace"), max_tokens=8)
    assert time.monotonic() - began >= 8 * 0.030 * 0.9
    monkeypatch.setenv("DEMO_MODEL_DELAY_MS", "not a number")
    assert demo_delay_seconds() == 0.020
    monkeypatch.setenv("DEMO_MODEL_DELAY_MS", "0")
    assert demo_delay_seconds() == 0.0
    configure_demo(delay_ms=5)  # an explicit setting wins over the environment
    assert demo_delay_seconds() == 0.005
