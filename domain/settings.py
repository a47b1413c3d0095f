"""Configuration from the environment (DESIGN.md §5)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_DATABASE_URL = "sqlite://zizhu.sqlite3?busy_timeout=5000"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
_DEV_SECRET = "zizhu-development-secret-" + secrets.token_hex(8)


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    secret_key: str
    environment: str
    token_hours: int
    statement_timeout_s: float = 30.0  # the API's longest database statement (PostgreSQL); 0 = none
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API; none by default


def load() -> Settings:
    environment = os.environ.get("ZIZHU_ENV", "development")
    secret = os.environ.get("ZIZHU_SECRET_KEY")
    if not secret:
        if environment != "development":
            raise RuntimeError("ZIZHU_SECRET_KEY is required when ZIZHU_ENV is not 'development'")
        # A stable development secret would let anyone forge tokens; a per-process one only
        # logs everybody out on restart, which is fine for development.
        secret = os.environ.setdefault("ZIZHU_SECRET_KEY", _DEV_SECRET)
    return Settings(
        database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        redis_url=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        secret_key=secret,
        environment=environment,
        token_hours=int(os.environ.get("ZIZHU_TOKEN_HOURS", "12")),
        statement_timeout_s=float(os.environ.get("ZIZHU_STATEMENT_TIMEOUT_S", "30")),
        cors_origins=tuple(o.strip() for o in os.environ.get("ZIZHU_CORS_ORIGINS", "").split(",") if o.strip()),
    )
