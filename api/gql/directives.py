"""The schema directives `@requires(role: [...])` and
`@window(action: ENTRY|SCHOOL_REVIEW|AUTHORITY_REVIEW)`, each attached and enforced by one field extension.

Design notes: docs/design/api-gql.md."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.schema_directive import Location
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from zizhu.api.gql.enums import Role, WindowAction
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.reference import codes
from zizhu.domain.roster import windows

# (viewer, resolver arguments) → the (period, project, province) whose window guards the call
Targets = Callable[[Viewer, codes.WindowAction, dict[str, Any]], Awaitable[Iterable[tuple[str, str, str]]]]


@strawberry.schema_directive(
    name="requires",
    locations=[Location.FIELD_DEFINITION],
    description="只有这些角色的账号可以调用；其他角色得到 FORBIDDEN",
)
class Requires:
    role: list[Role]


class RoleGuard(FieldExtension):
    """Attach `@requires(role: [...])` to the field and refuse any other role (FORBIDDEN).

    Strawberry runs the last extension listed first: list it after a `WindowGuard`.
    """

    def __init__(self, *roles: codes.Role) -> None:
        self.roles = tuple(codes.Role(r) for r in roles)

    def apply(self, field: StrawberryField) -> None:
        if not any(isinstance(d, Requires) for d in field.directives):
            field.directives = [Requires(role=list(self.roles)), *field.directives]  # who, then when

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any) -> Any:
        viewer = await info.context.viewer()
        viewer.require_role(*self.roles)
        return await next_(source, info, **kwargs)


@strawberry.schema_directive(
    name="window",
    locations=[Location.FIELD_DEFINITION],
    description="只在该动作的时间窗口内可用（服务器时间，Asia/Shanghai；结束时间不含）："
    "ENTRY 名单录入、SCHOOL_REVIEW 学校审核、AUTHORITY_REVIEW 主管部门审核",
)
class Window:
    action: WindowAction


class WindowGuard(FieldExtension):
    """Attach `@window(action)` to the field and refuse the call (WINDOW_CLOSED) outside it."""

    def __init__(self, action: codes.WindowAction, targets: Targets) -> None:
        self.action = codes.WindowAction(action)
        self.targets = targets

    def apply(self, field: StrawberryField) -> None:
        if not any(isinstance(d, Window) for d in field.directives):
            field.directives = [*field.directives, Window(action=self.action)]

    async def resolve_async(self, next_, source: Any, info: Info, **kwargs: Any) -> Any:
        viewer = await info.context.viewer()
        now = info.context.now()
        for period, project, province in await self.targets(viewer, self.action, kwargs):
            await windows.require_open(period, project, self.action, province, now)
        return await next_(source, info, **kwargs)
