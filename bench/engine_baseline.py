"""Baselines for the engine benchmark: a 3-prompt chain with bare litellm and the bare openai client.

Each step streams one answer from a fake OpenAI-compatible server (no latency, 50 tokens) and feeds
it to the next prompt, as a chain does. Figures are ms per prompt step. bench/engine.py imports the
measure_* functions beside the runner path; run this module alone for the litellm settings:

    .venv/bin/python -m bench.engine_baseline [--runs 7] [--chains 10] [--tokens 50]
"""

from __future__ import annotations

import os

# Before litellm loads (it would fetch its cost map from the internet, in the background).
os.environ.update(
    LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_OFFLINE_MODE="true", HF_HUB_OFFLINE="1"
)

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import litellm
import openai

from app.chain.providers import ModelSpec, configure_litellm, stream_completion

PROMPTS = ("Analyze this: {text}", "Summarize: {text}", "Review: {text}")
FIRST_INPUT = "the causes of the French Revolution"
MODEL = "fake-model"
StepCall = Callable[[str], str]  # prompt in, whole streamed answer out


def run_chains(call: StepCall, steps: int, chains: int) -> float:
    """ms per prompt step over `chains` chains of `steps` prompts; each step reads the last answer."""
    started = time.perf_counter()
    for _ in range(chains):
        text = FIRST_INPUT
        for step in range(steps):
            text = call(PROMPTS[step % len(PROMPTS)].format(text=text))
    return (time.perf_counter() - started) * 1000 / (steps * chains)


def _measure(call: StepCall, steps: int, runs: int, chains: int) -> list[float]:
    call(FIRST_INPUT)  # warm up: lazy imports, client caches, the first connection
    return [run_chains(call, steps, chains) for _ in range(runs)]


def litellm_step(base_url: str, **extra: Any) -> StepCall:
    def call(prompt: str) -> str:
        stream = litellm.completion(
            model=f"openai/{MODEL}",
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
            api_base=base_url,
            api_key="sk-bench",
            timeout=30,
            max_retries=0,
            **extra,
        )
        parts = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    return call


def measure_bare_litellm(base_url: str, steps: int = 3, runs: int = 5, chains: int = 10) -> list[float]:
    """Bare litellm at its cheapest (configure_litellm), nothing of ours per chunk."""
    configure_litellm()
    return _measure(litellm_step(base_url), steps, runs, chains)


def measure_bare_openai(base_url: str, steps: int = 3, runs: int = 5, chains: int = 10) -> list[float]:
    """The openai client, one client reused (connection kept alive), streaming with usage."""
    client = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, timeout=30)

    def call(prompt: str) -> str:
        stream = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    return _measure(call, steps, runs, chains)


def measure_stream_completion(
    base_url: str, steps: int = 3, runs: int = 5, chains: int = 10
) -> list[float]:
    """Our providers.stream_completion: litellm at its cheapest plus our typed wrapper."""
    spec = ModelSpec(None, "Bench", f"openai/{MODEL}", "openai", base_url, "BENCH_API_KEY")
    env = {"BENCH_API_KEY": "sk-bench"}

    def call(prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        return "".join(stream_completion(spec, messages, timeout=30, env=env))

    return _measure(call, steps, runs, chains)


@contextmanager
def litellm_settings(**settings: Any) -> Iterator[None]:
    """Temporarily set litellm module attributes (to compare configurations in one process)."""
    saved = {name: getattr(litellm, name) for name in settings}
    for name, value in settings.items():
        setattr(litellm, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(litellm, name, value)


def litellm_variants(base_url: str) -> dict[str, tuple[dict[str, Any], StepCall]]:
    """The litellm configurations compared: (settings applied around the run, the step call)."""
    shared_openai = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, timeout=30)
    return {
        "litellm defaults": ({"disable_streaming_logging": False}, litellm_step(base_url)),
        "litellm cheapest (configure_litellm)": ({}, litellm_step(base_url)),
        "  + litellm.client_session (shared httpx)": (
            {"client_session": httpx.Client()},
            litellm_step(base_url),
        ),
        "  + client= (one OpenAI client)": ({}, litellm_step(base_url, client=shared_openai)),
    }


def start_fake_server(tokens: int) -> tuple[subprocess.Popen, str]:
    """The fake server in its own process, so its CPU is not charged to the client measured."""
    port = _free_port()
    command = [sys.executable, "-m", "tests.support.fake_openai", "--port", str(port)]
    server = subprocess.Popen([*command, "--tokens", str(tokens)], stdout=subprocess.PIPE)
    assert server.stdout is not None
    server.stdout.readline()  # "fake OpenAI server on …": it is listening
    return server, f"http://127.0.0.1:{port}/v1"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _summary(figures: list[float]) -> str:
    median = statistics.median(figures)
    return f"{median:7.2f} ms/step  (min {min(figures):.2f}, max {max(figures):.2f}, n={len(figures)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chains", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=50)
    args = parser.parse_args()
    server, base_url = start_fake_server(args.tokens)
    try:
        configure_litellm()
        steps = len(PROMPTS)
        variants = litellm_variants(base_url)
        calls: dict[str, tuple[dict[str, Any], StepCall]] = {
            **variants,
            "stream_completion (ours)": ({}, lambda p: "".join(_ours(base_url, p))),
            "bare openai client": ({}, _openai_call(base_url)),
        }
        results: dict[str, list[float]] = {name: [] for name in calls}
        for name, (settings, call) in calls.items():  # warm every variant once
            with litellm_settings(**settings):
                call(FIRST_INPUT)
        cpu_started = time.process_time()
        for _ in range(args.runs):  # interleaved: each round runs every variant once
            for name, (settings, call) in calls.items():
                with litellm_settings(**settings):
                    results[name].append(run_chains(call, steps, args.chains))
        print(f"{steps}-prompt chain, {args.tokens} tokens per answer, zero latency, {base_url}")
        for name, figures in results.items():
            print(f"{name:44} {_summary(figures)}")
        cheapest = statistics.median(results["litellm cheapest (configure_litellm)"])
        print(f"defaults / cheapest: {statistics.median(results['litellm defaults']) / cheapest:.2f}×")
        print(f"client CPU {time.process_time() - cpu_started:.1f} s (this process, all variants)")
    finally:
        server.terminate()
        server.wait()


def _ours(base_url: str, prompt: str) -> Iterator[str]:
    spec = ModelSpec(None, "Bench", f"openai/{MODEL}", "openai", base_url, "BENCH_API_KEY")
    env = {"BENCH_API_KEY": "sk-bench"}
    return stream_completion(spec, [{"role": "user", "content": prompt}], timeout=30, env=env)


def _openai_call(base_url: str) -> StepCall:
    client = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, timeout=30)

    def call(prompt: str) -> str:
        stream = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    return call


if __name__ == "__main__":
    main()
