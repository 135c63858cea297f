"""Preview: every prompt of a definition rendered with sample inputs, before anything runs.

``preview(definition, sample_inputs) -> list[PreviewStep]``, in step order. An earlier prompt's
output is shown as ``«output of Analyze»`` (its name, or "prompt N" when it has none); an input
field absent from ``sample_inputs`` is shown as ``«Label»`` so the author sees where it lands (a
field present with None or "" renders as "", as in a run). Unknown and forward references stay
verbatim, and the step's lint findings say why (their spans point into the template, not into
the rendered preview).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.chain.definition import ChainIndex, get
from app.chain.lint import Finding, lint
from app.chain.variables import format_input_value, render_step


@dataclass(frozen=True)
class PreviewStep:
    step: int
    name: str
    position: int
    model_name: str | None
    system_context: str | None
    content: str
    findings: list[Finding]


def output_label(name: str, step: int) -> str:
    return f"«output of {name.strip() or f'prompt {step}'}»"


def preview(
    definition: Mapping[str, Any], sample_inputs: Mapping[str, str | list[str] | None]
) -> list[PreviewStep]:
    index = ChainIndex(definition)
    findings = lint(definition)
    labels = {step.number: output_label(step.name, step.number) for step in index.steps}

    def input_value(field: str) -> str:
        if field in sample_inputs:
            return format_input_value(sample_inputs[field])
        label = get(index.fields.get(field), "label")
        return f"«{label if isinstance(label, str) and label.strip() else field}»"

    steps = []
    for step in index.steps:
        rendered = render_step(index, step, input_value, labels.get)
        model = get(step.prompt, "model")
        model_name = get(model, "name")
        steps.append(
            PreviewStep(
                step=step.number,
                name=step.name,
                position=step.position,
                model_name=model_name if isinstance(model_name, str) else None,
                system_context=rendered.system_context,
                content=rendered.content,
                findings=[finding for finding in findings if finding.step == step.number],
            )
        )
    return steps
