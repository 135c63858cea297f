"""Model endpoints and key variables (issue 18): only administrators set them; `api_base` never
reaches the metadata service or link-local addresses, in any spelling or through DNS; a key
variable outside the allowlist is refused in every path (page, CLI, seed, call time)."""

from __future__ import annotations

import socket

import pytest

from app.chain import providers
from app.chain.providers import is_allowed_key_env
from app.chain.queue import start_execution
from app.model_seed import models_for_environment
from app.models import AIModel, Execution
from tests.integration.api_support import drain

FORM = {
    "name": "Local llama",
    "model_id": "openai/llama3",
    "provider": "openai-compatible",
    "api_base": "http://127.0.0.1:11434/v1",
    "api_key_env": "",
}
REAL_GETADDRINFO = socket.getaddrinfo
FAKE_DNS = {
    "evil.example": "169.254.169.254",
    "evil6.example": "fe80::1",
    "mapped.example": "::ffff:169.254.169.254",
    "ec2v6.example": "fd00:ec2::254",
    "fine.example": "10.0.0.5",
}


@pytest.fixture
def fake_dns(monkeypatch):
    """Host names that resolve where we say (no network here); everything else as usual."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host in FAKE_DNS:
            address = FAKE_DNS[host]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    providers._RESOLVED.clear()
    yield
    providers._RESOLVED.clear()


@pytest.fixture
def admin(auth):
    return auth.sign_in(roles=("administrator",))


def save(auth, **changes):
    return auth.post("/admin/models/new", {**FORM, **changes}, headers={"HX-Request": "true"})


@pytest.mark.parametrize(
    "address",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.0.1/",  # the whole 169.254.0.0/16
        "http://169.254.255.254:8080/v1",
        "http://0251.0376.0251.0376/",  # octal
        "http://0xa9.0xfe.0xa9.0xfe/",  # hex per part
        "http://169.254.43518/",  # short form: 169.254.169.254
        "http://2852039166/",  # decimal
        "http://[::ffff:a9fe:a9fe]/",  # IPv4-mapped, hex
        "http://[0:0:0:0:0:ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
        "http://[fe80::1]/",
        "http://[febf:ffff::1]/",  # the end of fe80::/10
        "http://[fe80::1%25eth0]:11434/",  # with a zone
        "http://metadata/computeMetadata/v1/",
        "http://169.254.169.254%2e/",
    ],
)
def test_link_local_and_metadata_spellings_are_refused(auth, admin, address):
    response = save(auth, api_base=address)
    assert response.status_code == 422, address
    assert "This address is refused" in response.get_data(as_text=True)
    assert not AIModel.select().exists()


@pytest.mark.parametrize(
    "host", ["evil.example", "evil6.example", "mapped.example", "ec2v6.example"]
)
def test_host_names_that_resolve_to_link_local_are_refused(auth, admin, fake_dns, host):
    response = save(auth, api_base=f"http://{host}:8000/v1")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"{host} resolves to" in html and "link-local or cloud metadata" in html
    assert not AIModel.select().exists()


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:11434/v1",
        "http://localhost:11434/v1",
        "http://[::1]:8000/v1",
        "http://fine.example/v1",
        "http://does-not-resolve.invalid/v1",  # checked again before each call
        "https://10.1.2.3/v1",
    ],
)
def test_loopback_private_and_unresolved_names_are_allowed(auth, admin, fake_dns, address):
    assert save(auth, api_base=address).status_code == 200  # HX-Redirect to the list
    assert AIModel.get(AIModel.model_id == FORM["model_id"]).api_base == address


def test_only_administrators_may_set_an_endpoint(auth, make):
    model = make.model(name="Existing", api_base="http://127.0.0.1:1/v1")
    auth.sign_in(roles=("staff",))
    assert auth.post("/admin/models/new", FORM).status_code == 403
    edit = auth.post(f"/admin/models/{model.id}/edit", {**FORM, "api_base": "http://x.example"})
    assert edit.status_code == 403
    assert AIModel.get_by_id(model.id).api_base == "http://127.0.0.1:1/v1"
    assert AIModel.select().count() == 1


def test_the_cli_refuses_them_too(runner, make, fake_dns):
    make.user(roles=("administrator",))
    for option, value, message in [
        ("--api-base", "http://0xa9fea9fe/", "This address is refused"),
        ("--api-base", "http://evil.example/v1", "evil.example resolves to 169.254.169.254"),
        ("--api-key-env", "SECRET_KEY", "SECRET_KEY is not allowed"),
        ("--api-key-env", "DATABASE_URL", "DATABASE_URL is not allowed"),
    ]:
        result = runner.invoke(
            args=["models", "add", "--name", "X", "--model-id", "openai/x",
                  "--provider", "openai-compatible", "--api-base", "http://127.0.0.1:1/v1",
                  option, value],
        )  # fmt: skip
        assert result.exit_code == 1 and message in result.output, result.output
    assert not AIModel.select().exists()


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "PATH"])
def test_key_variables_outside_the_allowlist_are_refused_on_the_page(auth, admin, name):
    response = save(auth, api_key_env=name)
    assert response.status_code == 422
    assert f"{name} is not allowed" in response.get_data(as_text=True)


def test_seeding_only_ever_names_api_key_variables():
    env = {
        "OPENAI_API_KEY": "a",
        "ANTHROPIC_API_KEY": "b",
        "GEMINI_API_KEY": "c",
        "GOOGLE_API_KEY": "d",
        "SECRET_KEY": "e",
        "DATABASE_URL": "f",
    }
    seeds = models_for_environment(env)
    assert seeds and all(s.api_key_env is None or is_allowed_key_env(s.api_key_env) for s in seeds)


# --- at call time ---------------------------------------------------------------------------------
@pytest.fixture
def runnable(make, fake_openai):
    admin = make.user(roles=("administrator",))
    model = make.model(model_id="openai/fake-model", api_base=fake_openai.base_url)
    assistant = make.assistant(
        user=admin,
        status="approved",
        prompts=[{"name": "One", "content": "Say hi", "model": model, "position": 0}],
    )
    return admin, model, assistant


@pytest.mark.parametrize(
    "address, message",
    [
        ("http://169.254.169.254/v1", "This address is refused"),
        ("http://evil.example:9/v1", "evil.example resolves to 169.254.169.254"),
    ],
)
def test_a_stored_bad_endpoint_fails_the_run_before_any_call(
    runnable, fake_dns, fake_openai, address, message
):
    """A row written before the rule (or whose name now resolves elsewhere) is refused anyway."""
    admin, model, assistant = runnable
    AIModel.update(api_base=address).where(AIModel.id == model.id).execute()
    run = start_execution(assistant, admin, {})
    drain()
    stored = Execution.get_by_id(run.id)
    assert stored.status == "failed" and message in stored.error_message
    assert fake_openai.requests == []


def test_a_good_endpoint_still_runs(runnable, fake_openai):
    admin, _, assistant = runnable
    run = start_execution(assistant, admin, {})
    drain()
    assert Execution.get_by_id(run.id).status == "completed"
    assert len(fake_openai.requests) == 1
