"""Capacity benchmark (issue 10, DESIGN §7–8): ours under load beside the naive endpoint, one run.

What runs, each in its own process on this machine:
- the fake provider (bench/fake_provider.py, gevent): 50 tokens over 2 s per prompt;
- ours: gunicorn with the production gunicorn.conf.py (gevent workers, wsgi:app), on a fresh
  Postgres database per variant (a variant = a set of settings, e.g. RUNNER_POOL_SIZE=40);
- the naive endpoint (bench/naive_app.py) under the same gunicorn configuration;
- the load generator (bench/loadgen.py, gevent), started per measurement: `concurrency` clients,
  each running 3-prompt chains back to back — for ours, POST a run through the API, then follow
  the run page's SSE stream (HTML partials) until it is done.

Levels are per gunicorn worker (40, 100, 400 by default: the issue's 40 and 10× that). Clients
start spread over one chain's time (`--ramp 6`), as independent users arrive; `--ramp 1` starts
them within a second, and since every chain takes about as long, they stay in lock-step — the
stress case, printed in docs/PERFORMANCE.md beside the steady one. Variants
and the naive endpoint are interleaved at each level, in alternating order, for `--rounds` rounds.
After each of ours, the load generator drains (every run it started must finish) and the database
is checked against what the clients received: runs lost or stuck, events not received, streamed
text that differs from `prompt_results`. Printed: chains/s (median, min–max; each chain counted
by the share of its time inside the measurement window) and % of ideal (concurrency ÷ 6 s per
chain), % of the variant's peak, first event after admission p50/p99,
first token p50/p99, queued runs that were shown their place, worker RSS and CPU, the provider's
and the load generator's CPU, and the load average.

    .venv/bin/python -m bench.streaming [--quick] [--rounds 5] [--levels 40,100,400]
        [--variant pool40:RUNNER_POOL_SIZE=40] [--workers 1] [--json out.json]
"""

from __future__ import annotations

import os

os.environ.update(
    LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_OFFLINE_MODE="true", HF_HUB_OFFLINE="1"
)

