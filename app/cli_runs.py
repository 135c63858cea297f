"""Ops commands for runs: `flask assistants run` (headless, live) and `flask runner work`."""

from __future__ import annotations

import json
import sys
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from app.budgets import BudgetExceeded
from app.chain import doorbell
from app.chain.chat_runner import answer_message, claim_next_answer
from app.chain.follow import follow_events
from app.chain.queue import claim_next, request_cancel, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.db import database
from app.models import Assistant, Execution, PromptResult, User
from app.models.audit import record

assistants_cli = AppGroup("assistants", help="Assistants.")
runner_cli = AppGroup("runner", help="The run queue.")


def _parse_inputs(pairs: tuple[str, ...]) -> dict[str, object]:
    inputs: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: write NAME=VALUE", param_hint="--input")
        if name in inputs:  # a repeated name builds a multi-select list
            previous = inputs[name]
            inputs[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            inputs[name] = value
    return inputs


@assistants_cli.command("run")
@click.argument("assistant_id", type=int)
@click.option("--as", "as_email", required=True, help="Run as this user (their rights apply).")
@click.option("--input", "inputs", multiple=True, help="NAME=VALUE; repeat for several fields.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON at the end.")
def run_assistant(assistant_id: int, as_email: str, inputs: tuple[str, ...], as_json: bool) -> None:
    """Run an assistant headless and show each prompt live; exit 1 when the run fails."""
    user = User.by_email(as_email)
    if user is None or not user.is_active:
        raise click.ClickException(f"No active account {as_email}.")
    assistant = Assistant.get_or_none(Assistant.id == assistant_id)
    if assistant is None or not assistant.can_run(user):
        # The pages' 404: whether it exists or is not theirs to run, the answer is the same.
        raise click.ClickException(
            f"Assistant {assistant_id} not found for {user.email}: it does not exist, or "
            "they may not run it."
        )
    try:
        execution = start_execution(assistant, user, _parse_inputs(inputs))
    except BudgetExceeded as exc:
        raise click.ClickException(exc.message) from exc
    record(
        "execution.started",
        actor=user,
        target=execution,
        summary=f"Ran “{assistant.name}” (CLI)",
        details={"assistant": assistant.id, "via": "cli"},
    )
    settings = RunnerSettings.from_config(current_app.config)
    worker = threading.Thread(target=_claim_until, args=(execution.id, settings), daemon=True)
    worker.start()
    echo = (lambda *a, **k: None) if as_json else click.echo
    echo(f"Run {execution.id} of “{assistant.name}” started.")
    for event in follow_events(execution.id):
        if event is not None:
            _show(event, echo)
    worker.join(timeout=5)
    with database.connection_context():
        final = Execution.get_by_id(execution.id)
        results = list(
            PromptResult.select()
            .where(PromptResult.execution == final.id)
            .order_by(PromptResult.step)
        )
    if as_json:
        click.echo(json.dumps(_summary(final, results), indent=2, ensure_ascii=False))
    if final.status != "completed":
        if not as_json:
            click.echo(f"\nRun {final.id} {final.status}: {final.error_message or ''}", err=True)
        sys.exit(1)
    echo(f"\nRun {final.id} completed: {final.tokens_in + final.tokens_out} tokens.")


def _claim_until(execution_id: int, settings: RunnerSettings) -> None:
    """Work the queue (oldest first) until our run has been taken — by us, or by a server."""
    while True:
        with database.connection_context():
            status = Execution.select(Execution.status).where(Execution.id == execution_id).scalar()
        if status != "pending":
            return
        claimed = claim_next(settings)
        if claimed is None:
            doorbell.wait(doorbell.QUEUE_KEY, settings.poll_interval)
            continue
        run_execution(claimed.id, settings)


def _show(event, echo) -> None:
    data = event.event_data
    kind = event.event_type
    if kind == "prompt-start":
        suffix = " (fallback model)" if data.get("fallback") else ""
        retry = f" — try {data['attempt']}" if data.get("attempt", 1) > 1 else ""
        echo(f"\n▶ {data['step']}. {data['name']} · {data['model']}{suffix}{retry}")
    elif kind == "prompt-delta":
        echo(data["text"], nl=False)
    elif kind == "prompt-complete":
        echo(f"\n✓ {data['step']} done in {data['ms']} ms · {data.get('tokens_out') or 0} tokens")
    elif kind == "prompt-error":
        echo(
            f"\n✗ {data['step']}: {data['error']}" + (" — retrying" if data.get("retrying") else "")
        )
    elif kind == "execution-error":
        echo(f"\nFailed: {data.get('error')}")
    elif kind == "execution-cancelled":
        echo("\nStopped.")


def _summary(execution: Execution, results: list[PromptResult]) -> dict:
    return {
        "id": execution.id,
        "status": execution.status,
        "error": execution.error_message,
        "tokens_in": execution.tokens_in,
        "tokens_out": execution.tokens_out,
        "cost": str(execution.cost) if execution.cost is not None else None,
        "prompt_results": [
            {
                "step": r.step,
                "name": r.prompt_name,
                "status": r.status,
                "output": r.output_data,
                "tokens_in": r.tokens_in,
                "tokens_out": r.tokens_out,
                "execution_time_ms": r.execution_time_ms,
            }
            for r in results
        ],
    }


@assistants_cli.command("cancel")
@click.argument("execution_id", type=int)
@click.option("--as", "as_email", required=True, help="Cancel as this user (their rights apply).")
def cancel_run(execution_id: int, as_email: str) -> None:
    """Stop a queued or running run; what was written so far is kept."""
    user = User.by_email(as_email)
    if user is None or not user.is_active:
        raise click.ClickException(f"No active account {as_email}.")
    execution = Execution.visible_to(user).where(Execution.id == execution_id).first()
    if execution is None:
        raise click.ClickException(
            f"Run {execution_id} not found for {user.email}: it does not exist, or is not theirs."
        )
    if not request_cancel(execution):
        raise click.ClickException(f"Run {execution_id} had already finished ({execution.status}).")
    record(
        "execution.cancelled",
        actor=user,
        target=execution,
        summary=f"Stopped run {execution_id} (CLI)",
        details={"via": "cli"},
    )
    click.echo(f"Run {execution_id} is stopping.")


@runner_cli.command("work")
@click.option("--until-empty", is_flag=True, help="Exit when no run is queued.")
def work(until_empty: bool) -> None:
    """Run queued executions and follow-up answers here (a worker task, a test's 2nd process)."""
    settings = RunnerSettings.from_config(current_app.config)
    count = 0
    while True:
        execution = claim_next(settings)
        if execution is None:
            answer = claim_next_answer(settings)
            if answer is not None:
                status = answer_message(answer.id, settings)
                click.echo(f"follow-up answer {answer.id} on run {answer.execution_id}: {status}")
                continue
            if until_empty:
                break
            doorbell.wait(doorbell.QUEUE_KEY, settings.poll_interval)
            continue
        status = run_execution(execution.id, settings)
        count += 1
        click.echo(f"run {execution.id}: {status}")
    click.echo(f"{count} run(s) processed.")
