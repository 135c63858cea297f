"""What the prompts of one execution share: inputs, outputs so far, the event writer, the queued
result rows (written behind by the flusher), the open provider streams and the stop flags."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from app.chain.definition import ChainIndex
from app.chain.events import EventWriter
from app.chain.providers import CompletionStream
from app.chain.settings import RunnerSettings
from app.models import Execution, PromptResult, prebuilt
from app.models.prebuilt import Statement

# Foreign keys of a result row that may point at a prompt or model deleted since the snapshot.
_REFERENCES = ("prompt", "model")


class RunContext:
    """What the prompts of one execution share: inputs, outputs so far, the writer, the flags."""

    def __init__(self, execution: Execution, writer: EventWriter, settings: RunnerSettings) -> None:
        self.execution = execution
        self.index = ChainIndex(execution.definition)  # steps, slugs, fields: built once per run
        self.writer = writer
        self.settings = settings
        self.outputs: dict[int, str] = {}
        # step → its prompt_results row as written or queued: status, tokens, cost (the totals).
        self.results: dict[int, dict[str, Any]] = {}
        # Whether `results` holds every row of the run: a fresh run has none until it writes
        # them; a resumed run or a retry knows them once `load_results` has read them.
        self.knows_results = execution.is_fresh
        # Result rows are written behind, by the flusher: [step, values, insert?] in order.
        self._writes: list[list[Any]] = []
        self._taken: list[list[Any]] = []  # the last writes taken, until their write succeeds
        self.cancelled = False
        self.lease_lost = False
        self._streams: set[CompletionStream] = set()
        self._lock = threading.Lock()

    def load_results(self) -> None:
        """What an earlier attempt (or the retry's copy of earlier results) left: one read."""
        rows = PromptResult.select(
            PromptResult.step,
            PromptResult.status,
            PromptResult.output_data,
            PromptResult.tokens_in,
            PromptResult.tokens_out,
            PromptResult.cost,
        ).where(PromptResult.execution == self.execution.id)
        for row in rows:
            self.results[row.step] = {
                "status": row.status,
                "tokens_in": row.tokens_in,
                "tokens_out": row.tokens_out,
                "cost": row.cost,
            }
            if row.status == "completed":
                self.outputs[row.step] = row.output_data or ""
        self.knows_results = True

    def completed_steps(self) -> set[int]:
        return {step for step, row in self.results.items() if row["status"] == "completed"}

    def totals(self) -> dict[str, Any]:
        """Tokens, cost and the unpriced flag over every result row of the run, from the rows
        as written: no read back. Only when `knows_results`."""
        rows = list(self.results.values())
        costs = [row["cost"] for row in rows if row.get("cost") is not None]
        return {
            "tokens_in": sum(row.get("tokens_in") or 0 for row in rows),
            "tokens_out": sum(row.get("tokens_out") or 0 for row in rows),
            "cost": str(sum(costs, Decimal(0))) if costs else None,
            "unpriced": any(
                row.get("cost") is None and row.get("status") == "completed" for row in rows
            ),
        }

    def queue_result(self, step: int, values: dict[str, Any]) -> None:
        """Insert (first time) or update the step's prompt_results row at the next flush.

        `prompt` and `model` may name rows deleted since the snapshot: they are stored as NULL
        then (the foreign keys), checked by the statement itself."""
        with self._lock:
            insert = step not in self.results
            self.results.setdefault(step, {}).update(values)
            last = next((w for w in reversed(self._writes) if w[0] == step), None)
            if last is not None:
                last[1] = {**last[1], **values}  # not written yet: one statement, not two
                return
            self._writes.append([step, values, insert])

    def take_writes(self) -> list[Statement]:
        """The queued result rows as statements, for the caller's transaction (or Script)."""
        with self._lock:
            writes, self._writes = self._writes, []
            self._taken = writes
        execution_id = self.execution.id
        statements = []
        for step, values, insert in writes:
            if insert:
                row = {"execution": execution_id, "step": step, **values}
                statements.append(prebuilt.insert(PromptResult, row, if_exists=_REFERENCES))
            else:
                where = {"execution": execution_id, "step": step}
                statements.append(
                    prebuilt.update(PromptResult, values, where, if_exists=_REFERENCES)
                )
        return statements

    def put_back_writes(self) -> None:
        """The transaction writing the last writes taken failed: they go back in front, to be
        written with the next (later values for a step still merge into them)."""
        with self._lock:
            self._writes, self._taken = self._taken + self._writes, []

    def has_writes(self) -> bool:
        with self._lock:
            return bool(self._writes)

    def track(self, stream: CompletionStream | None, active: bool = True) -> None:
        with self._lock:
            if stream is None:
                return
            if active:
                self._streams.add(stream)
            else:
                self._streams.discard(stream)
        if active and (self.cancelled or self.lease_lost):
            stream.close()

    def cancel(self) -> None:
        self.cancelled = True
        self._close_all()

    def lose_lease(self) -> None:
        self.lease_lost = True
        self._close_all()

    @property
    def stopping(self) -> bool:
        return self.cancelled or self.lease_lost

    def _close_all(self) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()  # the provider's HTTP connection is released now
