"""Sign-in, the current account and account management (登录、当前用户与账号管理)."""

from __future__ import annotations

from typing import Any, Self

import strawberry
from strawberry.types import Info

from zizhu.api.gql.directives import RoleGuard
from zizhu.api.gql.enums import Role, Stage
from zizhu.api.gql.from_domain import FromDomain
from zizhu.domain.accounts import users as accounts
from zizhu.domain.accounts.scopes import ADMINS
from zizhu.domain.models import Account


@strawberry.type(description="登录结果")
class LoginPayload(FromDomain):
    token: str
    username: str
    role: Role


@strawberry.type(description="当前用户")
class Me(FromDomain):
    username: str
    role: Role
    scope_code: str
    stages: list[Stage]


@strawberry.type(description="账号（系统管理员管理）")
class UserAccount(FromDomain):
    username: str
    role: Role
    scope_code: str
    stages: list[Stage]
    active: bool = strawberry.field(description="是否启用；停用的账号不能登录，已签发的令牌立即失效")

    @classmethod
    def from_domain(cls, obj: Account, /, **values: Any) -> Self:
        viewer = accounts.viewer_of(obj)
        return super().from_domain(obj, role=viewer.role, stages=list(viewer.stages), **values)


@strawberry.type
class AccountQuery:
    @strawberry.field(description="当前登录用户及其数据范围")
    async def me(self, info: Info) -> Me:
        viewer = await info.context.viewer()
        return Me.from_domain(viewer, stages=list(viewer.stages))


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="登录，返回签名且会过期的令牌（连续失败过多时暂时锁定）")
    async def login(self, info: Info, username: str, password: str) -> LoginPayload:
        request = info.context.request
        client = request.client.host if request is not None and request.client else None
        token, viewer = await accounts.login(username, password, client=client)
        return LoginPayload.from_domain(viewer, token=token)

    @strawberry.mutation(
        description="停用账号（系统管理员）：不能再登录，已签发的令牌立即失效", extensions=[RoleGuard(*ADMINS)]
    )
    async def disable_user(self, info: Info, username: str) -> UserAccount:
        admin = await info.context.viewer()
        return UserAccount.from_domain(await accounts.set_active(admin.username, username, False))

    @strawberry.mutation(description="启用账号（系统管理员）", extensions=[RoleGuard(*ADMINS)])
    async def enable_user(self, info: Info, username: str) -> UserAccount:
        admin = await info.context.viewer()
        return UserAccount.from_domain(await accounts.set_active(admin.username, username, True))

    @strawberry.mutation(
        description="重设账号密码（系统管理员）：该账号已签发的令牌立即失效", extensions=[RoleGuard(*ADMINS)]
    )
    async def set_user_password(self, info: Info, username: str, password: str) -> UserAccount:
        admin = await info.context.viewer()
        return UserAccount.from_domain(await accounts.set_password(admin.username, username, password))
