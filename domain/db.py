"""Database set-up, migrations and the one helper for raw SQL on both dialects."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import ConfigurationError

from zizhu.domain import settings
from zizhu.domain.errors import DatabaseUnavailable

MODELS_MODULE = "zizhu.domain.models"
MIGRATIONS_MODULE = "zizhu.domain.migrations"


def tortoise_config(database_url: str | None = None) -> dict[str, Any]:
    url = database_url or settings.load().database_url
    return {
        "connections": {"default": url},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "Asia/Shanghai",
    }


def api_config(database_url: str | None = None) -> dict[str, Any]:
    """The config of the API process: on PostgreSQL every statement is bounded by the settings'
    statement timeout, so a locked table or a runaway query answers an error instead of holding
    a request (and a pooled connection) for ever. Workers and the command line are not bounded."""
    from tortoise.backends.base.config_generator import expand_db_url

    config = tortoise_config(database_url)
    url = config["connections"]["default"]
    timeout_s = settings.load().statement_timeout_s
    if url.startswith(("postgres://", "postgresql://", "asyncpg://")) and timeout_s > 0:
        connection = expand_db_url(url)
        credentials = connection["credentials"]
        credentials["server_settings"] = {
            **credentials.get("server_settings", {}),
            "statement_timeout": str(int(timeout_s * 1000)),
        }
        config["connections"]["default"] = connection
    return config


def is_timeout(exc: BaseException | None) -> bool:
    """Whether an exception (or one it was raised from) is the database giving up waiting: a
    PostgreSQL statement or lock timeout, or SQLite's busy timeout."""
    import sqlite3

    import asyncpg

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (asyncpg.exceptions.QueryCanceledError, asyncpg.exceptions.LockNotAvailableError)):
            return True
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return True
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc, seen = exc.__cause__ or inner or exc.__context__, seen + 1
    return False


def is_connection_lost(exc: BaseException | None) -> bool:
    """Whether an exception (or one it was raised from) is the database connection going away: a
    backend terminated (restart, fail-over, pg_terminate_backend), a closed or refused socket."""
    import asyncpg
    from tortoise.exceptions import DBConnectionError

    lost = (
        asyncpg.exceptions.PostgresConnectionError,
        asyncpg.exceptions.InterfaceError,
        asyncpg.exceptions.InternalClientError,  # a protocol left mid-operation by a dropped backend
        asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown, cannot connect now
        DBConnectionError,
        ConnectionError,
    )
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, lost):
            return True
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc, seen = exc.__cause__ or inner or exc.__context__, seen + 1
    return False


async def expire_connections() -> None:
    """After a lost connection: replace every pooled connection on its next use (asyncpg keeps
    handing out the others, dead since the same restart, one failed request each otherwise)."""
    expire = getattr(conn(), "_expire_connections", None)
    if expire is not None:
        await expire()


def __getattr__(name: str) -> Any:
    """`TORTOISE_ORM`, the config the `tortoise` CLI (makemigrations) reads, built when asked for."""
    if name == "TORTOISE_ORM":
        return tortoise_config()
    raise AttributeError(name)


CONNECT_TIMEOUT_S = 5


