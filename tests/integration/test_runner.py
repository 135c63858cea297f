"""The runner end to end over real HTTP to the fake provider, on SQLite and on Postgres."""

from __future__ import annotations

import threading
import time

import pytest

from app.chain.events import events_after
from app.chain.queue import claim_next, request_cancel, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.models import Execution, ExecutionEvent, PromptResult
from tests.support.fake_openai import answer_text

FAST = RunnerSettings(
    flush_interval=0.02, retry_backoff=0.01, read_timeout=2, prompt_timeout=5, poll_interval=0.05
)


@pytest.fixture
def fake_model(make, fake_openai):
    return make.model(name="Fake GPT", model_id="openai/fake-model", api_base=fake_openai.base_url)


def run_now(execution: Execution, settings: RunnerSettings = FAST) -> Execution:
    claimed = claim_next(settings)
    assert claimed is not None and claimed.id == execution.id
    run_execution(claimed.id, settings)
    return Execution.get_by_id(execution.id)


def chain(make, model, *contents: str, positions=None, **fields):
    prompts = [
        {
            "name": f"Step {i + 1}",
            "content": c,
            "model": model,
            "position": (positions or range(len(contents)))[i],
        }
        for i, c in enumerate(contents)
    ]
    return make.assistant(fields=[{"name": "user_input"}], prompts=prompts, **fields)


def test_one_prompt_run_completes(make, fake_model, fake_openai):
    assistant = chain(make, fake_model, "Analyze this: {{user_input}}")
    execution = start_execution(assistant, assistant.user, {"user_input": "the water cycle"})
    assert execution.status == "pending"
    done = run_now(execution)
    assert done.status == "completed" and done.error_message is None
    [result] = PromptResult.select().where(PromptResult.execution == done.id)
    assert result.status == "completed"
    assert result.output_data == answer_text("Analyze this: the water cycle")
    assert result.input_data["processed_content"] == "Analyze this: the water cycle"
    assert result.input_data["original_content"] == "Analyze this: {{user_input}}"
    assert result.tokens_out == len(answer_text("Analyze this: the water cycle").split())
    assert done.tokens_out == result.tokens_out and done.completed_at >= done.started_at


def test_prompt_two_receives_prompt_one_output(make, fake_model, fake_openai):
    assistant = chain(
        make, fake_model, "Analyze this: {{user_input}}", "Summarize: {{prompt_1_output}}"
    )
    done = run_now(start_execution(assistant, assistant.user, {"user_input": "photosynthesis"}))
    assert done.status == "completed"
    first = answer_text("Analyze this: photosynthesis")
    second_request = fake_openai.requests[-1]
    assert second_request.last_user_message == f"Summarize: {first}"
    results = list(
        PromptResult.select().where(PromptResult.execution == done.id).order_by(PromptResult.step)
    )
    assert [r.step for r in results] == [1, 2]
    assert results[1].input_data["processed_content"] == f"Summarize: {first}"


@pytest.mark.parametrize("problem", ["unknown_variable", "inactive_model", "missing_model"])
def test_invalid_assistant_fails_before_any_model_call(make, fake_model, fake_openai, problem):
    content = "Analyze this: {{user_input}}"
    model = fake_model
    if problem == "unknown_variable":
        content = "Analyze this: {{nonexistent}}"
    elif problem == "inactive_model":
        model = make.model(name="Retired model", is_active=False, api_base=fake_openai.base_url)
    else:
        model = None
    assistant = chain(make, model, content)
    done = run_now(start_execution(assistant, assistant.user, {"user_input": "x"}))
    assert done.status == "failed"
    assert "Step 1" in done.error_message
    expected = {
        "unknown_variable": "nonexistent",
        "inactive_model": "Retired model",
        "missing_model": "model",
    }
    assert expected[problem] in done.error_message
    assert fake_openai.requests == []
    assert PromptResult.select().where(PromptResult.execution == done.id).count() == 0
    kinds = [e.event_type for e in events_after(done.id)]
    assert kinds == ["execution-error"]


def test_prompts_of_one_stage_run_concurrently(make, fake_model):
    assistant = chain(
        make,
        fake_model,
        "[[slow:40]] one two three four",
        "[[slow:40]] five six seven eight",
        positions=[0, 0],
    )
    done = run_now(start_execution(assistant, assistant.user, {}))
    assert done.status == "completed"
    a, b = (
        PromptResult.select().where(PromptResult.execution == done.id).order_by(PromptResult.step)
    )
    assert a.started_at < b.completed_at and b.started_at < a.completed_at  # intervals overlap


