"""Database-free tests (单元测试): `tests/run.sh` runs them once, not once per database.

Nothing here opens a database: the per-test reset of `tests/conftest.py` is switched off, and a
test that asks for the database fails and belongs in `tests/` (the integration tests).
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def clean_db():
    """No tables to reset: unit tests have no database."""
    yield


@pytest.fixture(autouse=True)
def cheap_password_hashing():
    """Unit tests see the production password hasher."""
    yield


@pytest.fixture(scope="session")
def orm():
    pytest.fail("a unit test asked for the database: it belongs in tests/, not tests/unit/")


@pytest.fixture(scope="session")
def database_url():
    pytest.fail("a unit test asked for the database: it belongs in tests/, not tests/unit/")
