"""Short-lived signed download links (导出下载链接).

Design notes: docs/design/domain-exports.md."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import jwt

from zizhu.domain import settings
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.accounts.users import viewer_of
from zizhu.domain.errors import Unauthenticated
from zizhu.domain.models import Account

LIFETIME = dt.timedelta(minutes=10)
AUDIENCE = "zizhu-export"
_ALGORITHM = "HS256"


def _key() -> str:
    secret = settings.load().signing_key.encode()
    return hmac.new(secret, b"zizhu export link", hashlib.sha256).hexdigest()


async def sign(
    username: str, kind: str, fmt: str, filters: dict[str, str], now: dt.datetime
) -> tuple[str, dt.datetime]:
    """(token, expiry) of a link to export `kind` as `fmt` with `filters` for `username`."""
    account = await Account.get_or_none(username=username, active=True)
    if account is None:
        raise Unauthenticated("账号不存在或已停用")
    expires = now + LIFETIME
    payload = {
        "sub": username,
        "ver": account.token_version,
        "aud": AUDIENCE,
        "iat": now,
        "exp": expires,
        "kind": kind,
        "fmt": fmt,
        "filters": {k: v for k, v in filters.items() if v is not None},
    }
    return jwt.encode(payload, _key(), algorithm=_ALGORITHM), expires


def verify(token: str, kind: str, fmt: str) -> tuple[str, int | None, dict[str, str]]:
    """(username, token version, filters) of a valid, unexpired link for this kind and format; else
    UNAUTHENTICATED."""
    try:
        payload = jwt.decode(
            token, _key(), algorithms=[_ALGORITHM], audience=AUDIENCE, options={"require": ["exp", "sub", "aud"]}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("下载链接已过期，请重新导出") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("无效的下载链接") from None
    if payload.get("kind") != kind or payload.get("fmt") != fmt or not isinstance(payload.get("filters"), dict):
        raise Unauthenticated("无效的下载链接")
    return payload["sub"], payload.get("ver"), {str(k): str(v) for k, v in payload["filters"].items()}


async def viewer_for(username: str, version: int | None) -> Viewer:
    """The account a link was issued to, as it is now; its links die with its token version."""
    account = await Account.get_or_none(username=username, active=True)
    if account is None:
        raise Unauthenticated("账号不存在或已停用")
    if version != account.token_version:
        raise Unauthenticated("密码已更改或账号曾被停用，下载链接已失效，请重新导出")
    return viewer_of(account)
