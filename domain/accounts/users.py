"""Accounts and sign-in (账号与登录): argon2 hashes, signed expiring JWT tokens, throttled sign-in.

A token carries the account's `token_version`; changing the password or disabling the account
moves it, so every token issued before stops working at once.
"""

from __future__ import annotations

import datetime as dt

import jwt

from zizhu.domain import db, settings
from zizhu.domain.accounts import audit, throttle
from zizhu.domain.accounts.passwords import check_password, hash_password
from zizhu.domain.accounts.scopes import SCHOOL_ROLES, Viewer
from zizhu.domain.errors import NotFound, Unauthenticated, ValidationFailed
from zizhu.domain.models import Account, Region, School
from zizhu.domain.reference.codes import Role, Stage
from zizhu.domain.reference.identity import is_region_code, is_school_code

_ALGORITHM = "HS256"
MAX_USERNAME = 64  # the column's length
MIN_PASSWORD, MAX_PASSWORD = 8, 256
BAD_CREDENTIALS = "用户名或密码错误"


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"密码至少{MIN_PASSWORD}位")
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(f"密码不能超过{MAX_PASSWORD}位")


_REQUIRED_CLAIMS = ["sub", "iat", "exp"]  # a token without an expiry is never accepted


async def add_user(
    username: str,
    password: str,
    role: str,
    scope_code: str,
    stages: list[str] | None = None,
    actor: str = "cli",
    display_name: str | None = None,
) -> Account:
    """Create (or reset) an account after checking that its scope exists. Resetting an existing
    account changes its password, so its old tokens stop working."""
    try:
        role_ = Role.parse(role)
        stage_list = [Stage.parse(s).value for s in (stages or [])]
    except ValueError as e:
        raise ValidationFailed(f"无效的角色或学段：{e}") from None
    if not username or len(username) > MAX_USERNAME:
        raise ValidationFailed(f"用户名须为1至{MAX_USERNAME}个字符")
    _check_new_password(password)
    if role_ in SCHOOL_ROLES:
        if not is_school_code(scope_code) or not await School.exists(code=scope_code):
            raise ValidationFailed(f"学校 {scope_code} 不存在")
    elif not is_region_code(scope_code) or not await Region.exists(code=scope_code):
        raise ValidationFailed(f"行政区划 {scope_code} 不存在")
    if role_ == Role.ADMIN and scope_code != "000000":
        raise ValidationFailed("系统管理员的范围须为全国 000000")
    values = {
        "password_hash": await hash_password(password),
        "role": role_.value,
        "scope_code": scope_code,
        "stages": ",".join(stage_list),
        "active": True,
    }
    if display_name is not None:  # 姓名 shown as a reason's reporter; kept when not given
        name = display_name.strip()
        if len(name) > 50 or name.startswith(("=", "+", "@", "-")):
            raise ValidationFailed("姓名须为不超过50个字的纯文本")
        values["display_name"] = name
    async with db.transaction() as tx:
        existing = await Account.select_for_update().using_db(tx).get_or_none(username=username)
        if existing is None:
            await Account.create(username=username, **values, using_db=tx)
        else:
            await Account.filter(id=existing.id).using_db(tx).update(**values, token_version=existing.token_version + 1)
        after = {k: v for k, v in values.items() if k != "password_hash"}
        await audit.record(
            actor,
            "account.create" if existing is None else "account.update",
            "account",
            username,
            after=after,
            using_db=tx,
        )
    await throttle.record_success(username)
    return await Account.get(username=username)


def viewer_of(account: Account) -> Viewer:
    stages = tuple(Stage(s) for s in account.stages.split(",") if s)
    return Viewer(username=account.username, role=Role(account.role), scope_code=account.scope_code, stages=stages)