import argparse
import contextlib
import datetime as dt
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
SECRET = "bench-secret-key-0123456789abcdef"
CHAIN_SECONDS = 6.0  # 3 prompts × 2 s: the ideal time of one chain
PROMPTS = ("Analyze this: {text}", "Summarize: {text}", "Review: {text}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ---- the processes ----------------------------------------------------------------------------


def start_provider(tokens: int, seconds: float) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [PYTHON, "-m", "bench.fake_provider", "--tokens", str(tokens), "--duration", str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    return process, int(line.split()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path
    database: str | None = None
    assistant: int = 0
    token: str = ""
    cookie: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def workers(self) -> list[int]:
        return children(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_gunicorn(
    name: str, app: str, env: dict[str, str], workers: int, logdir: Path, probe: str
) -> Server:
    port = free_port()
    full_env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "SECRET_KEY": SECRET,
        "APP_ENV": "production",
        "API_RATE_LIMIT": "1000000 per minute",  # the clients share one token
        "RUN_START_RATE_LIMIT": "1000000 per minute",  # … and one person
        "BENCH_API_KEY": "sk-bench",
        "PROMETHEUS_MULTIPROC_DIR": str(logdir / f"metrics-{name}"),
        "GRACEFUL_TIMEOUT": "5",
        **env,
    }
    log = logdir / f"{name}.log"
    process = subprocess.Popen(
        [GUNICORN, "-c", "gunicorn.conf.py", app],
        cwd=ROOT,
        env=full_env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(name, process, port, log, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} did not start; see {log}")
        try:  # every worker has loaded the app once a request is answered (imports take long)
            ready = 0
            for _ in range(workers * 4):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=60) as r:
                    ready += r.status < 500
            if ready and len(server.workers) >= workers:
                break
        except OSError:
            time.sleep(0.5)
    return server


def seed(url: str, api_base: str) -> tuple[int, str, str]:
    """A user, a model at the fake provider, a 3-prompt chain, an API token, a session cookie."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    from app import migrate
    from app.db import bind_database, database
    from app.models import AIModel, ApiToken, Assistant, ChainPrompt, InputField, User
    from app.models.user import Role, UserRole

    bind_database(url, pool_size=2)
    migrate.upgrade(str(ROOT / "migrations"))
    with database.connection_context():
        Role.ensure_all()
        user = User.create(email="bench@example.org", name="Bench")
        UserRole.create(user=user, role=Role.get(Role.name == "staff"))
        model = AIModel.create(
            name="Bench",
            model_id="openai/fake-model",
            provider="openai",
            api_base=api_base,
            api_key_env="BENCH_API_KEY",
        )
        assistant = Assistant.create(name="Bench chain", user=user, status="approved")
        InputField.create(
            assistant=assistant, name="user_input", label="Text", field_type="long_text"
        )
        for position, template in enumerate(PROMPTS):
            source = "{{user_input}}" if position == 0 else f"{{{{prompt_{position}_output}}}}"
            ChainPrompt.create(
                assistant=assistant,
                name=f"Step {position + 1}",
                content=template.replace("{text}", source),
                model=model,
                position=position,
            )
        _, secret = ApiToken.issue(user, "bench", ["assistants:read", "assistants:execute"])
        flask_app = Flask("bench")
        flask_app.secret_key = SECRET
        serializer = SecureCookieSessionInterface().get_signing_serializer(flask_app)
        assert serializer is not None
        cookie = serializer.dumps({"uid": user.id, "epoch": user.session_epoch, "_permanent": True})
    database.obj.close_all()
    return assistant.id, secret, f"session={cookie}"


# ---- one measurement --------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Worker RSS (max) while the load runs, sampled every 0.25 s."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.max_rss = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.25):
            self.max_rss = max([self.max_rss, *(rss_mb(pid) for pid in self.pids)])

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.max_rss


def measure(
    server: Server, concurrency: int, args: argparse.Namespace, provider: subprocess.Popen
) -> dict[str, Any]:
    ours = server.database is not None
    spec = {
        "target": "ours" if ours else "naive",
        "port": server.port,
        "concurrency": concurrency,
        "ramp": args.ramp,
        "window": args.window,
        # Ours must finish every run it accepted (that is what is checked); the naive endpoint is
        # cut at the end of the window (at 10× it would take minutes to drain).
        "drain": args.drain if ours else 0.0,
        "timeout": 900,
        "assistant": server.assistant,
        "token": server.token,
        "cookie": server.cookie,
    }
    workers = server.workers
    worker_cpu = sum(cpu_seconds(pid) for pid in workers)
    provider_cpu = cpu_seconds(provider.pid)
    backends = {pid: cpu_seconds(pid) for pid in backend_pids(server)}
    sampler = Sampler(workers)
    sampler.start()
    started = time.time()
    generator = subprocess.run(
        [PYTHON, "-m", "bench.loadgen", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.time() - started
    report = json.loads(generator.stdout)
    result: dict[str, Any] = {
        "server": server.name,
        "concurrency": concurrency,
        "max_rss_mb": sampler.stop(),
        "worker_cpu": (sum(cpu_seconds(pid) for pid in workers) - worker_cpu) / elapsed,
        "provider_cpu": (cpu_seconds(provider.pid) - provider_cpu) / elapsed,
        "loadgen_cpu": report["cpu"] / (report["ended"] - report["began"]),
        "load_average": os.getloadavg()[0],
        "unfinished_clients": report["unfinished"],
    }
    chains = report["chains"]
    t0 = report["began"] + args.ramp + args.warm
    t1 = report["began"] + args.ramp + args.window
    done = [c for c in chains if "done" in c and "error" not in c]
    # The plain count of chains ending in the window, for comparison: with clients started
    # within one ramp their chains end in bursts, so it moves by a whole burst (±15 %).
    result["ended_per_s"] = sum(1 for c in done if t0 <= c["done"] <= t1) / (t1 - t0)
    result["ideal_per_s"] = concurrency / CHAIN_SECONDS
    result["completed"] = len(done)
    # CPU per completed chain: steadier than throughput when the machine is shared. Postgres:
    # the backends serving this variant's database (pooled connections live across the run).
    result["worker_ms_per_chain"] = (
        1000 * result["worker_cpu"] * elapsed / len(done) if done else None
    )
    db_cpu = sum(cpu_seconds(pid) - backends.get(pid, 0.0) for pid in backend_pids(server))
    result["db_ms_per_chain"] = 1000 * db_cpu / len(done) if done and ours else None
    result["errors"] = [c["error"] for c in chains if "error" in c][:5]
    result["error_count"] = sum(1 for c in chains if "error" in c)
    if ours:
        result.update(verify(server, chains, (t0, t1)))  # marks when each run was admitted
    result["chains_per_s"] = chains_in_window(done, t0, t1) / (t1 - t0)
    if not ours:
        steady = [c for c in done if t0 <= c["start"] <= t1]
        result["first_event"] = [c["first_event"] - c["start"] for c in steady]
        result["first_delta"] = [c["first_delta"] - c["start"] for c in steady]
        result["first_event_all"] = [c["first_event"] - c["start"] for c in done]
        result["text_mismatch"] = sum(
            1 for c in done if any(len(t.split()) != 50 for t in c["text"].values())
        )
    return result


def backend_pids(server: Server) -> list[int]:
    """Postgres backends connected to this variant's database (none for the naive app)."""
    if server.database is None:
        return []
    import psycopg2

    connection = psycopg2.connect(server.database)
    try:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return [row[0] for row in cur.fetchall()]
    finally:
        connection.close()


def verify(
    server: Server, chains: list[dict[str, Any]], window: tuple[float, float]
) -> dict[str, Any]:
    """What the clients received against what the database holds, run by run. Latencies count
    the runs admitted inside the measurement `window` (as throughput does: not the opening
    burst of every client connecting at once); `first_event_all` has every run."""
    import psycopg2

    ids = [c["id"] for c in chains if "id" in c]
    connection = psycopg2.connect(server.database)
    try:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, status, claimed_at, started_at, completed_at FROM tool_executions "
                "WHERE id = ANY(%s)",
                (ids,),
            )
            rows = cur.fetchall()
            executions = {row[0]: (row[1], row[2]) for row in rows}
            times = {row[0]: (row[3], row[4]) for row in rows}
            cur.execute(
                "SELECT execution_id, seq, event_type FROM assistant_architect_events "
                "WHERE execution_id = ANY(%s)",
                (ids,),
            )
            events: dict[int, list[tuple[int, str]]] = {}
            for execution_id, seq, kind in cur.fetchall():
                events.setdefault(execution_id, []).append((seq, kind))
            cur.execute(
                "SELECT execution_id, step, output_data, started_at, completed_at "
                "FROM prompt_results WHERE execution_id = ANY(%s)",
                (ids,),
            )
            outputs: dict[int, dict[str, str]] = {}
            steps: dict[int, dict[int, tuple[dt.datetime, dt.datetime | None]]] = {}
            for execution_id, step, output, began, ended in cur.fetchall():
                outputs.setdefault(execution_id, {})[str(step)] = output or ""
                steps.setdefault(execution_id, {})[step] = (began, ended)
    finally:
        connection.close()
    epoch = dt.datetime(1970, 1, 1)
    stuck = sum(1 for status, _ in executions.values() if status in ("pending", "running"))
    not_completed = sum(1 for status, _ in executions.values() if status != "completed")
    events_lost = text_mismatch = 0
    first_event, first_delta, first_event_all, place_shown, queued = [], [], [], [], 0
    for chain in chains:
        if "id" not in chain or "done" not in chain:
            continue
        received = set(chain["ids"])
        events_lost += sum(
            1
            for seq, kind in events.get(chain["id"], [])
            if kind != "variable-substitution" and seq not in received
        )
        if chain["text"] != outputs.get(chain["id"], {}):
            text_mismatch += 1
        claimed = executions[chain["id"]][1]
        admitted = (claimed - epoch).total_seconds() if claimed else chain["started"]
        chain["admitted"] = admitted
        reference = max(admitted, chain["started"])  # admission, or the run's start if sooner
        first_event_all.append(chain["first_event"] - reference)
        if window[0] <= reference <= window[1]:
            first_event.append(chain["first_event"] - reference)
            first_delta.append(chain.get("first_delta", chain["done"]) - reference)
        if admitted - chain["started"] > 2.5:  # queued long enough to be told its place
            queued += 1
            place_shown.append(1 if chain["places"] else 0)
    return {
        "phases": phases(chains, executions, times, steps),
        "runs": len(ids),
        "stuck": stuck,
        "not_completed": not_completed,
        "lost_runs": sum(1 for i in ids if i not in executions),
        "events_lost": events_lost,
        "text_mismatch": text_mismatch,
        "first_event": first_event,
        "first_delta": first_delta,
        "first_event_all": first_event_all,
        "queued": queued,
        "place_shown": sum(place_shown),
    }


def phases(
    chains: list[dict[str, Any]],
    executions: dict[int, tuple[str, dt.datetime | None]],
    times: dict[int, tuple[dt.datetime, dt.datetime | None]],
    steps: dict[int, dict[int, tuple[dt.datetime, dt.datetime | None]]],
) -> dict[str, tuple[float, float, float]]:
    """Where a completed chain's wall time went: median, mean and max seconds per phase (the
    client's clock and the server's are the same machine's)."""
    epoch = dt.datetime(1970, 1, 1)

    def t(value: dt.datetime) -> float:
        return (value - epoch).total_seconds()

    spans: dict[str, list[float]] = {}
    for chain in chains:
        run = chain.get("id")
        if run is None or "done" not in chain or run not in times:
            continue
        claimed = executions[run][1]
        ran = steps.get(run, {})
        ended = times[run][1]
        if claimed is None or ended is None or sorted(ran) != [1, 2, 3]:
            continue
        if any(end is None for _, end in ran.values()):
            continue
        marks = [
            ("POST answered", chain["started"] - chain["start"]),
            ("stream opened", chain["opened"] - chain["started"]),
            ("1st event after open+claim", chain["first_event"] - max(chain["opened"], t(claimed))),
            ("queued", t(claimed) - t(times[run][0])),
            ("claim→prompt 1", t(ran[1][0]) - t(claimed)),
            ("prompt 1", t(ran[1][1]) - t(ran[1][0])),  # type: ignore[operator]
            ("gap 1→2", t(ran[2][0]) - t(ran[1][1])),  # type: ignore[arg-type]
            ("prompt 2", t(ran[2][1]) - t(ran[2][0])),  # type: ignore[arg-type]
            ("gap 2→3", t(ran[3][0]) - t(ran[2][1])),  # type: ignore[arg-type]
            ("prompt 3", t(ran[3][1]) - t(ran[3][0])),  # type: ignore[arg-type]
            ("last prompt→run done", t(ended) - t(ran[3][1])),  # type: ignore[arg-type]
            ("run done→client done", chain["done"] - t(ended)),
            ("whole chain", chain["done"] - chain["start"]),
        ]
        for name, seconds in marks:
            spans.setdefault(name, []).append(seconds)
    return {
        name: (statistics.median(values), statistics.fmean(values), max(values))
        for name, values in spans.items()
    }


def wait_idle(server: Server, patience: float = 30, timeout: float = 900) -> int:
    """Between measurements: until the variant has no queued or running run. Returns the runs
    left when none finished for `patience` seconds (stuck), or at `timeout`."""
    import psycopg2

    deadline = time.monotonic() + timeout
    last_progress, best = time.monotonic(), None
    while True:
        connection = psycopg2.connect(server.database)
        try:
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM tool_executions WHERE status IN ('pending', 'running')"
                )
                left = cur.fetchone()[0]
        finally:
            connection.close()
        if best is None or left < best:
            best, last_progress = left, time.monotonic()
        if not left or time.monotonic() > min(deadline, last_progress + patience):
            return left
        time.sleep(1)


# ---- the report -------------------------------------------------------------------------------


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.0f}"


