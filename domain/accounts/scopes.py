"""Scopes (数据权限): the one place that decides what an account may see and change.

Every query and mutation goes through a `Viewer`. Objects outside the viewer's scope behave as
if they did not exist (NotFound); an action the role may not perform at all is Forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zizhu.domain.errors import Forbidden, NotFound
from zizhu.domain.models import Region, School
from zizhu.domain.reference.codes import Role, Stage
from zizhu.domain.reference.identity import mask_id_number, region_prefix

SCHOOL_ROLES = (Role.SCHOOL_OPERATOR, Role.SCHOOL_REVIEWER)
ADMINS = (Role.ADMIN,)  # system administration: accounts, windows, periods, runs, operations


@dataclass(frozen=True)
class Viewer:
    """An authenticated account as the rules see it (当前用户及其数据范围)."""

    username: str
    role: Role
    scope_code: str  # school code for school roles, region code otherwise
    stages: tuple[Stage, ...] = field(default_factory=tuple)  # empty = all stages

    # --- what kind of account -------------------------------------------------
    @property
    def is_school(self) -> bool:
        return self.role in SCHOOL_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden("当前账号角色无权执行此操作", role=self.role.value)

    # --- stages ----------------------------------------------------------------
    def allows_stage(self, stage: Stage | str) -> bool:
        return not self.stages or Stage(stage) in self.stages

    def require_stage(self, stage: Stage | str) -> None:
        if not self.allows_stage(stage):
            raise NotFound("未找到该学段的数据")

    def visible_stages(self, stage: Stage | None = None) -> list[str]:
        """Stage codes a query may cover: the one asked for (if allowed) or all allowed ones."""
        if stage is not None:
            self.require_stage(stage)
            return [stage.value]
        return [s.value for s in (self.stages or tuple(Stage))]

    # --- regions -----------------------------------------------------------------
    @property
    def region_prefix(self) -> str | None:
        """Prefix of the region codes this account covers; None for school accounts."""
        if self.is_admin:
            return ""
        if self.is_school:
            return None
        return region_prefix(self.scope_code)

    def covers_region_code(self, region_code: str) -> bool:
        prefix = self.region_prefix
        return (
            prefix is not None
            and region_code.startswith(prefix)
            and (self.is_admin or len(region_prefix(region_code)) >= len(prefix))
        )

    async def region(self, code: str | None = None) -> Region:
        """The region asked for (default: the account's own) or NotFound when outside scope."""
        if self.is_school:
            raise Forbidden("学校账号不能查看区域数据")
        code = code or (self.scope_code if not self.is_admin else self.scope_code or "000000")
        region = await Region.get_or_none(code=code)
        if region is None or not self.covers_region_code(code):
            raise NotFound(f"未找到行政区划 {code}")
        return region

    # --- schools -----------------------------------------------------------------
    def covers_school(self, school: School) -> bool:
        return self.covers_school_row(school.code, school.region_code)

    def covers_school_row(self, school_code: str, region_code: str) -> bool:
        """Is a row of school `school_code` (administered by `region_code`) within scope?"""
        if self.is_admin:
            return True
        if self.is_school:
            return school_code == self.scope_code
        return region_code.startswith(self.region_prefix or "")

    async def school(self, code: str | None = None) -> School:
        """The school asked for (default: a school account's own) or NotFound outside scope."""
        code = code or (self.scope_code if self.is_school else None)
        school = await School.get_or_none(code=code) if code else None
        if school is None or not self.covers_school(school):
            raise NotFound(f"未找到学校 {code}")
        return school

    def school_region_filter(self) -> tuple[str, str]:
        """(column kind, value) for rows carrying school_code and region_code.

        Returns ("school", code) for school accounts, ("prefix", p) for the others.
        """
        if self.is_school:
            return "school", self.scope_code
        return "prefix", self.region_prefix or ""

    # --- personal data -----------------------------------------------------------
    def id_number_for(self, id_number: str, school_code: str) -> str:
        """Full ID only for the student's own school; masked everywhere else."""
        if self.is_school and school_code == self.scope_code:
            return id_number
        return mask_id_number(id_number)