async def check_reachable(database_url: str | None = None, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Open and close one connection to the configured database, or raise DatabaseUnavailable
    with a message saying what to fix. Never waits longer than `timeout`."""
    url = database_url or settings.load().database_url
    try:
        config = expand_db_url(url)
    except ConfigurationError as exc:
        raise DatabaseUnavailable(
            f"DATABASE_URL 无法解析（{exc}）：请写成 postgres://用户:密码@主机:5432/库名 或 sqlite://文件路径"
        ) from None
    creds = config["credentials"]
    if config["engine"].endswith("sqlite"):
        await asyncio.to_thread(_check_sqlite, creds["file_path"])
        return
    try:
        connection = await asyncpg.connect(
            host=creds.get("host"),
            port=creds.get("port"),
            user=creds.get("user"),
            password=creds.get("password"),
            database=creds.get("database"),
            timeout=timeout,
        )
    except asyncpg.InvalidCatalogNameError:
        raise DatabaseUnavailable(
            f"PostgreSQL 数据库“{creds.get('database')}”不存在：请先创建（createdb {creds.get('database')}），或改正 DATABASE_URL"
        ) from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise DatabaseUnavailable(
            f"PostgreSQL 拒绝了用户“{creds.get('user')}”的登录（{exc}）：请检查 DATABASE_URL 中的用户名和密码"
        ) from None
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        where = f"{creds.get('host')}:{creds.get('port')}"
        raise DatabaseUnavailable(
            f"无法连接 PostgreSQL {where}（{type(exc).__name__}: {exc or '超时'}）：请确认数据库已启动，并检查 DATABASE_URL 的主机和端口"
        ) from None
    await connection.close()


def _check_sqlite(path: str) -> None:
    if path != ":memory:":
        folder = Path(path).expanduser().resolve().parent
        if Path(path).is_dir():
            raise DatabaseUnavailable(
                f"SQLite 数据库路径 {path} 是一个目录：请在 DATABASE_URL 中写一个文件名，如 sqlite://zizhu.sqlite3"
            )
        if not folder.is_dir():
            raise DatabaseUnavailable(f"SQLite 数据库所在目录 {folder} 不存在：请先创建该目录，或改正 DATABASE_URL")
    try:
        connection = sqlite3.connect(path, timeout=1)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(
            f"无法打开 SQLite 数据库 {path}（{exc}）：请检查该文件及其目录可读写，或改正 DATABASE_URL"
        ) from None


async def init(database_url: str | None = None):
    """Open the ORM (without touching the schema). Returns the Tortoise context handle."""
    return await Tortoise.init(config=tortoise_config(database_url))


async def close() -> None:
    await connections.close_all()


async def apply_migrations(database_url: str | None = None) -> None:
    """Apply the versioned migrations (the schema only; `installation.migrate` also seeds)."""
    from tortoise.migrations.api import migrate as run_migrations

    await run_migrations(config=tortoise_config(database_url))
    await close()


def conn(name: str = "default") -> BaseDBAsyncClient:
    return connections.get(name)


def dialect(client: BaseDBAsyncClient | None = None) -> str:
    """'postgres' or 'sqlite'."""
    return (client or conn()).capabilities.dialect


def is_postgres(client: BaseDBAsyncClient | None = None) -> bool:
    return dialect(client) == "postgres"


# One pass over the statement: string literals, quoted identifiers, comments and `::` casts are
# matched (and kept) before a `:name` placeholder can be, so none of them is ever taken for one.
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::|:([a-z_][a-z0-9_]*)""",
    re.S,
)


def placeholders(sql: str) -> list[str]:
    """The `:name` placeholders of a statement, in order of appearance (repeats included)."""
    return [m.group(1) for m in _TOKENS.finditer(sql) if m.group(1)]


def bind(sql: str, params: dict[str, Any], client: BaseDBAsyncClient | None = None) -> tuple[str, list]:
    """Turn `:name` placeholders into `$n` (asyncpg) or `?` (SQLite) plus a value list."""
    values: list[Any] = []
    order: dict[str, int] = {}
    pg = is_postgres(client)

    def repl(m: re.Match) -> str:
        key = m.group(1)
        if not key:
            return m.group(0)
        if pg:
            if key not in order:
                values.append(params[key])
                order[key] = len(values)
            return f"${order[key]}"
        values.append(params[key])
        return "?"

    return _TOKENS.sub(repl, sql), values


async def fetch(sql: str, params: dict[str, Any] | None = None, client=None) -> list[dict]:
    client = client or conn()
    text, values = bind(sql, params or {}, client)
    return await client.execute_query_dict(text, values)


async def execute(sql: str, params: dict[str, Any] | None = None, client=None) -> int:
    """Run a statement; returns the number of rows affected."""
    client = client or conn()
    text, values = bind(sql, params or {}, client)
    if is_postgres(client):
        # tortoise reads the wrong word of "INSERT 0 n"; the status tag's last word is the count.
        async with client.acquire_connection() as connection:
            status = await connection.execute(text, *values)
        last = status.rsplit(" ", 1)[-1] if status else ""
        return int(last) if last.isdigit() else 0
    affected, _ = await client.execute_query(text, values)
    return affected


async def execute_many(sql: str, rows: Sequence[dict[str, Any]], client=None) -> None:
    if not rows:
        return
    client = client or conn()
    text, _ = bind(sql, rows[0], client)
    keys = placeholders(sql)
    if is_postgres(client):
        keys = list(dict.fromkeys(keys))
    await client.execute_many(text, [[row[k] for k in keys] for row in rows])


@asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    from tortoise.transactions import in_transaction

    async with in_transaction() as tx:
        yield tx


def as_datetime(value: Any):
    """A datetime from a raw row (SQLite returns ISO text, asyncpg datetimes)."""
    import datetime as _dt

    if value is None or isinstance(value, _dt.datetime):
        return value
    return _dt.datetime.fromisoformat(str(value))
