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
from argon2 import PasswordHasher

from tests.support import world as world_module
from tests.support.cleanup import Baseline
from tests.support.databases import TEST_DB, blank_database
from zizhu.domain import db, installation
from zizhu.domain.accounts.users import issue_token
from zizhu.domain.models import Account

pytest_plugins = ["tests.support.arq_queue"]  # the arq fixtures: pool, arq_queue

REDIS_URL = os.environ.get("ZIZHU_TEST_REDIS", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ZIZHU_SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
os.environ["REDIS_URL"] = REDIS_URL


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
    async with blank_database(tmp_path_factory.mktemp("db"), "test") as url:
        yield url


@pytest.fixture(scope="session")
async def orm(database_url):
    """Migrate once, keep the ORM open for the whole session."""
    await installation.migrate(database_url)
    os.environ["DATABASE_URL"] = database_url
    handle = await db.init(database_url)
    yield handle
    await handle.close_connections()


@pytest.fixture(scope="session")
async def baseline(orm) -> Baseline:
    """The seeded rows every test starts from (see tests/support/cleanup.py)."""
    return await Baseline.take()


@pytest.fixture(autouse=True)
async def clean_db(baseline):
    """Every test starts from empty data tables with the code lists seeded: the tables the
    previous test changed are reset."""
    await baseline.restore()
    yield


# argon2id with the cheapest parameters, for tests only: the production hasher (argon2-cffi's
# defaults, ~100 ms a hash) is checked by tests/unit/test_passwords.py.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Passwords hashed and checked with CHEAP_HASHER (a hash records its own parameters)."""
    from zizhu.domain.accounts import passwords

    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)
    monkeypatch.setattr(passwords, "_dummy_hash", None)
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

    async def token_for(self, username: str) -> str:
        """The token a sign-in of this active account returns, minted by the domain's token function:
        no argon2, no request (the real sign-in is tested in test_accounts.py and a few others)."""
        account = await Account.get(username=username, active=True)
        return issue_token(account)

    async def login(self, username: str, password: str = world_module.PASSWORD) -> str:
        """A real sign-in through the `login` mutation (argon2)."""
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
