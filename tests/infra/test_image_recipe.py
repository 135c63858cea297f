"""The container image, replayed without Docker: its recipe installs, starts, serves and stops.

The Dockerfile is interpreted (tests/infra/dockerfile_replay.py): the same install commands and the
same files copied, into temporary stage directories, then the image's ENTRYPOINT and CMD run with
its ENV against a fresh Postgres database, as ECS would start them (database fields as separate
variables, which the entrypoint turns into DATABASE_URL).
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.infra.dockerfile_replay import (
    Replay,
    dockerignore_patterns,
    is_executable,
    is_ignored,
    parse,
)
from tests.support.postgres import temporary_database

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
# Plays the part of BuildKit's cache mount: kept between runs so a rerun downloads nothing.
CACHE_DIR = Path.home() / ".cache" / "assistant-architect-image-replay"


@pytest.fixture(scope="module")
def stages():
    return parse(DOCKERFILE.read_text())


def test_final_stage_is_slim_non_root_and_compiler_free(stages) -> None:
    final = stages[-1]
    assert len(stages) >= 2, "multi-stage: the build tools stay in the builder"
    assert final.base == "python:3.11-slim"
    runs = " ".join(i.value for i in final.instructions if i.keyword == "RUN")
    for tool in ("gcc", "build-essential", "libpq-dev", "apt-get install", "uv "):
        assert tool not in runs, f"the final stage installs {tool}"
    users = [i.value for i in final.instructions if i.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    env = " ".join(i.value for i in final.instructions if i.keyword == "ENV")
    for setting in (
        "APP_ENV=production",
        "LITELLM_LOCAL_MODEL_COST_MAP=True",
        "LITELLM_OFFLINE_MODE=true",
        "HF_HUB_OFFLINE=1",
    ):
        assert setting in env
    assert "8000" in [i.value for i in final.instructions if i.keyword == "EXPOSE"]
    health = [i.value for i in final.instructions if i.keyword == "HEALTHCHECK"]
    assert health and "/healthz" in health[0]


def test_entrypoint_migrates_then_execs_gunicorn() -> None:
    script = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert "db upgrade --wait" in script
    assert "exec gunicorn -c gunicorn.conf.py wsgi:app" in script
    assert is_executable(ROOT / "docker" / "entrypoint.sh")


def test_build_context_leaves_out_local_state() -> None:
    patterns = dockerignore_patterns(ROOT / ".dockerignore")
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "instance/app.db",
        "infra/cdk.out/x.json",
        "tests/conftest.py",
        "app/__pycache__/db.cpython-311.pyc",
    ):
        assert is_ignored(path, patterns), path
    for path in ("app/db.py", "migrations/0001_initial.py", "templates/base.html", "wsgi.py"):
        assert not is_ignored(path, patterns), path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_image_replays_serves_and_stops_cleanly(tmp_path: Path) -> None:
    image = Replay(DOCKERFILE, tmp_path / "image", CACHE_DIR).build()
    assert image.entrypoint and image.cmd == ["serve"]
    port = _free_port()
    log_path = tmp_path / "container.log"
    with temporary_database("aa_image") as url:
        db = urlparse(url)
        env = {
            **image.env,
            "HOME": str(image.workdir),  # the app user's home
            # What the ECS task definition provides:
            "SECRET_KEY": secrets.token_hex(32),
            "DB_HOST": db.hostname or "127.0.0.1",
            "DB_PORT": str(db.port or 5432),
            "DB_NAME": db.path.lstrip("/"),
            "DB_USER": db.username or "postgres",
            "DB_PASSWORD": db.password or "",
            # Loopback only, one worker: enough to prove the image serves.
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
        }
        base = f"http://127.0.0.1:{port}"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                image.entrypoint + image.cmd,
                cwd=image.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 90
            status = None
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    status = _get(f"{base}/readyz")
                except OSError:
                    status = None
                if status == 200:
                    break
                time.sleep(0.5)
            output = log_path.read_text()
            assert status == 200, f"/readyz answered {status}; container log:\n{output[-4000:]}"
            assert _get(f"{base}/healthz") == 200
            check = subprocess.run(image.healthcheck, env=env, cwd=image.workdir, timeout=15)
            assert check.returncode == 0, "the image's HEALTHCHECK command failed"

            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=45)
            output = log_path.read_text()
            assert code == 0, f"exit {code} after SIGTERM; container log:\n{output[-4000:]}"
            # Clean means the workers too: they hand their runs back rather than crash (DESIGN §8).
            stopping = output[output.index("Handling signal: term") :]
            assert "Traceback" not in stopping and "exited with code" not in stopping, stopping
            assert "applied 0001_initial" in output  # `serve` migrated the empty database
            assert "setup token" in output  # first run: how the administrator gets in

            # The one-off task: the same image with `migrate` finds nothing left to do.
            once = subprocess.run(
                [*image.entrypoint, "migrate"],
                cwd=image.workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert once.returncode == 0, once.stdout + once.stderr
            assert "Database is up to date." in once.stdout
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=10)
