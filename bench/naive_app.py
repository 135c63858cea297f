"""The naive baseline of the load benchmark (DESIGN §7): Flask + gevent + litellm, the chain run
inline in the request, every chunk sent as it arrives. No database, no queue, no admission.

litellm is configured as cheaply as ours (`disable_streaming_logging`, one shared uncapped httpx
client, stop at the usage chunk), so the comparison is about the architecture, not litellm.

    gunicorn -c gunicorn.conf.py bench.naive_app:app     (NAIVE_API_BASE=http://…/v1)
    GET /chain?input=…  → text/event-stream: `data: <piece>` per chunk, then `event: done`
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

os.environ.update(
    LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_OFFLINE_MODE="true", HF_HUB_OFFLINE="1"
)

import json  # noqa: E402

import httpx  # noqa: E402
import litellm  # noqa: E402
from flask import Flask, Response, request, stream_with_context  # noqa: E402

PROMPTS = ("Analyze this: {text}", "Summarize: {text}", "Review: {text}")

litellm.disable_streaming_logging = True
litellm.client_session = httpx.Client(limits=httpx.Limits(max_connections=None))
litellm.suppress_debug_info = True

app = Flask(__name__)


def _answer(prompt: str):
    stream = litellm.completion(
        model="openai/fake-model",
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
        api_base=os.environ["NAIVE_API_BASE"],
        api_key="sk-bench",
        timeout=600,
        max_retries=0,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content
        if getattr(chunk, "usage", None) is not None:  # stop at the usage chunk, as ours does
            stream.close()
            return


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.get("/chain")
def chain() -> Response:
    text = request.args.get("input", "")

    def generate():
        nonlocal text
        for step, template in enumerate(PROMPTS, start=1):
            parts = []
            for piece in _answer(template.format(text=text)):
                parts.append(piece)
                yield f"event: delta\ndata: {json.dumps({'step': step, 'text': piece})}\n\n"
            text = "".join(parts)
        yield "event: done\ndata: {}\n\n"

    return Response(
        stream_with_context(generate()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
