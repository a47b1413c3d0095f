"""A reviewer's overview of the preschool roster (资助名单审核概览) before the lock.

Design notes: docs/design/domain-roster.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.models import Region, School
from zizhu.domain.paging import page_size
from zizhu.domain.reference.codes import AidStatus, Role, Stage, WindowAction
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.roster import windows
from zizhu.domain.roster.entries import PROJECT, check_period

_COLUMN = {s: s.value.lower() for s in AidStatus}


@dataclass(frozen=True)
class StatusCounts:
    """Entries by status (录入, 已上报, 学校审核通过, 审核通过, 退回)."""

    draft: int = 0
    submitted: int = 0
    school_approved: int = 0
    approved: int = 0
    returned: int = 0

    @property
    def total(self) -> int:
        return self.draft + self.submitted + self.school_approved + self.approved + self.returned

    def of(self, status: AidStatus) -> int:
        return getattr(self, _COLUMN[AidStatus(status)])

    @classmethod
    def from_rows(cls, rows) -> StatusCounts:
        """From (status, n) pairs; unknown statuses are ignored."""
        found = {_COLUMN[AidStatus(s)]: int(n) for s, n in rows if s in AidStatus.__members__}
        return cls(**found)


@dataclass(frozen=True)
class SchoolRoster:
    """One kindergarten's line of the overview."""

    school: School
    counts: StatusCounts
    waiting_for_me: bool
    windows: dict[WindowAction, windows.WindowState]


@dataclass(frozen=True)
class RegionRosterTotals:
    region: Region
    period: str
    counts: StatusCounts
    schools: int  # kindergartens in the subtree
    waiting_schools: int  # of which something waits for the viewer's level


def waiting_statuses(viewer: Viewer, school_code: str, region_code: str) -> tuple[AidStatus, ...]:
    """The statuses of a school's entries that wait for the viewer's own level (none for watchers)."""
    if viewer.role == Role.SCHOOL_OPERATOR and viewer.scope_code == school_code:
        return (AidStatus.DRAFT, AidStatus.RETURNED)
    if viewer.role == Role.SCHOOL_REVIEWER and viewer.scope_code == school_code:
        return (AidStatus.SUBMITTED,)
    if viewer.role == Role.AUTHORITY_OPERATOR and viewer.scope_code == region_code:
        return (AidStatus.SCHOOL_APPROVED,)
    return ()


def _waiting_condition(viewer: Viewer, params: dict) -> str:
    """SQL over school `s`: something of the period waits for the viewer's level there."""
    statuses: tuple[AidStatus, ...]
    if viewer.role == Role.SCHOOL_OPERATOR:
        own, statuses = "s.code = :me", (AidStatus.DRAFT, AidStatus.RETURNED)
    elif viewer.role == Role.SCHOOL_REVIEWER:
        own, statuses = "s.code = :me", (AidStatus.SUBMITTED,)
    elif viewer.role == Role.AUTHORITY_OPERATOR:
        own, statuses = "s.region_code = :me", (AidStatus.SCHOOL_APPROVED,)
    else:
        return "1 = 0"
    params["me"] = viewer.scope_code
    names = []
    for i, status in enumerate(statuses):
        params[f"w{i}"] = status.value
        names.append(f":w{i}")
    return (
        f"{own} AND EXISTS (SELECT 1 FROM aid_record w WHERE w.school_code = s.code AND w.project_code = :project"
        f" AND w.period = :period AND w.status IN ({', '.join(names)}))"
    )


def _kindergartens(prefix: str, params: dict) -> list[str]:
    """WHERE conditions over school `s`: in the subtree, and serving preschool or on the roster."""
    where = [
        "(EXISTS (SELECT 1 FROM enrolment e WHERE e.school_code = s.code AND e.stage = :stage)"
        " OR EXISTS (SELECT 1 FROM aid_record a WHERE a.school_code = s.code AND a.project_code = :project"
        " AND a.period = :period))"
    ]
    params["stage"] = Stage.PRESCHOOL.value
    if prefix:
        params.update(lo=prefix, hi=prefix[:-1] + chr(ord(prefix[-1]) + 1))
        where.insert(0, "s.region_code >= :lo AND s.region_code < :hi")
    return where


async def _region(viewer: Viewer, region_code: str | None) -> Region:
    viewer.require_stage(Stage.PRESCHOOL)
    return await viewer.region(region_code)  # FORBIDDEN for school accounts, NOT_FOUND outside scope


