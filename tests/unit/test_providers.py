"""Providers through litellm against the fake OpenAI-compatible server: real HTTP on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import litellm
import pytest

from app.chain.demo_provider import configure_demo
from app.chain.providers import (
    AuthenticationFailed,
    BadRequest,
    CompletionStream,
    InvalidResponse,
    ModelNotFound,
    ModelSpec,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    TokenUsage,
    compute_cost,
    stream_completion,
)
from tests.support.fake_openai import FakeOpenAIServer, answer_tokens, count_prompt_tokens

KEY = "sk-test-0123456789abcdef"
ENV = {"FAKE_API_KEY": KEY}


def fake_spec(server: FakeOpenAIServer, **overrides: object) -> ModelSpec:
    values: dict = {
        "id": 1,
        "name": "Fake GPT",
        "model_id": "openai/fake-model",
        "provider": "openai",
        "api_base": server.base_url,
        "api_key_env": "FAKE_API_KEY",
    }
    return ModelSpec(**{**values, **overrides})


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def start(server: FakeOpenAIServer, prompt: str, **kwargs: object) -> CompletionStream:
    options: dict = {"timeout": 2.0, "env": ENV, **kwargs}
    return stream_completion(fake_spec(server), user(prompt), **options)


@pytest.fixture(params=["direct", "wrapper"])
def read_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a stream is read: the openai SDK's chunks directly (no litellm callback), and
    litellm's wrapper (a callback registered, so it hears every chunk): the same behaviour."""
    if request.param == "wrapper":
        monkeypatch.setattr(litellm, "success_callback", [lambda *args, **kwargs: None])
    return str(request.param)


def test_openai_compatible_streams_are_read_direct_unless_litellm_listens(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = start(fake_openai, "hello")
    assert stream.direct is True
    assert "".join(stream) == "echo: hello"
    monkeypatch.setattr(litellm, "success_callback", [lambda *args, **kwargs: None])
    heard = start(fake_openai, "hello")
    assert heard.direct is False
    assert "".join(heard) == "echo: hello"
    assert heard.usage == stream.usage


def test_deltas_arrive_in_order_with_reported_usage(
    fake_openai: FakeOpenAIServer, read_path: str
) -> None:
    prompt = "Analyze this: the water cycle"
    stream = start(fake_openai, prompt)
    deltas = list(stream)
    assert deltas == answer_tokens(prompt)
    assert "".join(deltas) == "echo: Analyze this: the water cycle"
    assert stream.finish_reason == "stop"
    assert stream.usage == TokenUsage(prompt_tokens=5, completion_tokens=6, estimated=False)


def test_request_carries_model_stream_options_and_parameters(fake_openai: FakeOpenAIServer) -> None:
    list(start(fake_openai, "hello", temperature=0.2, max_tokens=77))
    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-model"
    assert request.body["messages"] == user("hello")
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == 77


def test_key_comes_from_the_named_environment_variable(fake_openai: FakeOpenAIServer) -> None:
    list(start(fake_openai, "hello"))
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_missing_key_variable_fails_clearly_without_calling(fake_openai: FakeOpenAIServer) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        start(fake_openai, "hello", env={})
    assert caught.value.retryable is False
    assert "FAKE_API_KEY" in caught.value.message
    assert fake_openai.requests == []


def test_key_variable_must_be_named_like_a_key(fake_openai: FakeOpenAIServer) -> None:
    spec = fake_spec(fake_openai, api_key_env="DATABASE_URL")
    env = {"DATABASE_URL": "postgres://secret"}
    with pytest.raises(AuthenticationFailed, match="must end in _API_KEY"):
        stream_completion(spec, user("hi"), timeout=1, env=env)
    allowed = stream_completion(
        spec, user("hi"), timeout=1, env=env, key_env_allowlist={"DATABASE_URL"}
    )
    assert list(allowed) == answer_tokens("hi")
    assert fake_openai.requests[0].headers["authorization"] == "Bearer postgres://secret"


def test_a_server_without_key_never_receives_the_default_openai_key(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-to-other-servers")
    spec = fake_spec(fake_openai, api_key_env=None)
    assert list(stream_completion(spec, user("hi"), timeout=1)) == answer_tokens("hi")
    assert fake_openai.requests[0].headers["authorization"] == "Bearer no-key"


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (429, RateLimited, True),
        (500, ProviderUnavailable, True),
        (503, ProviderUnavailable, True),
        (401, AuthenticationFailed, False),
        (403, AuthenticationFailed, False),
        (404, ModelNotFound, False),
        (400, BadRequest, False),
        (422, BadRequest, False),
    ],
)
def test_http_failures_map_to_typed_errors(
    fake_openai: FakeOpenAIServer, status: int, kind: type[ProviderError], retryable: bool
) -> None:
    with pytest.raises(ProviderError) as caught:
        list(start(fake_openai, f"[[fail:{status}]] hello"))
    assert type(caught.value) is kind
    assert caught.value.retryable is retryable
    assert caught.value.status == status
    assert f"HTTP {status}" in caught.value.message
    assert KEY not in caught.value.message
    assert len(fake_openai.requests) == 1  # no hidden retries: retrying is the runner's call


