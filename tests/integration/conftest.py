"""Integration tests touch the database: each starts with empty tables."""

import pytest


@pytest.fixture(autouse=True)
def _empty_tables(clean_tables):
    yield
