"""/healthz and /readyz, and the CLI."""

from __future__ import annotations

from app import create_app
from app.db import bind_database
from app.models import User


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["database"] == "ok"


def test_readyz_is_503_while_a_migration_is_pending(app, client, tmp_path):
    (tmp_path / "0001_initial.py").write_text(
        (__import__("pathlib").Path(app.config["MIGRATIONS_DIR"]) / "0001_initial.py").read_text()
    )
    (tmp_path / "0002_future.py").write_text("def up(migrator, db):\n    pass\n")
    original = app.config["MIGRATIONS_DIR"]
    app.config["MIGRATIONS_DIR"] = str(tmp_path)
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["pending_migrations"] == ["0002_future"]
        assert client.get("/healthz").status_code == 200
    finally:
        app.config["MIGRATIONS_DIR"] = original


def test_readyz_is_503_while_the_database_is_down(app, database_url):
    from tests.conftest import _config_dict

    down = create_app(
        {**_config_dict(), "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}
    )
    try:
        client = down.test_client()
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
    finally:
        bind_database(database_url)  # give the session its database back


def test_users_create_asks_for_the_password(runner):
    result = runner.invoke(
        args=["users", "create", "--email", "Ops@School.example", "--role", "administrator"],
        input="a secret password\na secret password\n",
    )
    assert result.exit_code == 0, result.output
    user = User.by_email("ops@school.example")
    assert user.is_admin and user.check_password("a secret password")
    assert "a secret password" not in result.output


def test_users_create_refuses_duplicates_and_short_passwords(runner, make):
    make.user(email="taken@school.example")
    taken = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "taken@school.example",
            "--role",
            "staff",
            "--password",
            "x" * 12,
        ]
    )
    assert taken.exit_code != 0 and "already exists" in taken.output
    short = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "b@school.example",
            "--role",
            "staff",
            "--password",
            "short",
        ]
    )
    assert short.exit_code != 0 and "at least 10" in short.output


def test_db_status_and_demo_load(runner):
    status = runner.invoke(args=["db", "status"])
    assert status.exit_code == 0 and "applied  0001_initial" in status.output
    first = runner.invoke(args=["demo", "load"])
    assert "Analyze and summarize" in first.output
    assert "already present" in runner.invoke(args=["demo", "load"]).output
