"""Sign-in, the current account and account management (登录、当前用户与账号管理)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from zizhu.api.gql.enums import Role, Stage
from zizhu.domain.accounts import users as accounts
from zizhu.domain.models import Account


@strawberry.type(description="登录结果")
class LoginPayload:
    token: str
    username: str
    role: Role


@strawberry.type(description="当前用户")
class Me:
    username: str
    role: Role
    scope_code: str
    stages: list[Stage]


@strawberry.type(description="账号（系统管理员管理）")
class UserAccount:
    username: str
    role: Role
    scope_code: str
    stages: list[Stage]
    active: bool = strawberry.field(description="是否启用；停用的账号不能登录，已签发的令牌立即失效")


def _account(a: Account) -> UserAccount:
    v = accounts.viewer_of(a)
    return UserAccount(
        username=a.username, role=v.role, scope_code=a.scope_code, stages=list(v.stages), active=a.active
    )


async def _admin(info: Info) -> str:
    viewer = await info.context.viewer()
    viewer.require_role(Role.ADMIN)
    return viewer.username


@strawberry.type
class AccountQuery:
    @strawberry.field(description="当前登录用户及其数据范围")
    async def me(self, info: Info) -> Me:
        v = await info.context.viewer()
        return Me(username=v.username, role=v.role, scope_code=v.scope_code, stages=list(v.stages))


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="登录，返回签名且会过期的令牌（连续失败过多时暂时锁定）")
    async def login(self, info: Info, username: str, password: str) -> LoginPayload:
        request = info.context.request
        client = request.client.host if request is not None and request.client else None
        token, viewer = await accounts.login(username, password, client=client)
        return LoginPayload(token=token, username=viewer.username, role=viewer.role)

    @strawberry.mutation(description="停用账号（系统管理员）：不能再登录，已签发的令牌立即失效")
    async def disable_user(self, info: Info, username: str) -> UserAccount:
        return _account(await accounts.set_active(await _admin(info), username, False))

    @strawberry.mutation(description="启用账号（系统管理员）")
    async def enable_user(self, info: Info, username: str) -> UserAccount:
        return _account(await accounts.set_active(await _admin(info), username, True))

    @strawberry.mutation(description="解除登录限流（系统管理员）：清除该用户名在所有客户端的登录失败记录")
    async def unlock_user(self, info: Info, username: str) -> bool:
        await accounts.unlock(await _admin(info), username)
        return True

    @strawberry.mutation(description="重设账号密码（系统管理员）：该账号已签发的令牌立即失效")
    async def set_user_password(self, info: Info, username: str, password: str) -> UserAccount:
        return _account(await accounts.set_password(await _admin(info), username, password))
