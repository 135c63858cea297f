"""Prebuilt SQL for the statements a run repeats: its prompt result writes, its events, the
lease renewal, the end of the run, and the reads of the definition snapshot.

Peewee builds each query anew (~150–300 µs of CPU for an INSERT or UPDATE, bench/engine.py);
here the SQL text is built once per shape (table, columns, database) and only the parameters
change. Values go through each field's own `db_value`, so what is stored is what Peewee would
store. Statements are (sql, params) pairs: run alone with `database.execute_sql`, or several at
once as a `Script` (Postgres: one round trip, one implicit transaction).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from peewee import Field, ForeignKeyField, JSONField

from app.db import BaseModel, database, is_postgres

Statement = tuple[str, list[Any]]
M = TypeVar("M", bound=BaseModel)


class Script:
    """Statements sent as one string; rows come from the last one. Has Peewee's `.sql()`, so it
    can go wherever a query's SQL is sent (`EventWriter.flush_with`)."""

    def __init__(self, statements: Sequence[Statement]) -> None:
        self.statements = statements

    def sql(self) -> Statement:
        return (
            "; ".join(sql for sql, _ in self.statements),
            [param for _, params in self.statements for param in params],
        )


def insert(
    model: type[BaseModel], values: Mapping[str, Any], *, if_exists: tuple = ()
) -> Statement:
    """INSERT one row. Foreign keys named in `if_exists` are stored as NULL when the row they
    point at is gone (a prompt or model deleted while the run went on), instead of failing.
    Fields not given get their Python-side defaults, as with Peewee's `insert`."""
    values = {**_defaults(model, values), **values}
    names = tuple(values)
    sql = _insert_sql(model, names, frozenset(if_exists), _dialect())
    return sql, _params(model, names, values)


def insert_rows(model: type[BaseModel], rows: Sequence[Mapping[str, Any]]) -> Statement:
    """INSERT several rows with the same fields as one statement (a flush's events)."""
    names = tuple(rows[0])
    head, _, values = _insert_sql(model, names, frozenset(), _dialect()).partition(" VALUES ")
    params = [param for row in rows for param in _params(model, names, row)]
    return f"{head} VALUES {', '.join([values] * len(rows))}", params


def update(
    model: type[BaseModel],
    values: Mapping[str, Any],
    where: Mapping[str, Any],
    *,
    if_exists: tuple = (),
    returning: tuple[str, ...] = (),
) -> Statement:
    """UPDATE the rows whose fields equal `where`'s values; `if_exists` as for `insert`."""
    names, keys = tuple(values), tuple(where)
    sql = _update_sql(model, names, keys, frozenset(if_exists), returning, _dialect())
    return sql, _params(model, names, values) + _params(model, keys, where)


def rows(model: type[M], shape: Callable[[], Any], *params: Any) -> list[M]:
    """The rows of a select whose shape never changes, as `model` instances. `shape()` builds
    the query (with placeholder values in the same order as `params`); Peewee turns it into
    SQL once per database, then `Model.raw` runs that text and converts each column."""
    return list(model.raw(select_sql(shape), *params))


def select_sql(shape: Callable[[], Any]) -> str:
    """The SQL text of `shape()`'s query, built once per database (for callers that read the
    cursor's tuples themselves, without model instances)."""
    return _sql_of(shape, _dialect())


def by_ids(model: type[M], ids: Sequence[int]) -> list[M]:
    """The `model` rows with these ids (any order), SQL built once per count of ids."""
    if not ids:
        return []
    return list(model.raw(_by_ids_sql(model, len(ids), _dialect()), *ids))


@functools.cache
def _sql_of(shape: Callable[[], Any], dialect: tuple[str, bool]) -> str:
    return shape().sql()[0]


@functools.cache
def _by_ids_sql(model: type[BaseModel], count: int, dialect: tuple[str, bool]) -> str:
    return model.select().where(model.id.in_([0] * count)).sql()[0]


def create(model: type[M], values: Mapping[str, Any], *, before: Sequence[Statement] = ()) -> M:
    """`model.create(**values)` with the INSERT's SQL built once: the instance with its new id.
    `before`: statements sent ahead of it in the same round trip (Postgres only)."""
    instance = model(**values)
    data = {name: value for name, value in instance.__data__.items() if name != "id"}
    sql, params = insert(model, data)
    statement = Script([*before, (sql + ' RETURNING "id"', params)]).sql()
    instance.id = database.execute_sql(*statement).fetchall()[0][0]
    return instance


def text(build: Callable[..., str], *args: Any) -> str:
    """Hand-written SQL text, `build(param, postgres, *args)`, kept per database and args."""
    return _text(build, args, _dialect())


@functools.cache
def _text(build: Callable[..., str], args: tuple, dialect: tuple[str, bool]) -> str:
    return build(*dialect, *args)


def _defaults(model: type[BaseModel], given: Mapping[str, Any]) -> dict[str, Any]:
    return {
        field.name: default() if callable(default) else default
        for field, default in model._meta.defaults.items()
        if field.name not in given
    }


def _dialect() -> tuple[str, bool]:
    return database.obj.param, is_postgres()


@functools.cache
def _insert_sql(
    model: type[BaseModel], names: tuple[str, ...], if_exists: frozenset, dialect: tuple[str, bool]
) -> str:
    fields = [model._meta.fields[name] for name in names]
    columns = ", ".join(_quote(field.column_name) for field in fields)
    placeholders = ", ".join(_placeholder(field, if_exists, dialect) for field in fields)
    return f"INSERT INTO {_quote(model._meta.table_name)} ({columns}) VALUES ({placeholders})"


@functools.cache
def _update_sql(
    model: type[BaseModel],
    names: tuple[str, ...],
    keys: tuple[str, ...],
    if_exists: frozenset,
    returning: tuple[str, ...],
    dialect: tuple[str, bool],
) -> str:
    fields = model._meta.fields
    assignments = ", ".join(
        f"{_quote(fields[name].column_name)} = {_placeholder(fields[name], if_exists, dialect)}"
        for name in names
    )
    conditions = " AND ".join(f"{_quote(fields[key].column_name)} = {dialect[0]}" for key in keys)
    sql = f"UPDATE {_quote(model._meta.table_name)} SET {assignments} WHERE {conditions}"
    if returning:
        sql += " RETURNING " + ", ".join(_quote(fields[name].column_name) for name in returning)
    return sql


def _placeholder(field: Field, if_exists: frozenset, dialect: tuple[str, bool]) -> str:
    param, postgres = dialect
    if isinstance(field, JSONField) and not postgres:
        param = f"json({param})"  # as Peewee stores JSON in SQLite (JSON-typed, minified)
    if field.name in if_exists and isinstance(field, ForeignKeyField):
        target = field.rel_model._meta
        key = _quote(field.rel_field.column_name)
        return f"(SELECT {key} FROM {_quote(target.table_name)} WHERE {key} = {param})"
    return param


def _params(model: type[BaseModel], names: tuple[str, ...], values: Mapping[str, Any]) -> list:
    fields = model._meta.fields
    return [_param(fields[name], values[name]) for name in names]


def _param(field: Field, value: Any) -> Any:
    if isinstance(field, JSONField) and not is_postgres():
        return None if value is None else json.dumps(value)  # inside json(?), as Peewee does
    return field.db_value(value)


def _quote(name: str) -> str:
    return f'"{name}"'
