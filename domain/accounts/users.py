"""Accounts and sign-in (账号与登录): argon2 hashes, signed expiring JWT tokens."""
from __future__ import annotations

import datetime as dt

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from zizhu.domain.accounts import audit
from zizhu.domain import settings
from zizhu.domain.reference.codes import Role, Stage
from zizhu.domain.errors import Unauthenticated, ValidationFailed
from zizhu.domain.reference.identity import is_region_code, is_school_code
from zizhu.domain.models import Account, Region, School
from zizhu.domain.accounts.scopes import SCHOOL_ROLES, Viewer

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "iat", "exp"]  # a token without an expiry is never accepted


async def add_user(
    username: str, password: str, role: str, scope_code: str, stages: list[str] | None = None,
    actor: str = "cli",
) -> Account:
    """Create (or reset) an account after checking that its scope exists."""
    try:
        role_ = Role.parse(role)
        stage_list = [Stage.parse(s).value for s in (stages or [])]
    except ValueError as e:
        raise ValidationFailed(f"无效的角色或学段：{e}") from None
    if len(password) < 8:
        raise ValidationFailed("密码至少8位")
    if role_ in SCHOOL_ROLES:
        if not is_school_code(scope_code) or not await School.exists(code=scope_code):
            raise ValidationFailed(f"学校 {scope_code} 不存在")
    elif not is_region_code(scope_code) or not await Region.exists(code=scope_code):
        raise ValidationFailed(f"行政区划 {scope_code} 不存在")
    if role_ == Role.ADMIN and scope_code != "000000":
        raise ValidationFailed("系统管理员的范围须为全国 000000")
    values = {
        "password_hash": _hasher.hash(password), "role": role_.value,
        "scope_code": scope_code, "stages": ",".join(stage_list), "active": True,
    }
    account, created = await Account.update_or_create(username=username, defaults=values)
    after = {k: v for k, v in values.items() if k != "password_hash"}
    await audit.record(actor, "account.create" if created else "account.update", "account", username, after=after)
    return account


def viewer_of(account: Account) -> Viewer:
    stages = tuple(Stage(s) for s in account.stages.split(",") if s)
    return Viewer(username=account.username, role=Role(account.role), scope_code=account.scope_code, stages=stages)


async def login(username: str, password: str) -> tuple[str, Viewer]:
    """Return (token, viewer) or raise Unauthenticated with one message for every failure."""
    account = await Account.get_or_none(username=username, active=True)
    try:
        if account is None:
            raise VerificationError()
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthenticated("用户名或密码错误") from None
    return issue_token(username), viewer_of(account)


def issue_token(username: str) -> str:
    """A signed token for an account that has already proved who it is."""
    cfg = settings.load()
    now = dt.datetime.now(dt.timezone.utc)
    payload = {"sub": username, "iat": now, "exp": now + dt.timedelta(hours=cfg.token_hours)}
    return jwt.encode(payload, cfg.signing_key, algorithm=_ALGORITHM)


async def viewer_from_token(token: str) -> Viewer:
    """Decode a bearer token; the account is re-read so a deactivated account loses access."""
    try:
        payload = jwt.decode(
            token, settings.load().signing_key, algorithms=[_ALGORITHM], options={"require": _REQUIRED_CLAIMS}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("登录已过期，请重新登录") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("无效的登录凭证") from None
    account = await Account.get_or_none(username=payload.get("sub"), active=True)
    if account is None:
        raise Unauthenticated("账号不存在或已停用")
    return viewer_of(account)
