"""Short-lived signed download links (导出下载链接).

A link names one export (kind, format, filters) for one account and expires after
`LIFETIME`. It is a JWT signed with a key derived from the secret key for this purpose only and
carrying its own audience, so a link is never accepted as a sign-in token and a sign-in token is
never accepted as a link. The account is read again when the link is used: a deactivated
account's links stop working, and the scope applied is the account's scope at download time.
"""

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


def sign(username: str, kind: str, fmt: str, filters: dict[str, str], now: dt.datetime) -> tuple[str, dt.datetime]:
    """(token, expiry) of a link to export `kind` as `fmt` with `filters` for `username`."""
    expires = now + LIFETIME
    payload = {
        "sub": username,
        "aud": AUDIENCE,
        "iat": now,
        "exp": expires,
        "kind": kind,
        "fmt": fmt,
        "filters": {k: v for k, v in filters.items() if v is not None},
    }
    return jwt.encode(payload, _key(), algorithm=_ALGORITHM), expires


def verify(token: str, kind: str, fmt: str) -> tuple[str, dict[str, str]]:
    """(username, filters) of a valid, unexpired link for this kind and format; else UNAUTHENTICATED."""
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
    return payload["sub"], {str(k): str(v) for k, v in payload["filters"].items()}


async def viewer_for(username: str) -> Viewer:
    """The account a link was issued to, as it is now."""
    account = await Account.get_or_none(username=username, active=True)
    if account is None:
        raise Unauthenticated("账号不存在或已停用")
    return viewer_of(account)
