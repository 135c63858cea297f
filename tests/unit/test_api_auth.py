"""The API's pure parts: bearer parsing, token secrets, scopes, resume points, JSON inputs."""

from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.exceptions import BadRequest

from app.api_auth import parse_bearer
from app.blueprints.api.inputs import _as_form
from app.blueprints.api.stream import parse_seq
from app.models.token import ApiToken, ScopeNotAllowed, allowed_scopes, hash_secret, new_secret

ADMIN = SimpleNamespace(is_admin=True)
STAFF = SimpleNamespace(is_admin=False)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer aa_abc", "aa_abc"),
        ("bearer aa_abc", "aa_abc"),
        ("BEARER   aa_abc  ", "aa_abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer a b", None),
        ("Bearerabc", None),
    ],
)
def test_parse_bearer(header, token):
    assert parse_bearer(header) == token


@given(st.text(alphabet=st.characters(blacklist_categories=("Zs", "Cc")), min_size=1))
def test_parse_bearer_round_trips_any_token_without_spaces(token):
    assert parse_bearer(f"Bearer {token}") == token


def test_secrets_are_prefixed_random_and_stored_as_sha256():
    secrets = {new_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert re.fullmatch(r"aa_[A-Za-z0-9_-]{43}", secret)  # 32 random bytes, URL-safe
    secret = next(iter(secrets))
    assert hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert len(hash_secret(secret)) == 64


def test_write_scope_is_for_administrators_only():
    assert allowed_scopes(ADMIN) == ("assistants:read", "assistants:execute", "assistants:write")
    assert allowed_scopes(STAFF) == ("assistants:read", "assistants:execute")
    with pytest.raises(ScopeNotAllowed, match="Only administrators may hold assistants:write"):
        ApiToken.issue(STAFF, "t", ["assistants:read", "assistants:write"])  # type: ignore[arg-type]
    with pytest.raises(ScopeNotAllowed, match="Unknown scope: admin"):
        ApiToken.issue(ADMIN, "t", ["admin"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "seq"), [(None, 0), ("0", 0), ("7", 7), ("999999999", 10**9 - 1)]
)
def test_resume_points(value, seq):
    assert parse_seq(value, "after") == seq


@pytest.mark.parametrize(
    "value", ["", " 7", "-1", "1.0", "x", "1000000000", "99999999999", "٣", "²", "1e3", "+1"]
)
def test_malformed_resume_points_are_refused(value):
    with pytest.raises(BadRequest, match="after must be a whole number"):
        parse_seq(value, "after")


def _field(name, field_type="long_text"):
    return SimpleNamespace(name=name, label=name, field_type=field_type, options={})


def test_json_inputs_become_the_form_the_run_inputs_parser_reads():
    fields = [_field("text"), _field("tags", "multi_select"), _field("doc", "file_upload")]
    form, files, errors = _as_form(fields, {"text": "hi", "tags": ["a", "b"], "doc": "body"})
    assert errors == {}
    assert form.get("text") == "hi" and form.getlist("tags") == ["a", "b"]
    assert files["doc"].filename == "doc.txt" and files["doc"].read() == b"body"
    form, _, _ = _as_form(fields, {"tags": "a"})
    assert form.getlist("tags") == ["a"]


@pytest.mark.parametrize(
    ("inputs", "errors"),
    [
        ({"nope": "x"}, {"nope": "Unknown field: this assistant has no input with this name."}),
        ({"text": None}, {"text": "Send a string."}),
        ({"text": {"a": 1}}, {"text": "Send a string."}),
        ({"tags": [1]}, {"tags": "Send a list of strings (the chosen options)."}),
        ({"tags": {"a": "b"}}, {"tags": "Send a list of strings (the chosen options)."}),
        ({"text": "a\x00b"}, {"text": "Text cannot contain NUL characters."}),
        ({"text": "\ud800"}, {"text": "Text must be valid Unicode (unpaired surrogate)."}),
    ],
)
def test_json_inputs_of_the_wrong_shape_get_a_message(inputs, errors):
    fields = [_field("text"), _field("tags", "multi_select")]
    assert _as_form(fields, inputs)[2] == errors
