"""AI Studio's JSON format v1.0, the way out (DESIGN §3 and §8): ours written back with 0-based
``prompt_N_output`` numbering, AI Studio's option keys and model names. No Flask, no database.

- ``export_assistant(info, definition, model_name) -> dict`` and ``export_document(items)``;
  ``model_namer(models)`` gives the name AI Studio knows a model by.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.chain.definition import ChainIndex, as_int
from app.interchange.aistudio import _TO_AISTUDIO, EXPORT_SOURCE, MIB, renumber_outputs
from app.interchange.models_map import ModelChoice, export_name
from app.schemas.interchange import FORMAT_VERSION


def options_out(options: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in options.items():
        if key in _TO_AISTUDIO:
            result[_TO_AISTUDIO[key]] = value
        elif key == "accept" and isinstance(value, list):
            result["accept"] = ",".join(str(v) for v in value)
        elif key == "max_size_mb" and isinstance(value, int) and not isinstance(value, bool):
            result["maxSize"] = value * MIB
        else:
            result[key] = value
    return result


def export_assistant(
    info: Mapping[str, Any],
    definition: Mapping[str, Any],
    model_name: Callable[[Mapping[str, Any] | None], str | None],
) -> dict[str, Any]:
    """One assistant in AI Studio's terms. ``definition`` is ``Assistant.definition()``."""
    fields = list(definition["fields"])
    prompts = copy.deepcopy(list(definition["prompts"]))
    ordered = [prompts[s.index] for s in ChainIndex({"prompts": prompts}).steps]
    renumber_outputs(ordered, lambda n: n - 1 if n >= 1 else None, {f["name"] for f in fields})
    layout = _positions_out(ordered)
    return {
        "name": info["name"],
        "description": info.get("description") or "",
        "status": info["status"],
        "image_path": info.get("image_path"),
        "is_parallel": bool(info.get("is_parallel")),
        "timeout_seconds": info.get("timeout_seconds"),
        "prompts": [
            {
                "name": p["name"],
                "content": p["content"],
                "system_context": p.get("system_context"),
                "model_name": model_name(p.get("model")),
                "position": layout[i][0],
                "parallel_group": layout[i][1],
                "input_mapping": dict(p.get("input_mapping") or {}) or None,
                "timeout_seconds": p.get("timeout_seconds"),
            }
            for i, p in enumerate(ordered)
        ],
        "input_fields": [
            {
                "name": f["name"],
                "label": f["label"],
                "field_type": f["field_type"],
                "position": position,
                "options": options_out(f.get("options") or {}),
            }
            for position, f in enumerate(fields)
        ],
    }


def _positions_out(ordered: list[dict[str, Any]]) -> list[tuple[int, int | None]]:
    """(position, parallel_group) per prompt in step order, as AI Studio reads them.

    AI Studio orders by position and runs the prompts of one ``parallel_group`` together, so each
    prompt gets its own position (no tie leaves ``prompt_N_output`` ambiguous) and the prompts of
    one stage share a group that no other stage uses: their own when they all carry the same one,
    else a new number. A prompt alone in its stage has no group (the stages are what runs). Only a
    stage whose prompts carry different groups keeps one shared position, which the importer also
    reads as one stage.
    """
    stages: dict[int, list[int]] = {}
    for index, prompt in enumerate(ordered):
        stages.setdefault(as_int(prompt.get("position")), []).append(index)
    known = [g for p in ordered if isinstance(g := p.get("parallel_group"), int)]
    spare = max(known, default=0) + 1
    taken: set[int] = set()
    result: list[tuple[int, int | None]] = []
    position = 0
    for members in stages.values():
        groups = {ordered[i].get("parallel_group") for i in members}
        if len(members) == 1:
            result.append((position, None))
            position += 1
            continue
        group = next(iter(groups)) if len(groups) == 1 else None
        if len(groups) > 1 and groups != {None} and None not in groups:
            result.extend((position, ordered[i].get("parallel_group")) for i in members)
            taken |= {g for g in groups if g is not None}
            position += 1
            continue
        if group is None or group in taken:
            group, spare = spare, spare + 1
        taken.add(group)
        result.extend((position + k, group) for k in range(len(members)))
        position += len(members)
    return result


def export_document(assistants: list[dict[str, Any]], now: dt.datetime | None = None) -> dict:
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {
        "version": FORMAT_VERSION,
        "exported_at": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "export_source": EXPORT_SOURCE,
        "assistants": assistants,
    }


def model_namer(models: Sequence[ModelChoice]) -> Callable[[Mapping[str, Any] | None], str | None]:
    by_id = {m.id: m for m in models}

    def name(ref: Mapping[str, Any] | None) -> str | None:
        model = by_id.get(ref.get("id") or 0) if isinstance(ref, Mapping) else None
        return export_name(model, models)

    return name
