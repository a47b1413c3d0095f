"""Sign-in and the current account (登录与当前用户)."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from zizhu.api.enums import Role, Stage
from zizhu.domain.accounts import users as accounts


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


@strawberry.type
class AccountQuery:
    @strawberry.field(description="当前登录用户及其数据范围")
    async def me(self, info: Info) -> Me:
        v = await info.context.viewer()
        return Me(username=v.username, role=v.role, scope_code=v.scope_code, stages=list(v.stages))


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="登录，返回签名且会过期的令牌")
    async def login(self, username: str, password: str) -> LoginPayload:
        token, viewer = await accounts.login(username, password)
        return LoginPayload(token=token, username=viewer.username, role=viewer.role)
