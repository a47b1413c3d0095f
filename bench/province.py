"""A province-shaped data set for the read-path benchmark (省级规模测试数据), loaded through the
project's own importer.

At `scale` 1.0: one province (43, 湖南省), its 14 cities and 110 counties, 20,000 schools of all
six stages (most under counties; some directly under a city or the province: their own level,
本级), about 1M enrolments, 690k aid records (every status; poverty-relief, merit and other
projects; semester and year cycles), 400k special-group records of period 2023-2024-1 (both
sources, all 13 categories), and 16k legacy poverty-family reasons of that period, so that about
92k students end up unfunded. The region tree keeps its full shape at every scale (it is what a
nested rollup walks); schools and people scale. Everything comes from one seed.

`build` writes the six CSV files, imports them with `run_import` (COPY on PostgreSQL), adds another,
small province (`build_small_province`), runs the comparison and the carry-over, and creates the
three accounts the benchmark signs in with, and school accounts for the reporting season's writers
(four schools of the measured province, the small province's schools).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from zizhu.domain import db
from zizhu.domain.accounts.users import add_user
from zizhu.domain.comparison.engine import run_comparison_now
from zizhu.domain.comparison.steps import list_rows_of
from zizhu.domain.demo import IMPORT_ORDER, chinese_name
from zizhu.domain.imports import run_import
from zizhu.domain.imports.kinds import KINDS
from zizhu.domain.reasons.carryover import CARRY_OVER_PERIOD, carry_over_legacy_reasons
from zizhu.domain.reference.codes import AidStatus, Category, EnrolmentStatus, Source, Stage
from zizhu.domain.reference.identity import make_id_number

PERIOD = CARRY_OVER_PERIOD  # 2023-2024-1: the special-group period and the carried-over reasons
YEAR, NEXT_TERM = "2023-2024", "2023-2024-2"
SEED = 2024_11
PASSWORD = "Bench-read-2024"
PROVINCE = ("430000", "湖南省")
CITIES = [
    ("430100", "长沙市"),
    ("430200", "株洲市"),
    ("430300", "湘潭市"),
    ("430400", "衡阳市"),
    ("430500", "邵阳市"),
    ("430600", "岳阳市"),
    ("430700", "常德市"),
    ("430800", "张家界市"),
    ("430900", "益阳市"),
    ("431000", "郴州市"),
    ("431100", "永州市"),
    ("431200", "怀化市"),
    ("431300", "娄底市"),
    ("433100", "湘西土家族苗族自治州"),
]
COUNTIES_PER_CITY = [8] * 12 + [7] * 2  # 110 counties

FULL = {"schools": 20_000, "enrolments": 1_000_000}
P_MEMBER = 0.23  # share of students named by a special-group list
P_FUNDED = 0.578  # share of matched special-group students with approved relief aid
P_AID = 0.52  # share of the other students with some aid record

P, C, G, V, H, R = (
    Stage.PRESCHOOL,
    Stage.COMPULSORY,
    Stage.GENERAL_HIGH,
    Stage.VOCATIONAL,
    Stage.HIGHER,
    Stage.GRADUATE,
)
# school type: (category digits, name, stages, size weight, where: county / city / province level)
SCHOOL_TYPES = [
    ("11", "幼儿园", (P,), 1.0, 40),
    ("21", "小学", (C,), 1.6, 30),
    ("31", "初级中学", (C,), 1.6, 12),
    ("21", "九年一贯制学校", (C, P), 2.0, 5),
    ("34", "完全中学", (C, G), 3.0, 4),
    ("34", "高级中学", (G,), 3.0, 4),
    ("36", "职业中专", (V,), 3.0, 3),
    ("41", "职业技术学院", (H,), 8.0, 1.5),
    ("41", "大学", (H, R), 10.0, 0.5),
]
UPPER_LEVEL_TYPES = {"city": [4, 5, 6, 7], "province": [6, 7, 8]}  # indexes into SCHOOL_TYPES
BIRTH_BASE = {
    P: dt.date(2019, 1, 1),
    C: dt.date(2012, 1, 1),
    G: dt.date(2007, 3, 1),
    V: dt.date(2007, 6, 1),
    H: dt.date(2003, 1, 1),
    R: dt.date(1998, 1, 1),
}
OUTSIDER_BASE = dt.date(1990, 1, 1)  # special-group members enrolled nowhere
# stage → (poverty-relief projects, other projects that never fund, year cycle?)
PROJECTS = {
    P: (["PRE_GOV"], [], False),
    C: (["CMP_LIVING"], ["CMP_NUTRITION"], False),
    G: (["GH_GRANT", "GH_FEE_WAIVER"], [], False),
    V: (["VOC_GRANT", "VOC_FREE_TUITION"], [], False),
    H: (["HE_GRANT"], ["HE_NATIONAL_SCHOLARSHIP"], True),
    R: (["GR_GRANT"], ["GR_NATIONAL_SCHOLARSHIP"], True),
}
NOT_APPROVED = [s for s in AidStatus if s != AidStatus.APPROVED]
OTHER_STATUSES = [s for s in EnrolmentStatus if s != EnrolmentStatus.ENROLLED]
REASONS = ["01", "02", "04", "06", "09", "99"]


@dataclass
class School:
    code: str
    name: str
    region: str
    stages: tuple[Stage, ...]
    size: int


@dataclass
class Province:
    """What was generated: counts per file, and where the benchmark's accounts point."""

    counts: dict[str, int] = field(default_factory=dict)
    county: str = ""  # the county with the most schools
    county_schools: int = 0
    school: str = ""  # the school with the most unfunded students
    accounts: dict[str, str] = field(default_factory=dict)  # role in the bench → username
    run: dict[str, int] = field(default_factory=dict)
    inherited: int = 0
    # the reporting season's writers: role → [(username, stage, ID number), …] of unfunded students
    writers: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)


