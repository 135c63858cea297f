"""Start the real server for the e2e suite: gunicorn with the production config, gevent workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "e2e-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "SESSION_COOKIE_SECURE": "false",  # plain http on loopback
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "FLASK_APP": "wsgi:app",
        "DEMO_MODEL_DELAY_MS": "30",  # slow enough to watch an answer grow
        "GRACEFUL_TIMEOUT": "5",  # at the end, open streams need not hold the suite up
    }
    env.update(extra)
    return env


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app:create_app", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


PREPARE = """
from app import create_app, migrate
from app.demo import load_demo_data

app = create_app()
with app.app_context():
    migrate.upgrade(app.config["MIGRATIONS_DIR"])
    load_demo_data()
"""


def prepare_database(env: dict[str, str]) -> None:
    """`flask db upgrade` and `flask demo load` in one process (one app import, not two)."""
    result = subprocess.run(
        [sys.executable, "-c", PREPARE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"preparing the database failed:\n{result.stderr[-2000:]}")


def start(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_until_ready(url: str, process: subprocess.Popen | None, timeout: float = 60) -> None:
    """A real HTTP answer from /readyz, or fail with the reason."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.25)
    raise RuntimeError(f"server not ready after {timeout}s: {last}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
