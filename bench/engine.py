"""Engine benchmark (issue 4, DESIGN §7): a 3-prompt chain through the runner, on Postgres.

Beside it, in the same process and interleaved: the same chain through bare litellm at its
cheapest and through the bare openai client. The runner path includes everything a real run
does — the pending row and its definition snapshot, the claim, lint, substitution, the prompt
results, batched events with NOTIFY, and a follower reading the events as the SSE endpoint does.
Prints ms per prompt step (median and range over interleaved runs), the ratio to bare litellm,
the fake server's CPU (the load generator) and the database writes per run at 50 and 500 tokens.

    .venv/bin/python -m bench.engine [--runs 7] [--chains 10]
"""

from __future__ import annotations

import os

os.environ.update(
    LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_OFFLINE_MODE="true", HF_HUB_OFFLINE="1"
)

import argparse
import statistics
import threading
import time
from pathlib import Path

from app import migrate
from app.chain.follow import follow_events
from app.chain.litellm_setup import configure_litellm
from app.chain.queue import claim_next, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.db import bind_database, database
from app.models import AIModel, Assistant, ChainPrompt, ExecutionEvent, User
from bench.engine_baseline import (
    FIRST_INPUT,
    MODEL,
    PROMPTS,
    litellm_step,
    openai_step,
    run_chains,
    start_fake_server,
)
from tests.support.postgres import temporary_database

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = RunnerSettings()  # production defaults (flush every 250 ms since issue 10)


def seed(base_url: str) -> Assistant:
    user = User.create(email="bench@example.org", name="Bench")
    model = AIModel.create(
        name="Bench",
        model_id=f"openai/{MODEL}",
        provider="openai",
        api_base=base_url,
        api_key_env="BENCH_API_KEY",
    )
    assistant = Assistant.create(name="Bench chain", user=user, status="approved")
    templates = [
        p.replace("{text}", "{{user_input}}" if i == 0 else f"{{{{prompt_{i}_output}}}}")
        for i, p in enumerate(PROMPTS)
    ]
    from app.models import InputField

    InputField.create(assistant=assistant, name="user_input", label="Text", field_type="long_text")
    for position, content in enumerate(templates):
        ChainPrompt.create(
            assistant=assistant,
            name=f"Step {position + 1}",
            content=content,
            model=model,
            position=position,
        )
    return assistant


def runner_chain(assistant: Assistant) -> int:
    """One chain through the runner with a follower; returns the execution id."""
    execution = start_execution(assistant, assistant.user, {"user_input": FIRST_INPUT})
    seen: list[int] = []
    follower = threading.Thread(
        target=lambda: seen.extend(e.seq for e in follow_events(execution.id, wait_seconds=1) if e)
    )
    follower.start()
    claimed = claim_next(SETTINGS)
    assert claimed is not None and claimed.id == execution.id
    status = run_execution(claimed.id, SETTINGS, claimed)  # as the pool does
    follower.join()
    assert status == "completed", status
    assert seen == list(range(1, len(seen) + 1)), "a follower missed an event"
    return execution.id


def measure_runner(assistant: Assistant, chains: int) -> tuple[float, float]:
    """Wall and CPU (this process, all threads) ms per step."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(chains):
        runner_chain(assistant)
    steps = chains * len(PROMPTS)
    return (
        (time.perf_counter() - wall) * 1000 / steps,
        (time.process_time() - cpu) * 1000 / steps,
    )


class WriteCounter:
    """Counts INSERT/UPDATE/DELETE statements sent by this process."""

    def __init__(self) -> None:
        self.count = 0
        original = database.obj.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                self.count += 1
            return original(sql, params, *args, **kwargs)

        database.obj.execute_sql = counting


def writes_per_run(assistant: Assistant, counter: WriteCounter) -> tuple[int, int]:
    before = counter.count
    execution_id = runner_chain(assistant)
    events = ExecutionEvent.select().where(ExecutionEvent.execution == execution_id).count()
    return counter.count - before, events


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chains", type=int, default=10)
    args = parser.parse_args()
    configure_litellm()
    os.environ["BENCH_API_KEY"] = "sk-bench"
    with temporary_database("aa_bench") as url:
        bind_database(url, pool_size=20)
        migrate.upgrade(str(ROOT / "migrations"))
        server, base_url = start_fake_server(50)
        try:
            assistant = seed(base_url)
            bare_litellm, bare_openai = litellm_step(base_url), openai_step(base_url)
            runner_chain(assistant)  # warm up every path
            bare_litellm(FIRST_INPUT)
            bare_openai(FIRST_INPUT)
            results: dict[str, list[float]] = {
                "runner (ours)": [],
                "bare litellm": [],
                "bare openai": [],
            }
            cpu: dict[str, list[float]] = {name: [] for name in results}
            server_cpu = cpu_seconds(server.pid)
            started = time.perf_counter()
            for _ in range(args.runs):  # interleaved
                for name, measured in (
                    ("runner (ours)", measure_runner(assistant, args.chains)),
                    ("bare litellm", run_chains(bare_litellm, len(PROMPTS), args.chains)),
                    ("bare openai", run_chains(bare_openai, len(PROMPTS), args.chains)),
                ):
                    results[name].append(measured[0])
                    cpu[name].append(measured[1])
            elapsed = time.perf_counter() - started
            server_cpu = cpu_seconds(server.pid) - server_cpu
        finally:
            server.terminate()
            server.wait()
        counter = WriteCounter()
        writes = {}
        for tokens in (50, 500):
            server, base_url = start_fake_server(tokens)
            try:
                AIModel.update(api_base=base_url).execute()
                assistant = Assistant.get_by_id(assistant.id)
                runner_chain(assistant)  # warm
                writes[tokens] = writes_per_run(assistant, counter)
            finally:
                server.terminate()
                server.wait()
        database.obj.close_all()
    print(
        f"{len(PROMPTS)}-prompt chains, 50 tokens per answer, zero latency, Postgres, "
        f"flush {SETTINGS.flush_interval * 1000:.0f} ms"
    )
    print(
        f"{'':16} {'ms per step: median (min–max)':>32} {'× bare litellm':>15} "
        f"{'CPU ms per step':>22} {'× litellm':>9}"
    )
    base = statistics.median(results["bare litellm"])
    cpu_base = statistics.median(cpu["bare litellm"])
    for name, values in results.items():
        median = statistics.median(values)
        spread = f"{median:6.1f} ({min(values):.1f}–{max(values):.1f})"
        cpu_median = statistics.median(cpu[name])
        cpu_spread = f"{cpu_median:5.1f} ({min(cpu[name]):.1f}–{max(cpu[name]):.1f})"
        print(
            f"{name:16} {spread:>32} {median / base:15.2f} {cpu_spread:>22} "
            f"{cpu_median / cpu_base:9.2f}"
        )
    print(
        "CPU = this process (runner, follower, litellm); the runner's share of Postgres's own "
        "CPU is not in it. On a busy machine CPU is steadier than wall time."
    )
    print(
        f"{args.runs} interleaved runs × {args.chains} chains; load generator (fake server) CPU: "
        f"{100 * server_cpu / elapsed:.0f}% of one core; load average {os.getloadavg()[0]:.2f}"
    )
    for tokens, (statements, events) in writes.items():
        print(
            f"database writes per run at {tokens:3} tokens/prompt: "
            f"{statements} statements, {events} event rows"
        )


if __name__ == "__main__":
    main()
