"""Test infrastructure: a fresh real database per pytest process (PostgreSQL or SQLite).

ZIZHU_TEST_DB=postgres (default) creates a throw-away database on ZIZHU_TEST_PG (default
postgres://postgres@127.0.0.1:5432) and drops it at the end; ZIZHU_TEST_DB=sqlite uses a
temporary file. Every test starts from empty data tables with the code lists seeded.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import world as world_module
from tests.support.databases import TEST_DB, blank_database
from zizhu.domain import db, installation
from zizhu.domain.installation import seed_code_lists

pytest_plugins = ["tests.support.arq_queue"]  # the arq fixtures: pool, arq_queue

REDIS_URL = os.environ.get("ZIZHU_TEST_REDIS", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ZIZHU_SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
os.environ["REDIS_URL"] = REDIS_URL

CODE_LIST_TABLES = {"stage_code", "category_code", "reason_code", "aid_project", "tortoise_migrations"}


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs PostgreSQL (ZIZHU_TEST_DB=postgres)")
    for item in items:
        if TEST_DB != "postgres" and item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
async def session_queue():
    """Jobs enqueued by tests without their own queue go to a queue of this session, removed at the
    end: the suite leaves Redis as it found it (never the default `zizhu` queue)."""
    from tests.support.arq_queue import drop_queue

    name = f"zizhu-session-{uuid.uuid4().hex[:12]}"
    os.environ["ZIZHU_QUEUE"] = name
    yield name
    await drop_queue(name)


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory):
    async with blank_database(tmp_path_factory.mktemp("db"), "zizhu_test") as url:
        yield url


@pytest.fixture(scope="session")
async def orm(database_url):
    """Migrate once, keep the ORM open for the whole session."""
    await installation.migrate(database_url)
    os.environ["DATABASE_URL"] = database_url
    handle = await db.init(database_url)
    yield handle
    await handle.close_connections()


async def _data_tables() -> list[str]:
    if db.is_postgres():
        rows = await db.fetch("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")
    else:
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return sorted(r["name"] for r in rows if r["name"] not in CODE_LIST_TABLES)


@pytest.fixture(autouse=True)
async def clean_db(orm):
    """Empty every data table before each test and re-seed the code lists."""
    tables = await _data_tables()
    if db.is_postgres():
        await db.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY")
        await db.execute("DELETE FROM aid_project")
    else:
        for t in tables + ["aid_project"]:
            await db.execute(f'DELETE FROM "{t}"')
    await seed_code_lists()
    yield


@pytest.fixture(autouse=True)
async def fresh_login_throttle():
    """Failed sign-ins of one test must not slow the accounts of the next (in Redis and in memory)."""
    from zizhu.domain.accounts import throttle

    await throttle.clear()
    yield


class FixedClock:
    """A settable clock for the app (the server's 'now')."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.value = now

    def __call__(self) -> dt.datetime:
        from zizhu.domain.settings import SHANGHAI

        return self.value or dt.datetime.now(SHANGHAI)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


class GraphQLClient:
    """Posts GraphQL to the app over ASGI; `token` is sent as a Bearer header when set."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token: str | None = None

    async def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict:
        headers = {}
        tok = token or self.token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        r = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        return r.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict:
        """The data of a query that must succeed."""
        body = await self.post(query, variables, token)
        assert not body.get("errors"), body.get("errors")
        return body["data"]

    async def error_code(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> str:
        """The extensions.code of a query that must fail."""
        body = await self.post(query, variables, token)
        assert body.get("errors"), body
        return body["errors"][0].get("extensions", {}).get("code")

    async def login(self, username: str, password: str = world_module.PASSWORD) -> str:
        data = await self.data(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            {"u": username, "p": password},
        )
        return data["login"]["token"]


@pytest.fixture
async def app(orm, clock):
    from zizhu.api.app import create_app

    return create_app(clock=clock, manage_orm=False)


@pytest.fixture
async def gql(app) -> GraphQLClient:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield GraphQLClient(http)


@pytest.fixture
async def world(orm):
    """A small hand-made province with schools at every level and one account per role."""
    return await world_module.build()


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).parent / "data"
