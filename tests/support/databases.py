"""Throw-away databases for tests: a SQLite file, or a PostgreSQL database dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

TEST_DB = os.environ.get("ZIZHU_TEST_DB", "postgres")
PG_BASE = os.environ.get("ZIZHU_TEST_PG", "postgres://postgres@127.0.0.1:5432")


@asynccontextmanager
async def blank_database(directory: Path, name: str) -> AsyncIterator[str]:
    """The URL of a new, empty database of the kind under test (ZIZHU_TEST_DB)."""
    if TEST_DB == "sqlite":
        yield f"sqlite://{directory / (name + '.sqlite3')}?busy_timeout=5000"
        return
    database = f"{name}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{PG_BASE}/postgres")
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    try:
        yield f"{PG_BASE}/{database}?maxsize=10"
    finally:
        admin = await asyncpg.connect(f"{PG_BASE}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