def regions() -> tuple[list[tuple[str, str, str]], list[str]]:
    """(code, name, parent) of the province, its cities and counties; and the county codes."""
    rows = [(PROVINCE[0], PROVINCE[1], "000000")]
    counties = []
    for (code, name), n in zip(CITIES, COUNTIES_PER_CITY):
        rows.append((code, name, PROVINCE[0]))
        for k in range(1, n + 1):
            county = f"{code[:4]}{k:02d}"
            rows.append((county, f"{name}第{k}区县", code))
            counties.append(county)
    return rows, counties


def schools(scale: float, counties: list[str], rng: random.Random) -> list[School]:
    """Schools with their region and size; counties get uneven numbers of schools."""
    n = max(30, round(FULL["schools"] * scale))
    county_weights = [1 + (i * 7) % 11 for i in range(len(counties))]
    county_types = [t[4] for t in SCHOOL_TYPES]
    placed = []
    for j in range(n):
        roll = rng.random()
        if roll < 0.01:
            level, region = "province", PROVINCE[0]
        elif roll < 0.06:
            level, region = "city", rng.choice(CITIES)[0]
        else:
            level, region = "county", rng.choices(counties, county_weights)[0]
        if level == "county":
            t = rng.choices(range(len(SCHOOL_TYPES)), county_types)[0]
        else:
            t = rng.choice(UPPER_LEVEL_TYPES[level])
        placed.append((j, region, t))
    total_weight = sum(SCHOOL_TYPES[t][3] for _, _, t in placed)
    per_weight = max(1.0, FULL["enrolments"] * scale) / total_weight
    out = []
    for j, region, t in placed:
        digits, name, stages, weight, _ = SCHOOL_TYPES[t]
        out.append(
            School(
                f"{digits}43{j:06d}",
                f"{region}第{j + 1}{name}",
                region,
                stages,
                max(1, round(weight * per_weight * rng.uniform(0.5, 1.5))),
            )
        )
    return out


