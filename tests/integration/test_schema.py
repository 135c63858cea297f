"""The migrations build exactly the schema the models describe, on SQLite and on Postgres."""

from __future__ import annotations

import pytest
from peewee import IntegrityError
from playhouse.schema_diff import diff_models

from app import migrate
from app.db import database, make_database
from app.models import ALL_MODELS, Assistant, Execution, Role, User
from tests.support.postgres import temporary_database
from tests.support.seed_queries import CLASSIC_QUERIES


def _shape(db) -> dict:
    shape = {}
    for table in sorted(db.get_tables()):
        if table == migrate.HISTORY_TABLE:
            continue
        columns = {
            c.name: (c.data_type.lower().split("(")[0], c.null, c.primary_key)
            for c in db.get_columns(table)
        }
        indexes = sorted((tuple(i.columns), i.unique) for i in db.get_indexes(table))
        fks = sorted((f.column, f.dest_table, f.dest_column) for f in db.get_foreign_keys(table))
        shape[table] = {"columns": columns, "indexes": indexes, "fks": fks}
    return shape


@pytest.fixture
def models_db(db_kind, tmp_path, database_url):
    """A second, empty database where the models create their tables directly."""
    if db_kind == "sqlite":
        yield make_database(f"sqlite:///{tmp_path / 'models.db'}")
        return
    with temporary_database("aa_models") as url:
        db = make_database(url)
        yield db
        db.close_all()


def test_migrations_match_the_models(app, models_db):
    with models_db.bind_ctx(ALL_MODELS):
        models_db.create_tables(ALL_MODELS)
    migrated = _shape(database.obj)
    expected = _shape(models_db)
    assert set(migrated) == {m._meta.table_name for m in ALL_MODELS}
    assert migrated == expected


def test_schema_diff_finds_nothing_to_do(app):
    assert not diff_models(database.obj, ALL_MODELS)


def test_no_migration_pending_after_upgrade(app):
    assert migrate.pending(app.config["MIGRATIONS_DIR"]) == []
    assert migrate.upgrade(app.config["MIGRATIONS_DIR"]) == []  # idempotent


def test_roles_are_seeded_by_the_migration(app):
    assert sorted(r.name for r in Role.select()) == ["administrator", "staff", "student"]


def test_enum_checks_reject_unknown_statuses(make):
    assistant = make.assistant()
    with pytest.raises(IntegrityError), database.atomic():
        Assistant.update(status="published").where(Assistant.id == assistant.id).execute()
    with pytest.raises(IntegrityError), database.atomic():
        Execution.create(assistant=assistant, user=assistant.user, status="stuck", definition={})


def test_email_is_unique(make):
    make.user(email="a@school.example")
    with pytest.raises(IntegrityError), database.atomic():
        User.create(email="a@school.example", name="Again")


def test_json_columns_round_trip(make):
    assistant = make.assistant(audience=["staff", "student"])
    run = Execution.create(
        assistant=assistant,
        user=assistant.user,
        definition={"prompts": [{"name": "Ünïcode"}]},
        input_data={"n": 5, "topics": ["a", "b"]},
    )
    again = Execution.get_by_id(run.id)
    assert again.definition == {"prompts": [{"name": "Ünïcode"}]}
    assert again.input_data == {"n": 5, "topics": ["a", "b"]}
    assert Assistant.get_by_id(assistant.id).audience == ["staff", "student"]


def test_seed_monitoring_queries_run_unchanged(make):
    """DESIGN §1: the ops guide's SQL runs against our schema as written."""
    make.assistant()
    for query in CLASSIC_QUERIES:
        database.execute_sql(query).fetchall()