def test_events_replay_in_order_from_any_seq(make, fake_model):
    assistant = chain(
        make,
        fake_model,
        "[[slow:5]] Analyze this: {{user_input}}",
        "Summarize: {{prompt_1_output}}",
    )
    done = run_now(start_execution(assistant, assistant.user, {"user_input": "tides and moons"}))
    events = events_after(done.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert (
        events[0].event_type == "execution-start" and events[-1].event_type == "execution-complete"
    )
    for start in (0, 3, len(events) - 1):
        assert [e.seq for e in events_after(done.id, start)] == list(
            range(start + 1, len(events) + 1)
        )
    streamed = "".join(
        e.event_data["text"]
        for e in events
        if e.event_type == "prompt-delta" and e.event_data["step"] == 1
    )
    assert streamed == answer_text("Analyze this: tides and moons")


def test_database_writes_do_not_grow_with_tokens(make, fake_model, fake_openai):
    """Deltas are written once per flush interval, however many tokens arrive meanwhile."""
    for tokens in (50, 500):
        fake_openai.tokens = tokens
        assistant = chain(
            make,
            fake_model,
            "Say {{user_input}}",
            "Again {{prompt_1_output}}",
            "Last {{prompt_2_output}}",
        )
        done = run_now(start_execution(assistant, assistant.user, {"user_input": "hi"}))
        assert done.status == "completed" and done.tokens_out == 3 * tokens
        deltas = (
            ExecutionEvent.select()
            .where(
                (ExecutionEvent.execution == done.id)
                & (ExecutionEvent.event_type == "prompt-delta")
            )
            .count()
        )
        seconds = (done.completed_at - done.claimed_at).total_seconds()
        flush_bound = (
            seconds / FAST.flush_interval + 3
        )  # at most one delta row per prompt per flush
        assert deltas <= flush_bound, (tokens, deltas, seconds)
        assert deltas < 3 * tokens / 4


def test_failed_prompt_stops_the_chain_and_keeps_earlier_results(make, fake_model):
    assistant = chain(
        make,
        fake_model,
        "Analyze this: {{user_input}}",
        "[[fail:401]] {{prompt_1_output}}",
        "Never {{prompt_2_output}}",
    )
    done = run_now(start_execution(assistant, assistant.user, {"user_input": "x"}))
    assert done.status == "failed"
    assert done.error_message.startswith("Prompt “Step 2” failed:")
    assert "401" in done.error_message
    results = {r.step: r for r in PromptResult.select().where(PromptResult.execution == done.id)}
    assert results[1].status == "completed" and results[2].status == "failed"
    assert 3 not in results  # never reached: no row ("Not run")


def test_retryable_error_is_retried(make, fake_model, fake_openai):
    assistant = chain(make, fake_model, "[[fail-times:2:500]] hello")
    done = run_now(start_execution(assistant, assistant.user, {}))
    assert done.status == "completed"
    [result] = PromptResult.select().where(PromptResult.execution == done.id)
    assert result.attempts == 3 and not result.used_fallback
    errors = [e for e in events_after(done.id) if e.event_type == "prompt-error"]
    assert [e.event_data["retrying"] for e in errors] == [True, True]


def test_rate_limit_storm_falls_back(make, fake_model, fake_openai):
    backup = make.model(
        name="Backup", model_id="openai/backup-model", api_base=fake_openai.base_url
    )
    assistant = make.assistant(
        prompts=[{"name": "Ask", "content": "hello", "model": fake_model, "fallback_model": backup}]
    )
    fake_openai.script("fail:429", "fail:429", "fail:429", "ok")
    done = run_now(start_execution(assistant, assistant.user, {}))
    assert done.status == "completed"
    [result] = PromptResult.select().where(PromptResult.execution == done.id)
    assert result.used_fallback and result.model_id == backup.id
    assert fake_openai.requests[-1].body["model"] == "backup-model"


def test_a_hang_hits_the_prompt_timeout(make, fake_model):
    assistant = make.assistant(
        prompts=[
            {"name": "Stuck", "content": "[[hang]]", "model": fake_model, "timeout_seconds": 1}
        ]
    )
    settings = RunnerSettings(flush_interval=0.02, retries=0, read_timeout=5, prompt_timeout=5)
    done = run_now(start_execution(assistant, assistant.user, {}), settings)
    assert done.status == "failed"
    assert (
        done.error_message
        == "Prompt “Stuck” failed: The model did not start answering within 1 second."
    )


def test_cancel_mid_stream_keeps_partial_output(make, fake_model, fake_openai):
    fake_openai.tokens = 200
    assistant = make.assistant(
        prompts=[{"name": "Long", "content": "[[slow:20]] go", "model": fake_model}]
    )
    execution = start_execution(assistant, assistant.user, {})
    claimed = claim_next(FAST)
    worker = threading.Thread(target=run_execution, args=(claimed.id, FAST))
    worker.start()
    deadline = time.monotonic() + 10
    while not any(e.event_type == "prompt-delta" for e in events_after(execution.id)):
        assert time.monotonic() < deadline, "no output streamed"
        time.sleep(0.02)
    assert request_cancel(Execution.get_by_id(execution.id))
    worker.join(timeout=10)
    done = Execution.get_by_id(execution.id)
    assert done.status == "cancelled"
    [result] = PromptResult.select().where(PromptResult.execution == done.id)
    assert result.status == "cancelled"
    assert 0 < len(result.output_data.split()) < 200
    assert fake_openai.wait_for_disconnects(1)
    assert events_after(done.id)[-1].event_type == "execution-cancelled"


def test_cancel_of_a_queued_run_is_immediate(make, fake_model, fake_openai):
    assistant = chain(make, fake_model, "hello")
    execution = start_execution(assistant, assistant.user, {})
    assert request_cancel(execution)
    assert Execution.get_by_id(execution.id).status == "cancelled"
    assert claim_next(FAST) is None and fake_openai.requests == []


def test_a_follower_in_the_writers_process_is_handed_the_rows_it_would_read(make, fake_model):
    """While a run streams, a follower woken by its writer takes the committed rows from memory
    (no read per flush) — and they are exactly the rows in the database, in order, none missed."""
    from app.chain.follow import READ_FROM_DATABASE, READ_FROM_MEMORY, follow_events

    assistant = chain(  # slow: each answer streams over several flushes
        make,
        fake_model,
        "[[slow:5]] Analyze this: {{user_input}}",
        "Summarize: {{prompt_1_output}}",
    )
    execution = start_execution(assistant, assistant.user, {"user_input": "tides and moons"})
    received: list[tuple[int, str, dict]] = []
    subscribed = threading.Event()

    def follow() -> None:
        events = follow_events(execution.id, wait_seconds=0.2, poll_seconds=30)
        for event in events:
            subscribed.set()
            if event is not None:
                received.append((event.seq, event.event_type, event.event_data))

    memory, database_reads = READ_FROM_MEMORY._value.get(), READ_FROM_DATABASE._value.get()
    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    assert subscribed.wait(5)
    done = run_now(execution)
    follower.join(timeout=10)
    assert not follower.is_alive() and done.status == "completed"
    stored = [(e.seq, e.event_type, e.event_data) for e in events_after(done.id)]
    assert received == stored
    assert READ_FROM_MEMORY._value.get() - memory >= 3
    assert READ_FROM_DATABASE._value.get() - database_reads < READ_FROM_MEMORY._value.get() - memory


def test_a_failed_flush_loses_nothing(make, fake_model, monkeypatch):
    """The database refuses the first flushes (a blip): their events and result rows are
    written by the next tick, with the same seqs — none lost, none twice."""
    import peewee

    from app.db import database

    real = type(database.obj).execute_sql
    refused = []

    def blip(self, sql, params=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if 'INSERT INTO "assistant_architect_events"' in sql and len(refused) < 3:
            refused.append(sql)
            raise peewee.OperationalError("server closed the connection unexpectedly")
        return real(self, sql, params, *args, **kwargs)

    assistant = chain(
        make, fake_model, "[[slow:15]] Say {{user_input}}", "Again {{prompt_1_output}}"
    )
    execution = start_execution(assistant, assistant.user, {"user_input": "one two three"})
    monkeypatch.setattr(type(database.obj), "execute_sql", blip)
    done = run_now(execution)
    monkeypatch.undo()
    assert len(refused) == 3  # the blips happened
    assert done.status == "completed"
    events = events_after(execution.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no gap, no repeat
    results = PromptResult.select().where(PromptResult.execution == execution.id)
    outputs = {r.step: r.output_data for r in results.order_by(PromptResult.step)}
    assert sorted(outputs) == [1, 2] and all(r.status == "completed" for r in results)
    for step, output in outputs.items():
        streamed = "".join(
            e.event_data["text"]
            for e in events
            if e.event_type == "prompt-delta" and e.event_data["step"] == step
        )
        assert streamed == output
    assert [e.event_type for e in events].count("execution-complete") == 1