def test_messages_are_plain_words(fake_openai: FakeOpenAIServer) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        start(fake_openai, "[[fail:401]]")
    assert refused.value.message == "The provider refused the API key (HTTP 401)."
    with pytest.raises(BadRequest) as rejected:
        start(fake_openai, "[[fail:400]]")
    assert (
        rejected.value.message
        == "The provider rejected the request (HTTP 400): Scripted failure 400."
    )
    with pytest.raises(ModelNotFound) as unknown:
        start(fake_openai, "[[fail:404]]")
    assert (
        unknown.value.message
        == "The provider does not know the model openai/fake-model (HTTP 404)."
    )


def test_fail_times_then_success(fake_openai: FakeOpenAIServer) -> None:
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            start(fake_openai, "[[fail-times:2:500]] hello")
    assert "".join(start(fake_openai, "[[fail-times:2:500]] hello")) == "echo: hello"
    assert len(fake_openai.requests) == 3


def test_unparseable_stream_is_invalid_response(
    fake_openai: FakeOpenAIServer, read_path: str
) -> None:
    with pytest.raises(InvalidResponse) as caught:
        list(start(fake_openai, "[[invalid-json]] hello"))
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("marker", "arrived"),
    [("cut-after:3", 3), ("error-after:2", 2)],  # the socket cut; an error event, as OpenAI sends
)
def test_stream_cut_midway_is_retryable_and_keeps_what_arrived(
    fake_openai: FakeOpenAIServer, read_path: str, marker: str, arrived: int
) -> None:
    prompt = f"[[{marker}]] one two three four five"
    stream = start(fake_openai, prompt)
    received = []
    with pytest.raises(ProviderUnavailable) as caught:
        received.extend(stream)
    assert received == answer_tokens(prompt)[:arrived]
    assert caught.value.retryable is True
    assert caught.value.message == "The provider's answer was cut off before it finished."


def test_unreachable_provider_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = ModelSpec(1, "Gone", "openai/fake-model", "openai", f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ProviderUnavailable, match="Could not reach the provider") as caught:
        stream_completion(spec, user("hi"), timeout=1)
    assert caught.value.retryable is True


def test_hanging_provider_times_out(fake_openai: FakeOpenAIServer) -> None:
    began = time.monotonic()
    with pytest.raises(ProviderTimeout) as caught:
        list(start(fake_openai, "[[hang]] hello", timeout=0.3))
    elapsed = time.monotonic() - began
    assert 0.25 <= elapsed < 1.5
    assert caught.value.retryable is True
    assert caught.value.message == "The model did not start answering within 0.3 seconds."


def test_stall_midway_times_out_after_the_chunks_sent(
    fake_openai: FakeOpenAIServer, read_path: str
) -> None:
    prompt = "[[stall-after:3]] one two three four"
    stream = start(fake_openai, prompt, timeout=0.3)
    received = []
    began = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"stopped answering for 0\.3 seconds"):
        received.extend(stream)
    assert 0.25 <= time.monotonic() - began < 1.5
    assert received == answer_tokens(prompt)[:3]
    assert fake_openai.wait_for_disconnects(1)  # the timed-out connection was released


def test_total_timeout_caps_a_stream_that_keeps_dribbling(
    fake_openai: FakeOpenAIServer, read_path: str
) -> None:
    prompt = "[[slow:50]] " + " ".join(f"w{i}" for i in range(40))
    stream = start(fake_openai, prompt, timeout=1.0, total_timeout=0.3)
    received = []
    with pytest.raises(ProviderTimeout, match="time limit"):
        received.extend(stream)
    assert len(received) < 20  # cut well before the 41 pieces at 50 ms each


def test_close_releases_the_connection(fake_openai: FakeOpenAIServer, read_path: str) -> None:
    prompt = "[[slow:50]] " + " ".join(f"w{i}" for i in range(40))
    stream = start(fake_openai, prompt)
    first_two = [next(stream), next(stream)]
    stream.close()
    assert first_two == answer_tokens(prompt)[:2]
    assert fake_openai.wait_for_disconnects(1, timeout=3)
    assert list(stream) == []  # a closed stream simply ends
    stream.close()  # idempotent


