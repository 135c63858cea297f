"""Property-based API tests: schemathesis generates requests from our OpenAPI document (valid and
invalid), runs them against the app through WSGI and checks every answer against the document.
Never a 5xx; every error is problem+json. Examples are capped per operation (DESIGN §8)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.blueprints.api.limits import limiter
from app.chain.queue import claim_next, request_cancel, start_execution
from app.chain.runner import run_execution
from app.chain.settings import RunnerSettings
from app.models import Execution, ExecutionMessage
from app.models.token import ApiToken, hash_secret
from app.openapi import openapi_document

MAX_EXAMPLES = 30
FAST = RunnerSettings(flush_interval=0.02, retry_backoff=0.01, read_timeout=2, prompt_timeout=5)
PROBLEM = "application/problem+json"
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def fuzz_world(app, make, fake_openai):
    """An administrator's token (it sees everything), assistants and finished runs to find."""
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    limiter.reset()
    model = make.model(name="Fake", model_id="openai/fake-model", api_base=fake_openai.base_url)
    admin = make.user(roles=("administrator",))
    choices = [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]
    assistant = make.assistant(
        user=admin,
        status="approved",
        fields=[
            {"name": "user_input", "options": {"required": True, "max_length": 200}},
            {"name": "tags", "field_type": "multi_select", "options": {"choices": choices}},
            {"name": "doc", "field_type": "file_upload"},
        ],
        prompts=[{"name": "P", "content": "Echo {{user_input}}", "model": model}],
    )
    make.assistant(user=admin)  # a second id, a draft without fields
    start_execution(assistant, admin, {"user_input": "x", "tags": [], "doc": ""})
    while (claimed := claim_next(FAST)) is not None:
        run_execution(claimed.id, FAST)
    ApiToken.create(
        user=admin,
        name="fuzz",
        token_hash=hash_secret(SECRET),
        prefix=SECRET[:8],
        scopes=["assistants:read", "assistants:execute", "assistants:write"],
    )
    yield {"assistant": assistant, "headers": {"Authorization": f"Bearer {SECRET}"}}
    app.config.pop("API_RATE_LIMIT", None)


def settle_new_runs() -> None:
    """Runs the fuzzer started are cancelled at once, so their event streams end; questions it
    asked are given up (no runner answers them here), so the run's stream does not wait."""
    for execution in list(Execution.select().where(Execution.status == "pending")):
        request_cancel(execution)
    ExecutionMessage.update(status="failed").where(
        ExecutionMessage.status.in_(("pending", "running"))
    ).execute()


def assert_well_formed(response) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert response.headers["content-type"] == [PROBLEM]
        body = json.loads(response.text)
        assert body["status"] == response.status_code
        assert {"type", "title", "detail", "instance"} <= set(body)


def _not_applicable(case) -> list:
    """Which inputs an assistant takes is its own (its fields), not the document's: a body the
    document allows may still answer 422, so `positive_data_acceptance` cannot apply there."""
    if case.operation.method.upper() == "POST" and case.operation.path.endswith("/executions"):
        return [positive_data_acceptance]
    # An AI Studio file the document allows may hold assistants that cannot be imported (422),
    # and ids the document allows may not exist.
    if case.operation.path in ("/api/v1/assistants/import", "/api/v1/assistants/export"):
        return [positive_data_acceptance]
    if case.operation.method.upper() == "POST" and case.operation.path.endswith("/messages"):
        return [positive_data_acceptance]  # one answer at a time: the next question is a 409
    return []


# The document is built without an app (apispec only), so the schema loads at collection time.
schema = schemathesis.openapi.from_dict(openapi_document())
schema.config.generation.update(max_examples=MAX_EXAMPLES)
# Cases are generated (and authenticated) while pytest collects, so the token's secret is fixed.
SECRET = "aa_fuzz-" + "0" * 35


@schema.auth()
class BearerToken:
    """The fixture's token, applied by schemathesis itself (so its no-auth probes stay no-auth)."""

    def get(self, case, context):
        return SECRET

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@FUZZ
def test_generated_requests_conform_to_the_document(app, case, fuzz_world):
    case.operation.schema.app = app  # WSGI: requests go straight to the app, probes too
    try:
        response = case.call(app=app)
        assert_well_formed(response)
        case.validate_response(
            response,
            transport_kwargs={"app": app},
            excluded_checks=_not_applicable(case),
        )
    finally:
        settle_new_runs()


any_text = st.text(st.characters(exclude_categories=()), max_size=40)  # NUL, lone surrogates
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
real_names = st.sampled_from(["user_input", "tags", "doc"])
inputs = st.dictionaries(real_names, any_text | st.lists(any_text, max_size=3), min_size=1) | (
    st.dictionaries(real_names | any_text, json_values, max_size=4)
)
bodies = st.fixed_dictionaries({"inputs": inputs}, optional={"extra": json_values}) | json_values


@given(body=bodies, cut=st.booleans())
@example(body={"inputs": {"user_input": "\ud800"}}, cut=False)
@example(body={"inputs": {"user_input": "a\x00b", "tags": ["\udfff"]}}, cut=False)
@example(body={"inputs": {"user_input": "ok", "doc": "\ud800\x00"}}, cut=False)
@example(body={"inputs": {"user_input": "x" * 201}}, cut=False)
@FUZZ
def test_random_json_bodies_never_fail_the_server(client, fuzz_world, body, cut):
    url = f"/api/v1/assistants/{fuzz_world['assistant'].id}/executions"
    data = json.dumps(body)
    try:
        response = client.post(
            url,
            data=data[:-1] if cut else data,  # sometimes cut short
            content_type="application/json",
            headers=fuzz_world["headers"],
        )
    finally:
        settle_new_runs()
    assert response.status_code in {202, 400, 422}, response.get_data(as_text=True)[:300]
    if response.status_code != 202:
        assert response.mimetype == PROBLEM
