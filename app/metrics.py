"""Prometheus metrics, multiprocess-safe: each gunicorn worker writes, /metrics sums them.

No Flask here, so the chain engine can count what it does.
"""

from __future__ import annotations

import os
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "Request latency", ["endpoint", "method", "status"]
)
EXECUTION_DURATION = Histogram(
    "execution_duration_seconds",
    "Run duration from claim to end",
    ["outcome"],
    buckets=(1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640, 1280),
)
PROMPTS = Counter("prompts_total", "Prompts run", ["model", "outcome"])
TOKENS = Counter("tokens_total", "Tokens by model", ["model", "direction"])
COST = Counter("cost_dollars_total", "Cost by model (priced models only)", ["model"])
ACTIVE_RUNS = Gauge("runs_active", "Runs being executed", multiprocess_mode="livesum")
STREAM_READS = Counter(
    "stream_reads_total", "Event batches read by open streams, by where from", ["source"]
)
OPEN_STREAMS = Gauge("streams_open", "Open SSE streams", multiprocess_mode="livesum")
QUEUED_RUNS = Gauge("runs_queued", "Runs waiting for a runner", multiprocess_mode="livemostrecent")


def metrics_payload(queued: int) -> bytes:
    QUEUED_RUNS.set(queued)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)
    return generate_latest()


def record_prompt(
    model: str, outcome: str, tokens_in: int | None, tokens_out: int | None, cost: Decimal | None
) -> None:
    PROMPTS.labels(model, outcome).inc()
    if tokens_in:
        TOKENS.labels(model, "input").inc(tokens_in)
    if tokens_out:
        TOKENS.labels(model, "output").inc(tokens_out)
    if cost is not None:
        COST.labels(model).inc(float(cost))
