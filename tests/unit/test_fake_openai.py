"""The fake OpenAI-compatible server itself, spoken to with plain httpx."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.fake_openai import FakeOpenAIServer, answer_text, answer_tokens


def chat(prompt: str, **extra: object) -> dict:
    return {"model": "fake-model", "messages": [{"role": "user", "content": prompt}], **extra}


def sse_payloads(response: httpx.Response) -> list[str]:
    return [line.removeprefix("data: ") for line in response.iter_lines() if line]


def test_answer_echoes_the_prompt_in_word_pieces() -> None:
    assert answer_tokens("Summarize:  a  b") == ["echo: ", "Summarize: ", "a ", "b"]
    assert answer_text("[[slow:10]] hello [[no-usage]] world") == "echo: hello world"


def test_fixed_token_count_pads_or_cuts() -> None:
    assert answer_tokens("a b", tokens=5) == ["echo: ", "a ", "b ", "w3 ", "w4"]
    assert answer_tokens("a b c d e f", tokens=3) == ["echo: ", "a ", "b"]


def test_models_endpoint(fake_openai: FakeOpenAIServer) -> None:
    response = httpx.get(f"{fake_openai.base_url}/models")
    assert response.status_code == 200
    assert response.json()["data"] == [{"id": "fake-model", "object": "model"}]


def test_non_streaming_completion(fake_openai: FakeOpenAIServer) -> None:
    response = httpx.post(f"{fake_openai.base_url}/chat/completions", json=chat("hi there"))
    body = response.json()
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "echo: hi there"}
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_streaming_sends_deltas_usage_then_done(fake_openai: FakeOpenAIServer) -> None:
    request = chat("hi there", stream=True, stream_options={"include_usage": True})
    with httpx.stream("POST", f"{fake_openai.base_url}/chat/completions", json=request) as response:
        assert response.headers["content-type"] == "text/event-stream"
        payloads = sse_payloads(response)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads[:-1]]
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert deltas == ["echo: ", "hi ", "there", None]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_usage_chunk_only_when_asked(fake_openai: FakeOpenAIServer) -> None:
    url = f"{fake_openai.base_url}/chat/completions"
    with httpx.stream("POST", url, json=chat("hi", stream=True)) as response:
        payloads = sse_payloads(response)
    assert not any("usage" in payload for payload in payloads)


def test_requests_are_recorded_with_headers_and_body(fake_openai: FakeOpenAIServer) -> None:
    headers = {"Authorization": "Bearer sk-abc"}
    httpx.post(f"{fake_openai.base_url}/chat/completions", json=chat("x"), headers=headers)
    [recorded] = fake_openai.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.headers["authorization"] == "Bearer sk-abc"
    assert recorded.body == chat("x")
    assert recorded.last_user_message == "x"


def test_fail_times_fails_then_succeeds(fake_openai: FakeOpenAIServer) -> None:
    url = f"{fake_openai.base_url}/chat/completions"
    statuses = [httpx.post(url, json=chat("[[fail-times:2:503]] q")).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert httpx.post(url, json=chat("[[fail:429]]")).json()["error"]["code"] == "429"


def test_scripted_queue_comes_before_markers(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.script("fail:500", "ok")
    url = f"{fake_openai.base_url}/chat/completions"
    statuses = [httpx.post(url, json=chat("[[fail:401]]")).status_code for _ in range(3)]
    assert statuses == [500, 200, 401]


def test_slow_marker_paces_tokens(fake_openai: FakeOpenAIServer) -> None:
    url = f"{fake_openai.base_url}/chat/completions"
    began = time.monotonic()
    httpx.post(url, json=chat("[[slow:40]] a b c d", stream=True))
    assert time.monotonic() - began >= 5 * 0.040 * 0.9  # five pieces, 40 ms before each


def test_client_disconnects_are_counted(fake_openai: FakeOpenAIServer) -> None:
    request = chat("[[slow:50]] " + "w " * 40, stream=True)
    with httpx.stream("POST", f"{fake_openai.base_url}/chat/completions", json=request) as response:
        next(response.iter_lines())
    assert fake_openai.wait_for_disconnects(1, timeout=3)
    assert fake_openai.disconnects == 1


def test_hang_holds_until_the_client_gives_up(fake_openai: FakeOpenAIServer) -> None:
    url = f"{fake_openai.base_url}/chat/completions"
    try:
        httpx.post(url, json=chat("[[hang]]"), timeout=0.2)
        raise AssertionError("a hang must not answer")
    except httpx.ReadTimeout:
        pass
    assert fake_openai.wait_for_disconnects(1, timeout=3)


def test_runs_as_a_standalone_process() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tests.support.fake_openai", "--port", str(port)]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [*command, "--tokens", "4"], stdout=subprocess.PIPE, text=True, cwd=root
    )
    try:
        assert process.stdout is not None
        assert (
            process.stdout.readline().strip() == f"fake OpenAI server on http://127.0.0.1:{port}/v1"
        )
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        body = httpx.post(url, json=chat("one two three four five")).json()
        assert body["choices"][0]["message"]["content"] == "echo: one two three"
    finally:
        process.terminate()
        process.wait(timeout=5)
