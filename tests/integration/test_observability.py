"""JSON log lines and Prometheus metrics."""

from __future__ import annotations

import json
import logging

from app.chain.queue import claim_next, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.observability import _Context, json_formatter


def test_metrics_expose_requests_runs_prompts_and_streams(client, make, fake_openai):
    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    assistant = make.assistant(prompts=[{"name": "P", "content": "hello", "model": model}])
    start_execution(assistant, assistant.user, {})
    queued = client.get("/metrics").get_data(as_text=True)
    assert "runs_queued 1.0" in queued
    settings = RunnerSettings(flush_interval=0.02)
    claimed = claim_next(settings)
    assert run_execution(claimed.id, settings) == "completed"
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'prompts_total{model="openai/fake-model",outcome="completed"}' in text
    assert 'tokens_total{direction="output",model="openai/fake-model"}' in text
    assert 'execution_duration_seconds_count{outcome="completed"}' in text
    assert (
        'http_request_duration_seconds_count{endpoint="ops.healthz",method="GET",status="2xx"}'
        in text
    )
    assert "runs_queued 0.0" in text and "streams_open" in text and "runs_active" in text


def test_metrics_can_require_a_token(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-token"
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
    finally:
        app.config["METRICS_TOKEN"] = ""


def test_log_lines_are_json_with_component_and_ids(app):
    record = logging.LogRecord(
        "app.runner", logging.INFO, __file__, 1, "execution.failed", None, None
    )
    record.execution_id = 42
    with app.test_request_context("/runs/42"):
        from flask import g

        g.request_id = "req-1"
        _Context().filter(record)
    line = json.loads(json_formatter().format(record))
    assert line["component"] == "assistant-architect"
    assert line["event"] == "execution.failed" and line["level"] == "INFO"
    assert line["execution_id"] == 42 and line["request_id"] == "req-1"
