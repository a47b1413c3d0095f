"""Configuration (配置) from the environment, validated by pydantic-settings.

Nothing is read at import: `load()` validates the environment when a command or the app starts
and raises `SettingsInvalid` with one Chinese line per bad variable, saying how to fix it. The
result is cached per environment snapshot, so repeated calls on a request path cost a dict lookup.
"""

from __future__ import annotations

import ipaddress
import math
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
# A stable development secret would let anyone forge tokens; a random one per `serve` only logs
# everybody out on restart, which is fine for development. `zizhu serve --workers N` draws it once
# and hands it to its server processes in DEV_KEY_ENV, so a token signed by one is valid in all.
DEV_KEY_ENV = "ZIZHU_DEV_SIGNING_KEY"
_DEV_SECRET = os.environ.get(DEV_KEY_ENV) or "zizhu-development-secret-" + secrets.token_hex(16)

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
    "ZIZHU_TRUSTED_PROXIES": "请写成逗号分隔的反向代理地址或网段，如 127.0.0.1,10.0.0.0/8",
    "ZIZHU_CORS_ORIGINS": "请写成逗号分隔的来源，如 https://portal.example.cn；允许任意来源须另设 ZIZHU_CORS_ALLOW_ANY=true",
    "ZIZHU_CORS_ALLOW_ANY": "可选 true 或 false",
    "ZIZHU_METRICS_TOKEN": f"请设置至少 {MIN_SECRET_BYTES} 字节的随机令牌，例如 $(openssl rand -hex 32)",
}
WEAK_KEY = "ZIZHU_SECRET_KEY 过于简单（重复或可猜的字符），生产环境请用 $(openssl rand -hex 32) 生成"


def is_weak_secret(value: str) -> bool:
    """An obviously guessable key: few distinct characters, a repeated pattern, or under 90 bits
    by a per-character entropy estimate (16 random bytes as hex give ~110, 32 give ~240)."""
    if len(set(value)) < 8:
        return True
    if any(value == value[:p] * (len(value) // p) + value[: len(value) % p] for p in range(1, len(value) // 2 + 1)):
        return True
    counts = [value.count(c) for c in set(value)]
    bits = -sum(n * math.log2(n / len(value)) for n in counts)
    return bits < 90


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
    # `*` in ZIZHU_CORS_ORIGINS only with this set (and never with credentials)
    cors_allow_any: bool = Field(False, alias="ZIZHU_CORS_ALLOW_ANY")
    # reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; none by default
    trusted_proxies_text: str = Field("", alias="ZIZHU_TRUSTED_PROXIES")
    # a bearer token for Prometheus to read /metrics (an administrator's sign-in token works too)
    metrics_token: str | None = Field(None, alias="ZIZHU_METRICS_TOKEN")

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

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_length(cls, value: str | None) -> str | None:
        if not value:  # unset, or left empty in a compose .env
            return None
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"只有 {len(value.encode())} 字节")
        return value

    @field_validator("trusted_proxies_text")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",")):
            if not item or item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"“{item[:40]}”不是 IP 地址或网段") from None
        return value

    @field_validator("cors_origins_text")
    @classmethod
    def _origins(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",")):
            if item and item != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", item):
                raise ValueError(f"“{item[:40]}”不是 scheme://主机[:端口] 形式的来源")
        return value

    @property
    def trusted_proxies(self) -> list[str]:
        """Addresses for uvicorn's forwarded_allow_ips; empty: no proxy header is believed."""
        return [i.strip() for i in self.trusted_proxies_text.split(",") if i.strip()]

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


def share_development_key() -> None:
    """Hand this process's development signing key to the processes it starts (through the
    environment they inherit). Production never uses it: `load()` refuses to start without a key."""
    os.environ.setdefault(DEV_KEY_ENV, _DEV_SECRET)


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
    if loaded.is_production and loaded.secret_key and is_weak_secret(loaded.secret_key):
        raise SettingsInvalid(WEAK_KEY)
    if "*" in loaded.cors_origins and not loaded.cors_allow_any:
        raise SettingsInvalid(
            "ZIZHU_CORS_ORIGINS 含有 *（任意网站均可调用本接口）：请列出具体来源，"
            "确需允许任意来源时另设 ZIZHU_CORS_ALLOW_ANY=true（此时不允许携带凭据）"
        )
    if len(_cache) > 64:  # environments only change in tests; keep the cache small anyway
        _cache.clear()
    _cache[key] = loaded
    return loaded