def person_id(i: int, base: dt.date, counties: list[str]) -> str:
    """The i-th person's ID number: distinct for every i (county, birth day, serial), born near `base`."""
    d = i // len(counties)
    birth = base + dt.timedelta(days=d // 1000)
    return make_id_number(f"{counties[i % len(counties)]}{birth:%Y%m%d}{d % 1000:03d}")


class _Files:
    """One CSV writer per import kind, headers first."""

    def __init__(self, directory: Path) -> None:
        self.paths = {k: directory / f"{k}.csv" for k in IMPORT_ORDER}
        self._files = {k: p.open("w", encoding="utf-8", newline="") for k, p in self.paths.items()}
        self.w = {k: csv.writer(f) for k, f in self._files.items()}
        self.counts = {k: 0 for k in IMPORT_ORDER}
        for k in IMPORT_ORDER:
            self.w[k].writerow(KINDS[k].headers)

    def row(self, kind: str, values: list) -> None:
        self.w[kind].writerow(values)
        self.counts[kind] += 1

    def close(self) -> None:
        for f in self._files.values():
            f.close()


def _aid_period(stage: Stage, period: str = PERIOD) -> str:
    return YEAR if PROJECTS[stage][2] else period


def _aid(f: _Files, rng: random.Random, id_number: str, school: str, stage: Stage, member: bool, funded: bool) -> None:
    """A student's aid records (one per project and period)."""
    relief, other, year = PROJECTS[stage]
    records: dict[tuple[str, str], AidStatus] = {}
    if funded:
        records[(rng.choice(relief), _aid_period(stage))] = AidStatus.APPROVED
    elif member:
        if rng.random() < 0.6:  # a near miss: not approved, next term's aid, or a project that never funds
            roll = rng.random()
            if roll < 0.5 or (not other and year):
                records[(relief[0], _aid_period(stage))] = rng.choice(NOT_APPROVED)
            elif other and (roll < 0.8 or year):
                records[(other[0], _aid_period(stage))] = AidStatus.APPROVED
            else:
                records[(relief[0], NEXT_TERM)] = AidStatus.APPROVED
    elif rng.random() < P_AID:
        status = AidStatus.APPROVED if rng.random() < 0.75 else rng.choice(NOT_APPROVED)
        records[(rng.choice(relief), _aid_period(stage))] = status
    if records and not year and rng.random() < 0.15:
        records.setdefault((relief[0], NEXT_TERM), AidStatus.APPROVED)
    if records and other and rng.random() < 0.1:
        records.setdefault((other[0], _aid_period(stage)), AidStatus.APPROVED)
    for (project, period), status in records.items():
        f.row("aid", [id_number, school, project, period, "1000.00", status.label])


def _member(f: _Files, rng: random.Random, id_number: str, name: str) -> bool:
    """Special-group records of one person; True when 脱贫家庭学生 is among their categories."""
    categories = list(Category)
    chosen = set(rng.sample(categories, rng.choices((1, 2, 3), (80, 17, 3))[0]))
    if rng.random() < 0.35:
        chosen.add(Category.POVERTY_ALLEVIATED)
    for category in sorted(chosen):
        roll = rng.random()
        sources = (Source.CENTRAL,) if roll < 0.55 else (Source.SELF,) if roll < 0.9 else (Source.CENTRAL, Source.SELF)
        for source in sources:
            f.row("special-groups", [id_number, name, category.label, source.label, PERIOD])
    return Category.POVERTY_ALLEVIATED in chosen


def write_files(
    directory: Path, scale: float, seed: int = SEED
) -> tuple[dict[str, Path], dict[str, int], list[School]]:
    """Write the six CSV files; returns their paths, row counts and the schools."""
    rng = random.Random(seed)
    region_rows, counties = regions()
    school_list = schools(scale, counties, rng)
    f = _Files(directory)
    try:
        for row in region_rows:
            f.row("regions", list(row))
        for s in school_list:
            f.row("schools", [s.code, s.name, s.region])
        i = 0
        for s in school_list:
            for _ in range(s.size):
                stage = rng.choice(s.stages)
                id_number, name = person_id(i, BIRTH_BASE[stage], counties), chinese_name(rng)
                i += 1
                enrolled = rng.random() < 0.95
                status = EnrolmentStatus.ENROLLED if enrolled else rng.choice(OTHER_STATUSES)
                f.row("students", [id_number, name, s.code, stage.label, "", status.label])
                member = rng.random() < P_MEMBER
                funded = member and rng.random() < P_FUNDED
                poverty = member and _member(f, rng, id_number, name)
                _aid(f, rng, id_number, s.code, stage, member, funded)
                if poverty and rng.random() < (0.03 if funded else 0.35):
                    reason = rng.choice(REASONS)
                    f.row(
                        "legacy-reasons",
                        [
                            id_number,
                            name,
                            s.code,
                            stage.label,
                            PERIOD,
                            reason,
                            "家庭已迁居外省，由就读地资助" if reason == "99" else "",
                            f"2024-01-{10 + i % 15:02d} 09:{i % 60:02d}:00",
                        ],
                    )
        for j in range(max(1, i // 100)):  # members enrolled nowhere (unmatched)
            _member(f, rng, person_id(j, OUTSIDER_BASE, counties), chinese_name(rng))
    finally:
        f.close()
    return f.paths, f.counts, school_list


def _progress(done: int, label: str, total: int | None = None) -> None:
    print(f"\r  {label} {done:,}", end="", file=sys.stderr, flush=True)


async def _most_unfunded_school(run_id: int) -> str:
    rows = await db.fetch(
        f"""SELECT t.school_code, COUNT(*) AS n FROM unfunded_result t WHERE {list_rows_of('t', run_id, PERIOD)}
               AND substr(t.school_code, 3, 2) = '{PROVINCE[0][:2]}'
             GROUP BY t.school_code ORDER BY n DESC, t.school_code LIMIT 1"""
    )
    return rows[0]["school_code"]


SMALL_PROVINCE = ("440000", "广东省", "440100", "广州市", "440103", "荔湾区")
SMALL_SCHOOLS = 4
SMALL_STUDENTS = 60  # per school, every one a special-group member with no aid: all unfunded


async def build_small_province() -> None:
    """Another, small province (广东省: one city, one county, a few primary schools of unfunded
    members) whose schools report during the second reporting-season phase."""
    from zizhu.domain.models import Enrolment, Region, School, SpecialGroupRecord

    province, pname, city, cname, county, coname = SMALL_PROVINCE
    for code, name, parent, level in (
        (province, pname, "000000", "PROVINCE"),
        (city, cname, province, "CITY"),
        (county, coname, city, "COUNTY"),
    ):
        await Region.get_or_create(code=code, defaults={"name": name, "parent_code": parent, "level": level})
    enrolments, records = [], []
    for k in range(SMALL_SCHOOLS):
        code = f"2144{k:06d}"
        await School.create(code=code, name=f"{coname}第{k + 1}小学", region_code=county, province="44")
        for j in range(SMALL_STUDENTS):
            id_number = make_id_number(f"{county}20150101{k * SMALL_STUDENTS + j:03d}")
            enrolments.append(
                Enrolment(
                    id_number=id_number,
                    name="学生",
                    school_code=code,
                    stage="COMPULSORY",
                    status="ENROLLED",
                    province="44",
                )
            )
            records.append(
                SpecialGroupRecord(
                    id_number=id_number, name="学生", category=f"{1 + j % 13:02d}", source="CENTRAL", period=PERIOD
                )
            )
    await Enrolment.bulk_create(enrolments)
    await SpecialGroupRecord.bulk_create(records)


async def _writers(run_id: int, province: str, schools: int, prefix: str) -> list[tuple[str, str, str]]:
    """An account for each of the `schools` schools of `province` with the most unfunded students,
    and those students: (username, stage, ID number), interleaved across the schools."""
    tops = await db.fetch(
        f"""SELECT t.school_code, COUNT(*) AS n FROM unfunded_result t WHERE {list_rows_of('t', run_id, PERIOD)}
               AND substr(t.school_code, 3, 2) = :province
             GROUP BY t.school_code ORDER BY n DESC, t.school_code LIMIT {int(schools)}""",
        {"province": province},
    )
    per_school = []
    for k, top in enumerate(tops):
        username = f"{prefix}_{k + 1}"
        await add_user(username, PASSWORD, "SCHOOL_OPERATOR", top["school_code"], [], actor="bench")
        rows = await db.fetch(
            f"""SELECT t.stage, t.id_number FROM unfunded_result t WHERE {list_rows_of('t', run_id, PERIOD)}
                   AND t.school_code = :school ORDER BY t.id_number LIMIT 200""",
            {"school": top["school_code"]},
        )
        per_school.append([(username, r["stage"], r["id_number"]) for r in rows])
    mixed = []
    for i in range(max((len(p) for p in per_school), default=0)):
        mixed += [p[i] for p in per_school if i < len(p)]
    return mixed


async def build(scale: float) -> Province:
    """Generate, import, compare, carry over, and create the accounts (database already open)."""
    out = Province()
    with tempfile.TemporaryDirectory(prefix="zizhu-read-path-") as tmp:
        paths, out.counts, school_list = write_files(Path(tmp), scale)
        for kind in IMPORT_ORDER:
            await run_import(kind, paths[kind], actor="bench", progress=_progress)
        print(file=sys.stderr)
    await build_small_province()
    run = await run_comparison_now(PERIOD, trigger="CLI", requested_by="bench")
    if run.status != "SUCCEEDED":
        raise RuntimeError(f"comparison run {run.id} {run.status}: {run.error}")
    out.run = {
        "id": run.id,
        "members": run.members,
        "matched": run.matched,
        "funded": run.funded,
        "unfunded": run.unfunded,
    }
    out.inherited = await carry_over_legacy_reasons(actor="bench")
    per_county: dict[str, int] = {}
    for s in school_list:
        if s.region[4:] != "00":
            per_county[s.region] = per_county.get(s.region, 0) + 1
    out.county, out.county_schools = max(sorted(per_county.items()), key=lambda kv: kv[1])
    out.school = await _most_unfunded_school(run.id)
    for role, username, account_role, scope in (
        ("province", "bench_province", "AUTHORITY_OPERATOR", PROVINCE[0]),
        ("county", "bench_county", "AUTHORITY_OPERATOR", out.county),
        ("school", "bench_school", "SCHOOL_OPERATOR", out.school),
    ):
        await add_user(username, PASSWORD, account_role, scope, [], actor="bench")
        out.accounts[role] = username
    out.writers = {
        "measured": await _writers(run.id, PROVINCE[0][:2], 4, "bench_writer"),
        "small": await _writers(run.id, SMALL_PROVINCE[0][:2], SMALL_SCHOOLS, "bench_small"),
    }
    return out
