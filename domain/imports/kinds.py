"""The six import kinds (导入类型) of docs/imports.md: headers, target table, upsert key, row validator.

A validator turns one row's `Cells` into a tuple in the order of `Kind.columns` (or None when the
row is bad); the staging table and the merge are generic over these descriptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from zizhu.domain import db
from zizhu.domain.imports.values import Cells
from zizhu.domain.reference.codes import (
    REASON_NEEDS_DETAIL,
    AidStatus,
    Category,
    Cycle,
    EnrolmentStatus,
    Source,
    Stage,
)
from zizhu.domain.reference.identity import province_of_school, region_level, region_prefix

NATION = "000000"


@dataclass
class Refs:
    """What rows are checked against, loaded once per import; `semesters` collects the periods used."""

    regions: set[str] = field(default_factory=set)
    schools: set[str] = field(default_factory=set)
    projects: dict[str, tuple[str, str]] = field(default_factory=dict)  # code or name → (code, cycle)
    project_rows: dict[str, dict] = field(default_factory=dict)  # code → stage, kind, retired
    reasons: dict[str, str] = field(default_factory=dict)  # reason code or label → code (retired ones too)
    semesters: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    headers: tuple[str, ...]
    table: str
    columns: tuple[str, ...]  # what the validator returns, staged and written
    keys: tuple[str, ...]  # the upsert key (a unique constraint of the table)
    validate: Callable[[Cells, Refs], tuple | None]
    needs: frozenset[str] = frozenset()  # reference sets to load: regions, schools, projects, reasons
    typed: dict[str, str] = field(default_factory=dict)  # PostgreSQL staging types other than text
    insert_only: dict[str, str] = field(default_factory=dict)  # column → SQL value on insert only
    touched: tuple[str, ...] = ()  # timestamp columns set to now on insert and on update
    after_merge: tuple[str, ...] = ()  # SQL run after the merge, in its transaction; {staged} = staging table
    optional: tuple[str, ...] = ()  # headers a file may leave out (their cells read as empty)
    # SQL selecting (column p) the provinces whose cached answers the staged rows ({staged}) may
    # change, run before the merge ('00': every area); None: every area; '': none (no cached answer
    # reads the table — it feeds the next comparison only)
    moves: str | None = None

    @property
    def updated(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.keys)


def _region(c: Cells, refs: Refs) -> tuple | None:
    code = c.code("行政区划代码", 6, "行政区划代码")
    name = c.text("名称", 100)
    parent_text = c.values["上级代码"]
    parent = None
    if code == NATION:
        if parent_text:
            c.bad("上级代码", "全国（000000）没有上级区划")
    elif code:
        if not parent_text and region_level(code) == "PROVINCE":
            parent_text = NATION
        if not parent_text:
            c.bad("上级代码", "上级代码不能为空")
        elif not (len(parent_text) == 6 and parent_text.isdigit()):
            c.bad("上级代码", f"上级代码“{parent_text}”应为6位数字")
        else:
            parent = parent_text
        if parent and parent not in refs.regions:
            c.bad("上级代码", f"上级区划“{parent}”不存在（须已导入，或在本文件中更靠前的行）")
        elif parent and not (
            code.startswith(region_prefix(parent)) and len(region_prefix(code)) > len(region_prefix(parent))
        ):
            c.bad("上级代码", f"“{parent}”不是“{code}”的上级区划")
    if code:
        refs.regions.add(code)  # later rows of the same file may name it as their parent
    return c.result((code, name, parent, code and region_level(code)))


def _school(c: Cells, refs: Refs) -> tuple | None:
    code = c.code("学校标识码", 10, "学校标识码")
    name = c.text("学校名称", 200)
    region = c.code("主管区划代码", 6, "主管区划代码")
    if region and region not in refs.regions:
        c.bad("主管区划代码", f"主管区划“{region}”不存在")
    elif code and region and region != NATION and region[:2] != province_of_school(code):
        c.bad("主管区划代码", f"学校标识码“{code}”的省份代码与主管区划“{region}”不一致")
    return c.result((code, name, region, code and province_of_school(code)))


def _student(c: Cells, refs: Refs) -> tuple | None:
    id_number = c.id_number("身份证件号")
    name = c.text("姓名", 50)
    school = c.school("学校标识码", refs.schools)
    stage = c.enum("学段", Stage, "学段")
    grade = c.text("年级", 20, required=False)
    status = c.enum("学籍状态", EnrolmentStatus, "学籍状态")
    class_name = c.text("班级", 50, required=False)
    return c.result(
        (
            id_number,
            name,
            school,
            stage and stage.value,
            grade,
            status and status.value,
            school and province_of_school(school),
            class_name,
        )
    )


def _aid(c: Cells, refs: Refs) -> tuple | None:
    id_number = c.id_number("身份证件号")
    school = c.school("学校标识码", refs.schools)
    project_text = c.values["资助项目代码"]
    project = refs.projects.get(project_text)
    if project is None:
        c.bad("资助项目代码", f"未知的资助项目“{project_text}”")
    elif refs.project_rows[project[0]]["retired"]:
        c.bad("资助项目代码", f"资助项目“{project_text}”已停用，不再接收资助记录")
        project = None
    period = c.aid_period("资助周期")
    if project and period:
        is_year = len(period) == 9
        if project[1] == Cycle.YEAR.value and not is_year:
            c.bad("资助周期", f"项目 {project[0]} 按学年资助，资助周期应为学年（如 2023-2024），不是“{period}”")
        elif project[1] == Cycle.SEMESTER.value and is_year:
            c.bad("资助周期", f"项目 {project[0]} 按学期资助，资助周期应为学期（如 {period}-1），不是“{period}”")
        elif not is_year:
            refs.semesters.add(period)
    amount = c.amount("金额")
    status = c.enum("审核状态", AidStatus, "审核状态")
    return c.result(
        (
            id_number,
            school,
            project and project[0],
            period,
            amount,
            status and status.value,
            school and province_of_school(school),
        )
    )


def _special_group(c: Cells, refs: Refs) -> tuple | None:
    id_number = c.id_number("身份证件号")
    name = c.text("姓名", 50, required=False)
    category = c.enum("特殊群体类型", Category, "特殊群体类型")
    source = c.enum("数据来源", Source, "数据来源")
    period = c.semester("资助周期")
    if period:
        refs.semesters.add(period)
    return c.result((id_number, name, category and category.number, source and source.value, period, ""))


def local_special_groups(region_code: str, period: str) -> Kind:
    """An authority's own self-collected list (自采集, uploaded through the API): the special-group
    template, every row 自采集 of `period`, recorded as collected by `region_code`."""

    def validate(c: Cells, refs: Refs) -> tuple | None:
        id_number = c.id_number("身份证件号")
        name = c.text("姓名", 50, required=False)
        category = c.enum("特殊群体类型", Category, "特殊群体类型")
        source = c.enum("数据来源", Source, "数据来源")
        if source is not None and source != Source.SELF:
            c.bad("数据来源", "主管部门只能上传自采集名单（中央下发名单由国家统一导入）")
        row_period = c.semester("资助周期")
        if row_period and row_period != period:
            c.bad("资助周期", f"资助周期应为 {period}（与上传时选择的一致），不是“{row_period}”")
        return c.result((id_number, name, category and category.number, Source.SELF.value, period, region_code))

    national = KINDS["special-groups"]
    return Kind(
        "special-groups-local",
        "自采集特殊群体名单",
        national.headers,
        national.table,
        national.columns,
        national.keys,
        validate,
        moves=national.moves,
    )


def _legacy_reason(c: Cells, refs: Refs) -> tuple | None:
    id_number = c.id_number("身份证件号")
    name = c.text("姓名", 50, required=False)
    school = c.school("学校标识码", refs.schools)
    stage = c.enum("学段", Stage, "学段")
    period = c.semester("资助周期")
    if period:
        refs.semesters.add(period)
    reason = c.reason("未资助原因", refs.reasons)
    detail = c.text("原因说明", 10_000, required=False)
    if reason == REASON_NEEDS_DETAIL and detail == "":
        c.bad("原因说明", "未资助原因为“99 其他”时须填写原因说明")
    reported_at = c.moment("填报时间")
    project_code = ""
    project_text = c.values["资助项目"]
    if project_text:
        project = refs.projects.get(project_text)
        if project is None:
            c.bad("资助项目", f"未知的资助项目“{project_text}”")
        elif stage and refs.project_rows[project[0]]["stage"] != stage.value:
            c.bad("资助项目", f"资助项目“{project_text}”不属于{stage.label}")
        else:
            project_code = project[0]
    return c.result(
        (
            id_number,
            name,
            school,
            school and province_of_school(school),
            stage and stage.value,
            period,
            reason,
            detail,
            reported_at,
            project_code,
        )
    )


# An aid record (a roster entry among them) has no name in the aid file: it takes the child's name
# from the enrolment at its school, preschool first — after an aid import, and after a students
# import for records imported before their enrolment.
FILL_AID_NAMES = (
    "UPDATE aid_record SET name = (SELECT e.name FROM enrolment e WHERE e.id_number = aid_record.id_number"
    " AND e.school_code = aid_record.school_code AND e.name <> ''"
    " ORDER BY CASE WHEN e.stage = 'PRESCHOOL' THEN 0 ELSE 1 END, e.id LIMIT 1)"
    " WHERE name = '' AND {match} AND EXISTS (SELECT 1 FROM enrolment e"
    " WHERE e.id_number = aid_record.id_number AND e.school_code = aid_record.school_code AND e.name <> '')"
)

# the provinces of the staged rows' schools (a school's region lies in its province, or is the nation)
_SCHOOLS_PROVINCES = "SELECT DISTINCT s.province AS p FROM {staged} s"

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "regions",
            "行政区划",
            ("行政区划代码", "名称", "上级代码"),
            "region",
            ("code", "name", "parent_code", "level"),
            ("code",),
            _region,
            frozenset({"regions"}),
            moves="SELECT DISTINCT substr(s.code, 1, 2) AS p FROM {staged} s",
        ),
        Kind(
            "schools",
            "学校",
            ("学校标识码", "学校名称", "主管区划代码"),
            "school",
            ("code", "name", "region_code", "province"),
            ("code",),
            _school,
            frozenset({"regions"}),
            # the school's province, and the provinces of its region before and after (the nation's
            # schools are seen from the nation only, whose answers every province's version moves)
            moves="SELECT s.province AS p FROM {staged} s UNION SELECT substr(s.region_code, 1, 2) FROM {staged} s"
            " WHERE s.region_code <> '000000' UNION SELECT substr(t.region_code, 1, 2) FROM school t"
            " WHERE t.region_code <> '000000' AND t.code IN (SELECT s.code FROM {staged} s)",
        ),
        Kind(
            "students",
            "学籍",
            ("身份证件号", "姓名", "学校标识码", "学段", "年级", "学籍状态"),
            "enrolment",
            ("id_number", "name", "school_code", "stage", "grade", "status", "province", "class_name"),
            ("id_number", "school_code", "stage"),
            _student,
            frozenset({"schools"}),
            touched=("updated_at",),
            after_merge=(FILL_AID_NAMES.format(match="id_number IN (SELECT s.id_number FROM {staged} s)"),),
            optional=("班级",),
            moves=_SCHOOLS_PROVINCES,
        ),
        Kind(
            "aid",
            "资助记录",
            ("身份证件号", "学校标识码", "资助项目代码", "资助周期", "金额", "审核状态"),
            "aid_record",
            ("id_number", "school_code", "project_code", "period", "amount", "status", "province"),
            ("id_number", "project_code", "period"),
            _aid,
            frozenset({"schools", "projects"}),
            typed={"amount": "numeric(12,2)"},
            insert_only={"name": "''"},
            touched=("updated_at",),
            after_merge=(FILL_AID_NAMES.format(match="id_number IN (SELECT s.id_number FROM {staged} s)"),),
            # a listed student's aid records are shown wherever the student is listed: at the schools
            # of the student's enrolments (a list row is made from one), whatever the aid's school
            moves=_SCHOOLS_PROVINCES + " UNION SELECT e.province FROM enrolment e"
            " WHERE e.id_number IN (SELECT s.id_number FROM {staged} s)",
        ),
        Kind(
            "special-groups",
            "特殊群体名单",
            ("身份证件号", "姓名", "特殊群体类型", "数据来源", "资助周期"),
            "special_group_record",
            ("id_number", "name", "category", "source", "period", "collected_by"),
            ("period", "id_number", "category", "source", "collected_by"),  # '' = loaded nationally
            _special_group,
            moves="",
        ),
        Kind(
            "legacy-reasons",
            "脱贫家庭学生历史未资助原因",
            ("身份证件号", "姓名", "学校标识码", "学段", "资助周期", "未资助原因", "原因说明", "填报时间"),
            "legacy_poverty_reason",
            (
                "id_number",
                "name",
                "school_code",
                "province",
                "stage",
                "period",
                "reason_code",
                "detail",
                "reported_at",
                "project_code",
            ),
            ("period", "stage", "id_number", "school_code", "project_code"),
            _legacy_reason,
            frozenset({"schools", "projects", "reasons"}),
            typed={"reported_at": "timestamptz"},
            optional=("资助项目",),
            moves=_SCHOOLS_PROVINCES,
        ),
    )
}


async def load_refs(kind: Kind) -> Refs:
    """Load the reference sets the kind checks rows against (codes only, once per import)."""
    refs = Refs()
    if "regions" in kind.needs:
        refs.regions = {r["code"] for r in await db.fetch("SELECT code FROM region")}
    if "schools" in kind.needs:
        refs.schools = {r["code"] for r in await db.fetch("SELECT code FROM school")}
    if "projects" in kind.needs:
        for r in await db.fetch("SELECT code, name, cycle, stage, kind, retired FROM aid_project"):
            refs.projects[r["code"]] = refs.projects[r["name"]] = (r["code"], r["cycle"])
            refs.project_rows[r["code"]] = {"stage": r["stage"], "kind": r["kind"], "retired": bool(r["retired"])}
    if "reasons" in kind.needs:
        for r in await db.fetch("SELECT code, label FROM reason_code"):
            refs.reasons[r["code"]] = refs.reasons[r["label"]] = r["code"]
    return refs