def test_usage_is_estimated_when_the_provider_sends_none(
    fake_openai: FakeOpenAIServer, read_path: str
) -> None:
    stream = start(fake_openai, "[[no-usage]] count these words please")
    assert "".join(stream) == "echo: count these words please"
    assert stream.usage is not None
    assert stream.usage.estimated is True
    assert stream.usage.prompt_tokens > 0
    assert stream.usage.completion_tokens > 0


def test_usage_without_both_counts_does_not_fail_the_answer(
    fake_openai: FakeOpenAIServer, read_path: str
) -> None:
    stream = start(fake_openai, "[[partial-usage]] count these words please")
    assert "".join(stream) == "echo: count these words please"
    assert stream.usage is not None and stream.usage.completion_tokens > 0
    if read_path == "direct":  # counted by litellm instead (its wrapper reports 0 prompt tokens)
        assert stream.usage.estimated and stream.usage.prompt_tokens > 0


def test_reported_usage_matches_the_server(fake_openai: FakeOpenAIServer, read_path: str) -> None:
    messages = [{"role": "system", "content": "Be brief."}, *user("one two three")]
    stream = stream_completion(fake_spec(fake_openai), messages, timeout=2, env=ENV)
    list(stream)
    expected_prompt = count_prompt_tokens({"messages": messages})
    assert stream.usage == TokenUsage(expected_prompt, 4, estimated=False)


def test_demo_model_needs_no_key_and_streams() -> None:
    spec = ModelSpec(2, "Offline demo — no AI", "demo/offline", "demo")
    configure_demo(delay_ms=0)
    try:
        stream = stream_completion(spec, user("Summarize: photosynthesis"), timeout=5)
        text = "".join(stream)
    finally:
        configure_demo(delay_ms=None)
    assert text.startswith("**Offline demo — no AI.** You asked me to: Summarize: photosynthesis")
    assert stream.direct is False  # litellm's custom provider: read through its wrapper
    assert stream.finish_reason == "stop"
    assert stream.usage is not None
    assert stream.usage.estimated is False


def test_cost_from_row_prices() -> None:
    spec = ModelSpec(
        1, "Priced", "openai/whatever", "openai",
        input_cost_per_1k=Decimal("0.5"), output_cost_per_1k=Decimal("1.5"),
    )  # fmt: skip
    assert compute_cost(spec, 1000, 2000) == Decimal("3.50000000")
    assert compute_cost(spec, 1, 0) == Decimal("0.00050000")
    assert str(compute_cost(spec, 0, 0)) == "0E-8"


def test_row_prices_win_over_the_litellm_map() -> None:
    spec = ModelSpec(
        1, "Mini", "openai/gpt-4o-mini", "openai",
        input_cost_per_1k=Decimal("1"), output_cost_per_1k=Decimal("1"),
    )  # fmt: skip
    assert compute_cost(spec, 1000, 1000) == Decimal("2.00000000")


def test_cost_from_litellm_map_for_a_known_model() -> None:
    spec = ModelSpec(1, "Mini", "openai/gpt-4o-mini", "openai")
    info = litellm.get_model_info("openai/gpt-4o-mini")
    expected = (
        Decimal(str(info["input_cost_per_token"])) * 1000
        + Decimal(str(info["output_cost_per_token"])) * 1000
    ).quantize(Decimal("0.00000001"))
    assert compute_cost(spec, 1000, 1000) == expected
    assert expected > 0


def test_unknown_and_demo_models_are_unpriced() -> None:
    assert compute_cost(ModelSpec(1, "Local", "openai/my-llama", "openai"), 10, 10) is None
    assert compute_cost(ModelSpec(2, "Demo", "demo/offline", "demo"), 10, 10) is None


def test_model_spec_from_a_row_or_a_snapshot() -> None:
    row = {
        "id": 3,
        "name": "Mini",
        "model_id": "openai/gpt-4o-mini",
        "provider": "openai",
        "api_base": "",
        "api_key_env": "OPENAI_API_KEY",
        "max_tokens": 128000,
        "input_cost_per_1k": 0.15,
        "output_cost_per_1k": None,
        "is_active": True,
    }
    spec = ModelSpec.from_row(row)
    assert spec == ModelSpec(
        3, "Mini", "openai/gpt-4o-mini", "openai", None, "OPENAI_API_KEY", 128000,
        Decimal("0.15"), None,
    )  # fmt: skip

    class Row:
        id, name, model_id, provider = 4, "Demo", "demo/offline", "demo"
        api_base = api_key_env = max_tokens = input_cost_per_1k = output_cost_per_1k = None

    assert ModelSpec.from_row(Row()).is_demo


