"""Throw-away databases for tests: a SQLite file, or a PostgreSQL database dropped afterwards.

Database names start with ZIZHU_TEST_DB_PREFIX (default `zizhu`), so checkouts or CI jobs sharing
one PostgreSQL server can tell (and clean up) their own databases.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

TEST_DB = os.environ.get("ZIZHU_TEST_DB", "postgres")
PG_BASE = os.environ.get("ZIZHU_TEST_PG", "postgres://postgres@127.0.0.1:5432")
PREFIX = os.environ.get("ZIZHU_TEST_DB_PREFIX", "zizhu")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,30}", PREFIX):
    raise SystemExit(f"ZIZHU_TEST_DB_PREFIX={PREFIX!r}: use 1-31 lower-case letters, digits or _")


def database_name(name: str) -> str:
    """`{prefix}_{name}_{random}`: a fresh database name of this checkout."""
    return f"{PREFIX}_{name}_{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def blank_database(directory: Path, name: str) -> AsyncIterator[str]:
    """The URL of a new, empty database of the kind under test (ZIZHU_TEST_DB), named after `name`."""
    if TEST_DB == "sqlite":
        yield f"sqlite://{directory / (PREFIX + '_' + name + '.sqlite3')}?busy_timeout=5000"
        return
    database = database_name(name)
    admin = await asyncpg.connect(f"{PG_BASE}/postgres")
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    try:
        yield f"{PG_BASE}/{database}?maxsize=10"
    finally:
        admin = await asyncpg.connect(f"{PG_BASE}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