async def region_totals(viewer: Viewer, region_code: str | None, period: str) -> RegionRosterTotals:
    """The region's line on top: entries by status over its subtree, kindergartens, and how many wait."""
    region = await _region(viewer, region_code)
    period = check_period(period)
    params: dict = {"project": PROJECT, "period": period}
    where = _kindergartens(region_prefix(region.code), params)
    counts = await db.fetch(
        "SELECT a.status AS status, count(*) AS n FROM aid_record a JOIN school s ON s.code = a.school_code"
        f" WHERE a.project_code = :project AND a.period = :period AND {' AND '.join(where[:-1] or ['1 = 1'])}"
        " GROUP BY a.status",
        params,
    )
    waiting = _waiting_condition(viewer, params)
    row = (
        await db.fetch(
            f"SELECT count(*) AS schools, sum(CASE WHEN {waiting} THEN 1 ELSE 0 END) AS waiting"
            f" FROM school s WHERE {' AND '.join(where)}",
            params,
        )
    )[0]
    return RegionRosterTotals(
        region=region,
        period=period,
        counts=StatusCounts.from_rows((r["status"], r["n"]) for r in counts),
        schools=int(row["schools"] or 0),
        waiting_schools=int(row["waiting"] or 0),
    )


async def _school_conditions(
    viewer: Viewer, region_code: str | None, period: str, waiting_for_me: bool
) -> tuple[list[str], dict]:
    """WHERE conditions (alias s) and parameters: the region's kindergartens, optionally only those
    with something waiting for this account's level."""
    region = await _region(viewer, region_code)
    params: dict = {"project": PROJECT, "period": period}
    where = list(_kindergartens(region_prefix(region.code), params))
    if waiting_for_me:
        where.append(_waiting_condition(viewer, params))
    return where, params


async def region_schools(
    viewer: Viewer,
    region_code: str | None,
    period: str,
    now: dt.datetime,
    first: int = 50,
    after: str | None = None,
    waiting_for_me: bool = False,
) -> tuple[list[SchoolRoster], bool]:
    """One page of the region's kindergartens (by school code, after `after`), and whether more follow."""
    page_size(first)
    period = check_period(period)
    where, params = await _school_conditions(viewer, region_code, period, waiting_for_me)
    params.update({"after": after or "", "limit": first + 1})
    rows = await db.fetch(
        f"SELECT s.code, s.name, s.region_code, s.province FROM school s WHERE s.code > :after AND {' AND '.join(where)}"
        " ORDER BY s.code LIMIT :limit",
        params,
    )
    schools = [School(**r) for r in rows[:first]]
    return await summaries(viewer, period, schools, now), len(rows) > first


async def count_region_schools(
    viewer: Viewer, region_code: str | None, period: str, waiting_for_me: bool = False
) -> int:
    """How many kindergartens `region_schools` pages through (the same conditions)."""
    where, params = await _school_conditions(viewer, region_code, check_period(period), waiting_for_me)
    (row,) = await db.fetch(f"SELECT COUNT(*) AS n FROM school s WHERE {' AND '.join(where)}", params)
    return int(row["n"])


async def summaries(viewer: Viewer, period: str, schools: list[School], now: dt.datetime) -> list[SchoolRoster]:
    """Each school's counts, waiting flag and windows (one count query, one window query)."""
    if not schools:
        return []
    params: dict = {"project": PROJECT, "period": period}
    names = []
    for i, school in enumerate(schools):
        params[f"c{i}"] = school.code
        names.append(f":c{i}")
    rows = await db.fetch(
        "SELECT school_code, status, count(*) AS n FROM aid_record WHERE project_code = :project"
        f" AND period = :period AND school_code IN ({', '.join(names)}) GROUP BY school_code, status",
        params,
    )
    by_school: dict[str, list[tuple[str, int]]] = {}
    for r in rows:
        by_school.setdefault(r["school_code"], []).append((r["status"], r["n"]))
    states = await windows.effective_windows(period, PROJECT, {s.province for s in schools}, now)
    out = []
    for school in schools:
        counts = StatusCounts.from_rows(by_school.get(school.code, []))
        waiting = any(counts.of(s) for s in waiting_statuses(viewer, school.code, school.region_code))
        out.append(
            SchoolRoster(
                school=school,
                counts=counts,
                waiting_for_me=waiting,
                windows={a: states[(school.province, a)] for a in WindowAction},
            )
        )
    return out