def test_litellm_is_configured_at_its_cheapest() -> None:
    assert litellm.disable_streaming_logging is True
    assert isinstance(litellm.client_session, httpx.Client)  # shared, without the 100 cap
    assert litellm.callbacks == []
    assert litellm.success_callback == []
    assert litellm._async_success_callback == []
    assert litellm.failure_callback == []
    assert any(entry["provider"] == "demo" for entry in litellm.custom_provider_map)


def test_close_from_another_thread_ends_a_stalled_read_at_once(
    fake_openai: FakeOpenAIServer, read_path: str
) -> None:
    stream = start(fake_openai, "[[stall-after:2]] one two three", timeout=10)
    received = [next(stream), next(stream)]
    ended = threading.Event()

    def read_rest() -> None:
        received.extend(stream)  # blocks: the server has stalled
        ended.set()

    reader = threading.Thread(target=read_rest)
    reader.start()
    time.sleep(0.1)
    began = time.monotonic()
    stream.close()
    assert ended.wait(timeout=3)
    assert time.monotonic() - began < 2  # not the 10 s read timeout
    assert received == ["echo: ", "one "]
    assert fake_openai.wait_for_disconnects(1, timeout=3)
    reader.join()


def test_a_finished_stream_is_not_a_disconnect(
    fake_openai: FakeOpenAIServer, read_path: str
) -> None:
    list(start(fake_openai, "first"))
    list(start(fake_openai, "second"))
    assert len(fake_openai.requests) == 2
    assert not fake_openai.wait_for_disconnects(1, timeout=0.2)


GEVENT_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import json, sys, time
import gevent
from app.chain.providers import ModelSpec, ProviderTimeout, stream_completion

spec = ModelSpec(1, "Fake", "openai/fake-model", "openai", sys.argv[1])
def ask(prompt, timeout):
    return stream_completion(spec, [{"role": "user", "content": prompt}], timeout=timeout)
def timed_out(prompt):
    began = time.monotonic()
    try:
        list(ask(prompt, 0.3))
    except ProviderTimeout:
        return round(time.monotonic() - began, 2)
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.05)) for _ in range(10)])
stalled = ask("[[stall-after:1]] a b", 10)
first = next(stalled)
reader = gevent.spawn(lambda: list(stalled))
gevent.sleep(0.1)
began = time.monotonic()
stalled.close()
reader.join(timeout=3)
print(json.dumps({
    "text": "".join(ask("hello gevent", 2)),
    "hang": timed_out("[[hang]]"),
    "stall": timed_out("[[stall-after:2]] a b c"),
    "cancel": [first, reader.value, round(time.monotonic() - began, 2)],
    "ticks": len(ticks),
}))
"""


def test_timeouts_and_cancel_work_under_gevent(fake_openai: FakeOpenAIServer) -> None:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-c", GEVENT_SCRIPT, fake_openai.base_url]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["text"] == "echo: hello gevent"
    # The fake server hangs forever: a number at all means the timeout fired. The upper bounds are
    # loose on purpose (a busy CI machine), far below the hang and the subprocess's own limit.
    assert 0.25 <= result["hang"] < 10
    assert 0.25 <= result["stall"] < 10
    first, rest, cancel_seconds = result["cancel"]
    assert (first, rest) == ("echo: ", [])  # the reader ended: closing released its socket
    assert cancel_seconds < 3
    assert result["ticks"] == 10  # other greenlets kept running while streams waited
    assert fake_openai.wait_for_disconnects(3)


def test_no_success_log_is_built_while_no_litellm_callback_listens(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """litellm's end-of-stream success log prices the answer again for callbacks we never
    register: skipped — but a callback configured later still hears of every call."""
    from litellm.litellm_core_utils.litellm_logging import Logging

    built: list[object] = []
    original = Logging._build_standard_logging_payload

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Logging, "_build_standard_logging_payload", counting)
    assert "".join(start(fake_openai, "quiet")) == "".join(answer_tokens("quiet"))
    time.sleep(0.3)  # litellm logs from a worker thread
    assert built == []

    heard: list[object] = []
    monkeypatch.setattr(litellm, "success_callback", [lambda *args, **kwargs: heard.append(args)])
    assert "".join(start(fake_openai, "heard")) == "".join(answer_tokens("heard"))
    deadline = time.monotonic() + 5
    while not heard and time.monotonic() < deadline:
        time.sleep(0.05)
    assert heard and built