async def login(username: str, password: str, client: str | None = None) -> tuple[str, Viewer]:
    """Return (token, viewer) or raise Unauthenticated with one message for every failure.

    Throttled per (username, client address) and per client address (`client`), by waits that
    grow with the failures; an unknown or disabled username costs the same password check as a
    wrong password."""
    if len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        raise ValidationFailed(f"用户名不能超过{MAX_USERNAME}个字符，密码不能超过{MAX_PASSWORD}位")
    wait = await throttle.retry_after(username, client)
    if wait:
        shown = f"{wait}秒" if wait < 120 else f"{round(wait / 60)}分钟"
        raise Unauthenticated(f"登录失败次数过多，请{shown}后再试", reason="THROTTLED", retryAfterSeconds=wait)
    account = await Account.get_or_none(username=username, active=True)
    if not await check_password(account.password_hash if account else None, password) or account is None:
        await throttle.record_failure(username, client)
        raise Unauthenticated(BAD_CREDENTIALS)
    await throttle.record_success(username)
    return issue_token(account), viewer_of(account)


def issue_token(account: Account) -> str:
    """A signed token for an account that has already proved who it is."""
    cfg = settings.load()
    now = dt.datetime.now(dt.UTC)
    payload = {
        "sub": account.username,
        "ver": account.token_version,
        "iat": now,
        "exp": now + dt.timedelta(hours=cfg.token_hours),
    }
    return jwt.encode(payload, cfg.signing_key, algorithm=_ALGORITHM)


def token_payload(token: str) -> dict:
    """The claims of a signed, unexpired token (no database read), or Unauthenticated."""
    try:
        payload = jwt.decode(
            token, settings.load().signing_key, algorithms=[_ALGORITHM], options={"require": _REQUIRED_CLAIMS}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("登录已过期，请重新登录") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("无效的登录凭证") from None
    return payload


async def viewer_from_token(token: str) -> Viewer:
    """Decode a bearer token; the account is re-read so a disabled account, or one whose password
    changed since the token was issued, loses access."""
    payload = token_payload(token)
    account = await Account.get_or_none(username=str(payload.get("sub", "")), active=True)
    if account is None:
        raise Unauthenticated("账号不存在或已停用")
    if payload.get("ver") != account.token_version:
        raise Unauthenticated("密码已更改或账号曾被停用，请重新登录")
    return viewer_of(account)


# --- account management (账号管理): `zizhu user …` and the administrators' mutations ---------------
async def _change(actor: str, username: str, action: str, values: dict, revoke: bool) -> Account:
    """Update one account, moving its token version when `revoke`; audited."""
    async with db.transaction() as tx:
        account = await Account.select_for_update().using_db(tx).get_or_none(username=username)
        if account is None:
            raise NotFound(f"未找到账号 {username}")
        before = {"active": account.active}
        if revoke:
            values = {**values, "token_version": account.token_version + 1}
        await Account.filter(id=account.id).using_db(tx).update(**values)
        after = {k: v for k, v in values.items() if k != "password_hash"}
        await audit.record(actor, action, "account", username, before=before, after=after, using_db=tx)
    return await Account.get(username=username)


async def set_password(actor: str, username: str, password: str) -> Account:
    """Set a new password (修改密码); every token issued before stops working."""
    _check_new_password(password)
    account = await _change(
        actor, username, "account.password", {"password_hash": await hash_password(password)}, revoke=True
    )
    await throttle.record_success(username)
    return account


async def unlock(actor: str, username: str) -> None:
    """Forget the failed sign-ins of a username from every client (解除登录限制); audited. Works for
    every process when the throttle is in Redis, else for the process that runs it."""
    if not username or len(username) > MAX_USERNAME:
        raise ValidationFailed(f"用户名须为1至{MAX_USERNAME}个字符")
    await throttle.record_success(username)
    await audit.record(actor, "account.unlock", "account", username)


async def set_active(actor: str, username: str, active: bool) -> Account:
    """Disable (停用) or enable (启用) an account; disabling ends every token issued so far."""
    if not active and username == actor:
        raise ValidationFailed("不能停用自己的账号")
    return await _change(
        actor, username, "account.enable" if active else "account.disable", {"active": active}, revoke=not active
    )
