"""The import endpoint under random files (hypothesis, capped): never a 500, always an answer the
document describes — 200 with reports, or a problem (400/413/422) saying what is wrong."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.models import Assistant
from tests.integration.api_support import PROBLEM, bearer, reset_rate_limits
from tests.unit.test_aistudio import NAMES, _mutate, fixture

FUZZ = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
any_text = st.text(st.characters(exclude_categories=()), max_size=30)  # NUL, lone surrogates
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=12,
)


def _post(client, headers, body: str | bytes):
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return client.post("/api/v1/assistants/import", data=data, headers=headers)


def _assert_answer(response) -> None:
    assert response.status_code in {200, 400, 422}, response.get_data(as_text=True)[:300]
    body = response.get_json(force=True)
    if response.status_code == 200:
        assert body["imported"] >= 1
        assert all(
            Assistant.get_by_id(r["assistant_id"]).status == "pending_approval"
            for r in body["assistants"]
            if r["imported"]
        )
    else:
        assert response.mimetype == PROBLEM and body["detail"]


@given(name=st.sampled_from(NAMES), data=st.data(), cut=st.booleans())
@FUZZ
def test_mutated_ai_studio_files_never_fail_the_server(app, make, name, data, cut):
    reset_rate_limits()
    admin = make.user(roles=("administrator",))
    headers = {**bearer(admin, "assistants:write"), "Content-Type": "application/json"}
    document = _mutate(copy.deepcopy(fixture(name)), data)
    text = json.dumps(document, ensure_ascii=False)
    _assert_answer(_post(app.test_client(), headers, text[:-1] if cut else text))


@given(item=values)
@example(item={"name": "Nul\x00", "prompts": [{"name": "p", "content": "x", "position": 0}]})
@example(item={"name": "Pair \ud800", "prompts": [{"name": "p", "content": "x", "position": 0}]})
@example(item={"name": "Okay", "prompts": [{"name": "p", "content": "\x00", "position": 0}]})
@FUZZ
def test_arbitrary_assistants_never_fail_the_server(app, make, item):
    reset_rate_limits()
    admin = make.user(roles=("administrator",))
    headers = {**bearer(admin, "assistants:write"), "Content-Type": "application/json"}
    body = json.dumps({"version": "1.0", "assistants": [item]})
    _assert_answer(_post(app.test_client(), headers, body))
