"""Configuration (配置) from the environment, validated by pydantic-settings.

Nothing is read at import: `load()` validates the environment when a command or the app starts
and raises `SettingsInvalid` with one Chinese line per bad variable, saying how to fix it. The
result is cached per environment snapshot, so repeated calls on a request path cost a dict lookup.
"""

from __future__ import annotations

import os
import re
import secrets
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zizhu.domain.errors import NotOperational

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_DATABASE_URL = "sqlite://zizhu.sqlite3?busy_timeout=5000"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
MIN_SECRET_BYTES = 32
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "asyncpg")
REDIS_SCHEMES = ("redis", "rediss", "unix")
# A stable development secret would let anyone forge tokens; a per-process one only logs
# everybody out on restart, which is fine for development.
_DEV_SECRET = "zizhu-development-secret-" + secrets.token_hex(16)

# How to fix each variable, shown after "环境变量 X 无效".
FIXES = {
    "DATABASE_URL": "请写成 postgres://用户:密码@主机:5432/库名 或 sqlite://文件路径",
    "REDIS_URL": "请写成 redis://主机:6379/0",
    "ZIZHU_SECRET_KEY": f"请设置至少 {MIN_SECRET_BYTES} 字节的随机密钥，例如 $(openssl rand -hex 32)",
    "ZIZHU_ENV": "可选 development 或 production",
    "ZIZHU_TOKEN_HOURS": "须为 1 到 720 之间的整数（小时）",
    "ZIZHU_QUEUE": "须为非空的队列名",
    "ZIZHU_GRAPHIQL": "可选 true 或 false",
    "ZIZHU_INTROSPECTION": "可选 true 或 false",
    "ZIZHU_METRICS": "可选 true 或 false",
    "ZIZHU_LOG_LEVEL": "可选 DEBUG、INFO、WARNING、ERROR",
    "ZIZHU_LOG_FORMAT": "可选 text 或 json",
    "ZIZHU_WORKER_STALE_SECONDS": "须为 5 到 3600 之间的整数（秒）",
}


class SettingsInvalid(NotOperational):
    """The environment does not make a valid configuration; `message` says what to change."""


class Settings(BaseSettings):
    """Every variable the service reads; the field's alias is the environment variable."""

    model_config = SettingsConfigDict(case_sensitive=True, frozen=True, extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL", min_length=1)
    redis_url: str = Field(DEFAULT_REDIS_URL, alias="REDIS_URL", min_length=1)
    secret_key: str | None = Field(None, alias="ZIZHU_SECRET_KEY")
    environment: Literal["development", "production"] = Field("development", alias="ZIZHU_ENV")
    token_hours: int = Field(12, alias="ZIZHU_TOKEN_HOURS", ge=1, le=720)
    queue: str = Field("zizhu", alias="ZIZHU_QUEUE", min_length=1)
    graphiql: bool | None = Field(None, alias="ZIZHU_GRAPHIQL")
    introspection: bool | None = Field(None, alias="ZIZHU_INTROSPECTION")
    metrics: bool = Field(True, alias="ZIZHU_METRICS")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="ZIZHU_LOG_LEVEL")
    log_format: Literal["text", "json"] = Field("text", alias="ZIZHU_LOG_FORMAT")
    worker_stale_seconds: int = Field(60, alias="ZIZHU_WORKER_STALE_SECONDS", ge=5, le=3600)
    # the API's longest database statement on PostgreSQL, in seconds (0 = none)
    statement_timeout_s: float = Field(30.0, alias="ZIZHU_STATEMENT_TIMEOUT_S", ge=0, le=3600)
    # browser origins allowed to call the API, comma-separated; none by default
    cors_origins_text: str = Field("", alias="ZIZHU_CORS_ORIGINS")

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(f"不支持的协议“{scheme or '（无）'}”")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in REDIS_SCHEMES:
            raise ValueError(f"不支持的协议“{scheme or '（无）'}”")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_length(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"只有 {len(value.encode())} 字节")
        return value

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def graphiql_enabled(self) -> bool:
        """GraphiQL is on in development and off in production unless ZIZHU_GRAPHIQL says so."""
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def cors_origins(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.cors_origins_text.split(",") if o.strip())

    @property
    def signing_key(self) -> str:
        return self.secret_key or _DEV_SECRET


ENV_NAMES = tuple(f.alias or name for name, f in Settings.model_fields.items())
_cache: dict[tuple, Settings] = {}


def _without_password(value: str) -> str:
    """A URL with its password replaced by ***, for messages."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", value)


def _explain(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = str(item["loc"][0])
        value = os.environ.get(name, "")
        reason = str(item.get("ctx", {}).get("error") or "")
        shown = "（已隐藏）" if name == "ZIZHU_SECRET_KEY" else f"“{_without_password(value)}”"
        problems.append(f"环境变量 {name}={shown} 无效{('：' + reason) if reason else ''}，{FIXES.get(name, '')}")
    return "；".join(problems)


def load() -> Settings:
    """The validated settings for the current environment, or SettingsInvalid."""
    key = tuple(os.environ.get(name) for name in ENV_NAMES)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        loaded = Settings()
    except ValidationError as error:
        raise SettingsInvalid(_explain(error)) from None
    if loaded.is_production and not loaded.secret_key:
        raise SettingsInvalid(f"ZIZHU_ENV=production 时必须设置环境变量 ZIZHU_SECRET_KEY，{FIXES['ZIZHU_SECRET_KEY']}")
    if len(_cache) > 64:  # environments only change in tests; keep the cache small anyway
        _cache.clear()
    _cache[key] = loaded
    return loaded
