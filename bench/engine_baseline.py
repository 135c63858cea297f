"""Engine benchmark baselines: a prompt chain through bare litellm and the bare openai client.

Each step streams one answer from a fake OpenAI-compatible server (zero latency, 50 tokens) and
feeds it into the next prompt, as a chain does; figures are milliseconds per prompt step.
bench/engine.py imports `measure_bare_litellm` / `measure_bare_openai` (or the `*_step` calls
with `run_chains`, to interleave them with the runner). Alone, it compares litellm
configurations (DESIGN §7):

    .venv/bin/python -m bench.engine_baseline [--runs 7] [--chains 10] [--tokens 50]
"""

from __future__ import annotations

import os

# Before litellm loads: offline, or it fetches its cost map in the background while we measure.
os.environ.update(
    LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_OFFLINE_MODE="true", HF_HUB_OFFLINE="1"
)

import argparse
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import litellm
import openai

from app.chain.litellm_setup import configure_litellm, skip_success_logging
from app.chain.providers import ModelSpec, stream_completion

PROMPTS = ("Analyze this: {text}", "Summarize: {text}", "Review: {text}")
FIRST_INPUT = "the causes of the French Revolution"
MODEL = "fake-model"
StepCall = Callable[[str], str]  # a prompt in, the whole streamed answer out


class StepCost(NamedTuple):
    wall_ms: float  # per prompt step
    cpu_ms: float  # per prompt step, all threads of this process (litellm logs in a pool)


def run_chains(call: StepCall, steps: int = 3, chains: int = 10) -> StepCost:
    """Cost per prompt step over `chains` chains of `steps` prompts, each fed the last answer."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(chains):
        text = FIRST_INPUT
        for step in range(steps):
            text = call(PROMPTS[step % len(PROMPTS)].format(text=text))
    count = steps * chains
    return StepCost(
        (time.perf_counter() - wall) * 1000 / count, (time.process_time() - cpu) * 1000 / count
    )


def litellm_step(
    base_url: str,
    *,
    stop_at_usage: bool = True,
    skip_success_log: bool = True,
    api_key: str = "sk-bench",
    **extra: Any,
) -> StepCall:
    """One streamed litellm call. `stop_at_usage` stops at the usage chunk, as providers.py does:
    asking litellm for one more chunk makes it assemble the whole response a second time.
    `skip_success_log`: no end-of-stream success log while no callback listens (providers.py).
    litellm caches its OpenAI client per key: a distinct `api_key` gets a client of its own."""

    def call(prompt: str) -> str:
        stream = litellm.completion(
            model=f"openai/{MODEL}",
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
            api_base=base_url,
            api_key=api_key,
            timeout=30,
            max_retries=0,
            **extra,
        )
        if skip_success_log:
            skip_success_logging(stream)
        parts = []
        for chunk in stream:
            if chunk.choices:
                if chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
            elif stop_at_usage and getattr(chunk, "usage", None) is not None:
                stream.close()
                break
        return "".join(parts)

    return call


def openai_step(base_url: str) -> StepCall:
    """The openai client, one client reused (keep-alive), streaming with usage."""
    client = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, timeout=30)

    def call(prompt: str) -> str:
        stream = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    return call


def providers_step(base_url: str) -> StepCall:
    """Our app.chain.providers.stream_completion: litellm at its cheapest plus our wrapper."""
    spec = ModelSpec(None, "Bench", f"openai/{MODEL}", "openai", base_url, "BENCH_API_KEY")
    env = {"BENCH_API_KEY": "sk-bench"}

    def call(prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        return "".join(stream_completion(spec, messages, timeout=30, env=env))

    return call


def _measure(call: StepCall, steps: int, runs: int, chains: int) -> list[float]:
    call(FIRST_INPUT)  # warm up: lazy imports, client caches, the first connection
    return [run_chains(call, steps, chains).wall_ms for _ in range(runs)]


def measure_bare_litellm(
    base_url: str, steps: int = 3, runs: int = 5, chains: int = 10
) -> list[float]:
    """ms per step, one figure per run: bare litellm at its cheapest (configure_litellm)."""
    configure_litellm()
    return _measure(litellm_step(base_url), steps, runs, chains)


def measure_bare_openai(
    base_url: str, steps: int = 3, runs: int = 5, chains: int = 10
) -> list[float]:
    """ms per step, one figure per run: the bare openai client."""
    return _measure(openai_step(base_url), steps, runs, chains)


@contextmanager
def litellm_settings(**settings: Any) -> Iterator[None]:
    """Set litellm module attributes for one measurement, then put them back."""
    saved = {name: getattr(litellm, name) for name in settings}
    for name, value in settings.items():
        setattr(litellm, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(litellm, name, value)


def variants(base_url: str) -> dict[str, tuple[dict[str, Any], StepCall]]:
    """Name → (litellm settings during the run, step call), from the defaults to the cheapest.

    Each litellm variant has its own key, so each gets its own cached OpenAI client: one built
    with litellm's own httpx client (client_session None) or on the shared one."""
    own = {"client_session": None}
    shared_sdk = openai.OpenAI(base_url=base_url, api_key="sk-sdk", max_retries=0, timeout=30)
    return {
        "litellm defaults": (
            {**own, "disable_streaming_logging": False},
            litellm_step(
                base_url, stop_at_usage=False, skip_success_log=False, api_key="sk-defaults"
            ),
        ),
        "disable_streaming_logging": (
            own,
            litellm_step(
                base_url, stop_at_usage=False, skip_success_log=False, api_key="sk-no-logging"
            ),
        ),
        "  + stop at the usage chunk": (
            own,
            litellm_step(base_url, skip_success_log=False, api_key="sk-stop"),
        ),
        "  + no success log": (own, litellm_step(base_url, api_key="sk-nolog")),
        "  + shared uncapped client (= cheapest)": ({}, litellm_step(base_url)),
        "  + client= (one OpenAI client)": ({}, litellm_step(base_url, client=shared_sdk)),
        "providers.stream_completion (ours)": ({}, providers_step(base_url)),
        "bare openai client": ({}, openai_step(base_url)),
    }


