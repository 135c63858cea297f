"""Small helpers shared by the model modules."""

from __future__ import annotations

from collections.abc import Iterable


def in_sql(column: str, values: Iterable[str]) -> str:
    """A CHECK expression restricting a column to fixed strings (an enum without an enum type)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"
