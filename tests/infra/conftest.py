"""The infra lane (`pytest tests/infra`): the image recipe and the deployment guide's SQL.

These tests make their own databases; the root conftest's per-test table cleaning (which builds
the app on the lane's database) has nothing to clean here, so it is switched off.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    yield
