"""Why unfunded (未资助原因提示): a listed student's aid records and why each did not count.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from zizhu.domain import db
from zizhu.domain.reference.codes import AidStatus, AidVerdict, ProjectKind, Stage
from zizhu.domain.reference.periods import parse_semester

MAX_RECORDS = 20  # per student, newest period first


@dataclass(frozen=True)
class AidExplanation:
    project_code: str
    project_name: str
    project_stage: Stage | None
    period: str
    school_code: str
    amount: Decimal
    status: AidStatus
    verdict: AidVerdict


Key = tuple[str, str, str, str]  # (period, stage, full ID number, project '' or a module's)


def periods_around(period: str) -> list[str]:
    """The academic year of `period`, the one before and the one after, with their semesters."""
    start = int(parse_semester(period).academic_year[:4])
    codes = []
    for first in (start - 1, start, start + 1):
        year = f"{first}-{first + 1}"
        codes += [year, f"{year}-1", f"{year}-2"]
    return codes


def verdict(row: dict, period: str, stage: str, project: str) -> AidVerdict:
    """The one reason a record did not make the student funded, checked in the notice's order:
    stage, period, kind, status; an approved record counts unless the list is another project's."""
    if row["project_stage"] != stage:
        return AidVerdict.OTHER_STAGE
    if row["period"] not in (period, parse_semester(period).academic_year):
        return AidVerdict.OTHER_PERIOD
    if row["kind"] != ProjectKind.RELIEF.value:
        return AidVerdict.MERIT if row["kind"] == ProjectKind.MERIT.value else AidVerdict.NOT_RELIEF
    if row["status"] != AidStatus.APPROVED.value:
        return AidVerdict(row["status"])
    if project and row["project_code"] != project:
        return AidVerdict.OTHER_PROJECT
    return AidVerdict.APPROVED_SINCE


async def explanations(keys: list[Key]) -> dict[Key, list[AidExplanation]]:
    """The aid records of each listed student around its period, with their verdicts."""
    found: dict[Key, list[AidExplanation]] = {k: [] for k in keys}
    if not keys:
        return found
    params: dict = {}
    ids = sorted({k[2] for k in keys})
    periods = sorted({p for k in keys for p in periods_around(k[0])})
    id_list = ", ".join(f":id{i}" for i in range(len(ids)))
    period_list = ", ".join(f":p{i}" for i in range(len(periods)))
    params.update({f"id{i}": v for i, v in enumerate(ids)})
    params.update({f"p{i}": v for i, v in enumerate(periods)})
    rows = await db.fetch(
        f"""SELECT a.id_number, a.project_code, a.period, a.school_code, a.amount, a.status,
                   p.name AS project_name, p.stage AS project_stage, p.kind
              FROM aid_record a LEFT JOIN aid_project p ON p.code = a.project_code
             WHERE a.id_number IN ({id_list}) AND a.period IN ({period_list})
             ORDER BY a.id_number, a.period DESC, a.project_code""",
        params,
    )
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["id_number"], []).append(r)
    for key in keys:
        period, stage, id_number, project = key
        around = set(periods_around(period))
        for r in by_id.get(id_number, []):
            if r["period"] not in around or len(found[key]) >= MAX_RECORDS:
                continue
            found[key].append(
                AidExplanation(
                    project_code=r["project_code"],
                    project_name=r["project_name"] or r["project_code"],
                    project_stage=Stage(r["project_stage"]) if r["project_stage"] else None,
                    period=r["period"],
                    school_code=r["school_code"],
                    amount=Decimal(str(r["amount"])),
                    status=AidStatus(r["status"]),
                    verdict=verdict(r, period, stage, project),
                )
            )
    return found


def short_text(items: list[AidExplanation]) -> str:
    """The export column: one 'project period: short verdict' per record, or 无资助记录."""
    if not items:
        return "无资助记录"
    return "；".join(f"{e.project_name}{e.period}：{e.verdict.short}" for e in items)