def start_fake_server(tokens: int) -> tuple[subprocess.Popen, str]:
    """The fake server in its own process, so its CPU is not charged to what is measured."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tests.support.fake_openai", "--port", str(port)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    server = subprocess.Popen([*command, "--tokens", str(tokens)], stdout=subprocess.PIPE, cwd=root)
    assert server.stdout is not None
    server.stdout.readline()  # "fake OpenAI server on …": it is listening
    return server, f"http://127.0.0.1:{port}/v1"


def main() -> None:
    parser = argparse.ArgumentParser(description="Bare litellm / openai cost per prompt step.")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chains", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=50)
    args = parser.parse_args()
    configure_litellm()
    server, base_url = start_fake_server(args.tokens)
    try:
        compared = variants(base_url)
        results: dict[str, list[StepCost]] = {name: [] for name in compared}
        for settings, call in compared.values():  # warm every variant once
            with litellm_settings(**settings):
                call(FIRST_INPUT)
        for _ in range(args.runs):  # interleaved: each round runs every variant once
            for name, (settings, call) in compared.items():
                with litellm_settings(**settings):
                    results[name].append(run_chains(call, len(PROMPTS), args.chains))
                time.sleep(0.1)  # let litellm's logging pool finish before the next variant
    finally:
        server.terminate()
        server.wait()
    print(f"{len(PROMPTS)}-prompt chains, {args.tokens} tokens per answer, zero latency")
    print(f"{'':42} {'wall ms/step: median (min–max)':>32} {'CPU ms/step':>12}")
    for name, costs in results.items():
        wall = [cost.wall_ms for cost in costs]
        cpu = statistics.median(cost.cpu_ms for cost in costs)
        spread = f"{statistics.median(wall):6.1f} ({min(wall):.1f}–{max(wall):.1f})"
        print(f"{name:42} {spread:>32} {cpu:12.1f}")
    print(
        f"{args.runs} interleaved runs of {args.chains} chains each; load: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
