"""Statement timeouts: recognised through library wrapping; only the API's connections are bounded."""

from __future__ import annotations

import asyncpg

from tests.support.world import PASSWORD
from zizhu.domain import db
from zizhu.domain.errors import TimedOut

STATS = '{ unfundedStatistics(period: "2023-2024-1") { total { members } } }'
LOGIN = f'mutation {{ login(username: "county_op", password: "{PASSWORD}") {{ token }} }}'


def test_timeouts_are_recognised_through_wrapping():
    import sqlite3

    from tortoise.exceptions import OperationalError

    cancelled = asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout")
    assert db.is_timeout(cancelled)
    assert db.is_timeout(OperationalError(cancelled))
    assert db.is_timeout(OperationalError(sqlite3.OperationalError("database is locked")))
    assert not db.is_timeout(OperationalError(sqlite3.OperationalError("no such table: x")))
    assert not db.is_timeout(ValueError("x"))
    assert TimedOut("x").code == "TIMEOUT"


def test_only_the_api_config_bounds_statements(monkeypatch):
    monkeypatch.setenv("ZIZHU_STATEMENT_TIMEOUT_S", "2.5")
    url = "postgres://u:p@127.0.0.1:5432/zizhu?maxsize=20"
    credentials = db.api_config(url)["connections"]["default"]["credentials"]
    assert credentials["server_settings"] == {"statement_timeout": "2500"}
    assert credentials["maxsize"] in (20, "20")
    assert db.tortoise_config(url)["connections"]["default"] == url  # worker, CLI: unbounded
    assert db.api_config("sqlite://x.sqlite3")["connections"]["default"] == "sqlite://x.sqlite3"