def per_chain(rows: list[dict[str, Any]]) -> str:
    worker = [r["worker_ms_per_chain"] for r in rows if r["worker_ms_per_chain"] is not None]
    db = [r["db_ms_per_chain"] for r in rows if r["db_ms_per_chain"] is not None]
    if not worker:
        return "–"
    text = f"{statistics.median(worker):.0f}"
    return text + (f"+{statistics.median(db):.0f}" if db else "")


def chains_in_window(done: list[dict[str, Any]], t0: float, t1: float) -> float:
    """Chains completed within [t0, t1], each counted by the share of its running time that
    falls in the window (entirely inside: 1; half inside: 0.5). Running: from its admission
    (ours: the claim; the naive endpoint: the request) to the client's last event — a run
    queued for a minute at 10× load is not work done while it waits. Counting only the chains
    that end inside is quantised: clients started within one ramp stay nearly in step, so their
    chains end in bursts and a window catches one burst more or less (±15 % at 40 clients)."""
    total = 0.0
    for chain in done:
        start, end = chain.get("admitted", chain["start"]), chain["done"]
        inside = min(end, t1) - max(start, t0)
        if inside > 0 and end > start:
            total += inside / (end - start)
    return total


def summarize(results: list[dict[str, Any]], workers: int) -> list[str]:
    lines = []
    names = list(dict.fromkeys(r["server"] for r in results))
    levels = sorted({r["concurrency"] for r in results})
    peaks = {
        name: max(
            statistics.median(
                [
                    r["chains_per_s"]
                    for r in results
                    if r["server"] == name and r["concurrency"] == c
                ]
            )
            for c in levels
        )
        for name in names
    }
    header = (
        f"{'server':10} {'clients':>7} {'chains/s med (min–max)':>23} {'%ideal':>6} {'%peak':>5} "
        f"{'1st event p50/p99 ms':>20} {'1st token p50/p99':>17} {'place':>7} "
        f"{'err/cut/stuck/lost':>18} {'RSS MB':>6} {'wkr CPU':>7} {'ms/chain wkr+db':>15} "
        f"{'prov':>5} {'lgen':>5}"
    )
    lines.append(header)
    for concurrency in levels:
        for name in names:
            rows = [r for r in results if r["server"] == name and r["concurrency"] == concurrency]
            if not rows:
                continue
            rates = [r["chains_per_s"] for r in rows]
            median = statistics.median(rates)
            first_event = [v for r in rows for v in r["first_event"]]
            first_delta = [v for r in rows for v in r["first_delta"]]
            queued = sum(r.get("queued", 0) for r in rows)
            place = f"{sum(r.get('place_shown', 0) for r in rows)}/{queued}" if queued else "–"
            ours = "stuck" in rows[0]
            # err: requests refused (503, retried) or failed; cut: chains still going when the
            # load generator stopped waiting (the naive endpoint is never drained); stuck: ours
            # still queued or running 120 s after that; lost: events not received + text that
            # differs from prompt_results.
            stuck = sum(r.get("left_busy", 0) for r in rows) if ours else "–"
            problems = (
                f"{sum(r['error_count'] for r in rows)}/"
                f"{sum(r['unfinished_clients'] for r in rows)}/{stuck}/"
                f"{sum(r.get('events_lost', 0) + r.get('text_mismatch', 0) for r in rows)}"
            )
            lines.append(
                f"{name:10} {concurrency:7} "
                f"{f'{median:5.2f} ({min(rates):.2f}–{max(rates):.2f})':>23} "
                f"{100 * median / rows[0]['ideal_per_s']:6.0f} "
                f"{100 * median / (peaks[name] or 1):5.0f} "
                f"{ms(percentile(first_event, 0.5)) + '/' + ms(percentile(first_event, 0.99)):>20} "
                f"{ms(percentile(first_delta, 0.5)) + '/' + ms(percentile(first_delta, 0.99)):>17} "
                f"{place:>7} {problems:>18} "
                f"{max(r['max_rss_mb'] for r in rows):6.0f} "
                f"{100 * statistics.median(r['worker_cpu'] for r in rows):6.0f}% "
                f"{per_chain(rows):>15} "
                f"{100 * statistics.median(r['provider_cpu'] for r in rows):4.0f}% "
                f"{100 * statistics.median(r['loadgen_cpu'] for r in rows):4.0f}%"
            )
    loads = [r["load_average"] for r in results]
    lines.append(
        f"{workers} gunicorn worker(s); clients = concurrent chains in total; ideal = clients ÷ "
        f"{CHAIN_SECONDS:.0f} s; CPU in % of one core; load average "
        f"{min(loads):.1f}–{max(loads):.1f} (1 min) on {os.cpu_count()} cores"
    )
    for name in names:
        errors = [e for r in results if r["server"] == name for e in r["errors"]]
        if errors:
            lines.append(f"{name}: first errors: {errors[:3]}")
    return lines


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, settings = text.partition(":")
    env = dict(item.split("=", 1) for item in settings.split(",") if item)
    return name, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round, short windows")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--levels", default="40,100,400", help="concurrent chains per worker")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME:KEY=VALUE,… — ours with these settings (repeatable; default: production)",
    )
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument(
        "--window", type=float, help="seconds of load per level (default 25; 19 with --quick)"
    )
    parser.add_argument("--warm", type=float, default=7.0, help="seconds not counted at first")
    parser.add_argument(
        "--ramp",
        type=float,
        default=CHAIN_SECONDS,
        help="seconds over which the clients start (default: one chain's 6 s, so they arrive "
        "spread out as independent users do; 1 keeps them in lock-step — every client's "
        "request, claim and prompt end in the same second, chain after chain)",
    )
    parser.add_argument("--drain", type=float, default=240.0)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    if args.quick:  # one short round, unless a window is asked for
        args.rounds = 1
    if args.window is None:
        args.window = 19.0 if args.quick else 25.0
    levels = [int(x) for x in args.levels.split(",")]
    variants = [parse_variant(v) for v in args.variant] or [("ours", {})]

    from tests.support.postgres import temporary_database

    logdir = Path(f"/tmp/aa-bench-{os.getpid()}")
    logdir.mkdir(exist_ok=True)
    provider, provider_port = start_provider(args.tokens, CHAIN_SECONDS / 3)
    api_base = f"http://127.0.0.1:{provider_port}/v1"
    servers: list[Server] = []
    results: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: (provider.terminate(), provider.wait()))
        for name, env in variants:
            url = stack.enter_context(temporary_database("aa_bench_load"))
            assistant, token, cookie = seed(url, api_base)
            server = start_gunicorn(
                name, "wsgi:app", {"DATABASE_URL": url, **env}, args.workers, logdir, "/healthz"
            )
            stack.callback(server.stop)
            server.database, server.assistant, server.token, server.cookie = (
                url,
                assistant,
                token,
                cookie,
            )
            servers.append(server)
        if not args.no_naive:
            naive = start_gunicorn(
                "naive",
                "bench.naive_app:app",
                {"NAIVE_API_BASE": api_base},
                args.workers,
                logdir,
                "/healthz",
            )
            stack.callback(naive.stop)
            servers.append(naive)
        described = ", ".join(f"{s.name} {s.env}" if s.env else s.name for s in servers)
        print(f"servers: {described}; logs in {logdir}", flush=True)
        # Warm every server first (not recorded): a worker's first chains import litellm's
        # provider modules and open its connections, blocking the whole gevent worker meanwhile.
        warm = argparse.Namespace(**{**vars(args), "window": 8.0, "warm": 0.0, "drain": 30.0})
        for server in servers:
            measure(server, 5, warm, provider)
            if server.database:
                wait_idle(server)
        for number in range(args.rounds):
            for level in levels:
                order = servers if number % 2 == 0 else servers[::-1]
                for server in order:
                    result = measure(server, level * args.workers, args, provider)
                    result["round"] = number
                    if server.database:
                        result["left_busy"] = wait_idle(server)
                    results.append(result)
                    if args.json:  # as we go: a long run cut short keeps what it measured
                        args.json.write_text(json.dumps(results))
                    print(
                        f"round {number + 1} {server.name:8} {level * args.workers:4} clients: "
                        f"{result['chains_per_s']:.2f} chains/s "
                        f"({100 * result['chains_per_s'] / result['ideal_per_s']:.0f}% of ideal; "
                        f"{result['ended_per_s']:.2f} ending in the window), "
                        f"RSS {result['max_rss_mb']:.0f} MB, errors {result['error_count']}, "
                        f"load {result['load_average']:.1f}; first event p99 "
                        f"{ms(percentile(result['first_event'], 0.99))} ms in the window, "
                        f"{ms(percentile(result['first_event_all'], 0.99))} ms counting all",
                        flush=True,
                    )
                    if result.get("phases"):
                        print(
                            "    s (median/mean/max): "
                            + ", ".join(
                                f"{k} {a:.3f}/{b:.3f}/{c:.2f}"
                                for k, (a, b, c) in result["phases"].items()
                            ),
                            flush=True,
                        )
    if args.json:
        args.json.write_text(json.dumps(results))
    print()
    print("\n".join(summarize(results, args.workers)))


if __name__ == "__main__":
    main()
