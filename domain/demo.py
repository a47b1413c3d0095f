"""The demo data set (演示数据), loaded through the same import code as real files.

Design notes: docs/design/domain.md."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zizhu.domain import settings
from zizhu.domain.accounts.users import add_user
from zizhu.domain.errors import Conflict
from zizhu.domain.imports import run_import
from zizhu.domain.models import Account, AidRecord, Enrolment, School, SpecialGroupRecord
from zizhu.domain.reference.codes import AidStatus, Category, EnrolmentStatus, Source, Stage
from zizhu.domain.reference.identity import make_id_number

DEFAULT_STUDENTS = 300
SEED = 20231
PERIODS = ("2023-2024-1", "2023-2024-2")
ACADEMIC_YEAR = "2023-2024"
DEMO_PASSWORD = "Zizhu-demo-2024"

# username, password, role, scope code, stages ([] = all)
DEMO_ACCOUNTS: list[tuple[str, str, str, str, list[str]]] = [
    ("kg_op", DEMO_PASSWORD, "SCHOOL_OPERATOR", "1143000101", ["PRESCHOOL"]),
    ("kg_rev", DEMO_PASSWORD, "SCHOOL_REVIEWER", "1143000101", ["PRESCHOOL"]),
    ("school_op", DEMO_PASSWORD, "SCHOOL_OPERATOR", "2143000201", []),
    ("school_rev", DEMO_PASSWORD, "SCHOOL_REVIEWER", "2143000201", []),
    ("univ_op", DEMO_PASSWORD, "SCHOOL_OPERATOR", "4143000601", ["HIGHER", "GRADUATE"]),
    ("county_op", DEMO_PASSWORD, "AUTHORITY_OPERATOR", "430102", []),
    ("city_op", DEMO_PASSWORD, "AUTHORITY_OPERATOR", "430100", []),
    ("province_op", DEMO_PASSWORD, "AUTHORITY_OPERATOR", "430000", []),
    ("province_preschool_op", DEMO_PASSWORD, "AUTHORITY_OPERATOR", "430000", ["PRESCHOOL"]),
    ("admin", DEMO_PASSWORD, "ADMIN", "000000", []),
]

REGIONS = [  # code, name, parent (the nation 000000 is seeded by migrate)
    ("430000", "湖南省", "000000"),
    ("430100", "长沙市", "430000"),
    ("430102", "芙蓉区", "430100"),
    ("430104", "岳麓区", "430100"),
    ("430121", "长沙县", "430100"),
    ("430300", "湘潭市", "430000"),
    ("430302", "雨湖区", "430300"),
    ("430321", "湘潭县", "430300"),
    ("433100", "湘西土家族苗族自治州", "430000"),
    ("433101", "吉首市", "433100"),
    ("433122", "泸溪县", "433100"),
]
COUNTIES = [code for code, _, _ in REGIONS if not code.endswith("00")]

P, C, G, V, H, R = (
    Stage.PRESCHOOL,
    Stage.COMPULSORY,
    Stage.GENERAL_HIGH,
    Stage.VOCATIONAL,
    Stage.HIGHER,
    Stage.GRADUATE,
)
SCHOOLS = [  # code, name, administering region, stages, weight
    ("1143000101", "芙蓉区第一幼儿园", "430102", (P,), 2),
    ("1143000102", "岳麓区阳光幼儿园", "430104", (P,), 2),
    ("1143000103", "吉首市民族幼儿园", "433101", (P,), 1),
    ("2143000201", "芙蓉区实验小学", "430102", (C,), 4),
    ("2143000202", "长沙县星沙第二小学", "430121", (C,), 3),
    ("2143000203", "泸溪县浦市镇中心小学", "433122", (C,), 2),
    ("2143000204", "雨湖区九年一贯制学校（附设幼儿班）", "430302", (C, P), 3),
    ("3443000301", "泸溪县第一中学（完全中学）", "433122", (C, G), 3),
    ("3443000302", "长沙市第一中学", "430100", (G,), 3),
    ("3643000401", "长沙市职业中等专业学校", "430100", (V,), 2),
    ("3643000402", "湘潭县职业中专学校", "430321", (V,), 2),
    ("3643000403", "湖南省工业技师学校", "430000", (V,), 1),
    ("4143000501", "湘中理工大学", "430000", (H, R), 3),
    ("4143000502", "湘西民族职业技术学院", "433100", (H,), 1),
    ("4143000601", "湘麓大学（教育部直属）", "000000", (H, R), 3),
]
# Extra schools generated for --scale: (category prefix, name pattern, stage)
_EXTRA_SCHOOL_TYPES = [
    ("11", "{county}第{n}幼儿园", P),
    ("21", "{county}第{n}小学", C),
    ("21", "{county}第{n}初级中学", C),
    ("34", "{county}第{n}高级中学", G),
]

# stage → (serial block for unique IDs, birth range start, days in range, grades)
_STAGE_BIRTHS = {
    P: (0, dt.date(2018, 1, 1), 1000, ["小班", "中班", "大班"]),
    C: (
        1,
        dt.date(2008, 9, 1),
        3280,
        ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级"],
    ),
    G: (2, dt.date(2005, 9, 1), 1450, ["高一", "高二", "高三"]),
    V: (3, dt.date(2005, 9, 1), 1450, ["一年级", "二年级", "三年级"]),
    H: (4, dt.date(2000, 9, 1), 1800, ["2020级", "2021级", "2022级", "2023级"]),
    R: (5, dt.date(1994, 9, 1), 2500, ["2021级", "2022级", "2023级"]),
}
_SERIALS_PER_BLOCK = 150  # 6 stage blocks × 150 = serials 000–899; 900–999 are people not enrolled

# stage → [(project, amount per period, kind of pick)]: first is the poverty-relief project
_PROJECTS = {
    P: [("PRE_GOV", "500.00")],
    C: [("CMP_LIVING", "625.00"), ("CMP_NUTRITION", "400.00")],
    G: [("GH_GRANT", "1000.00"), ("GH_FEE_WAIVER", "850.00")],
    V: [("VOC_GRANT", "1000.00"), ("VOC_FREE_TUITION", "1200.00")],
    H: [("HE_GRANT", "3300.00"), ("HE_NATIONAL_SCHOLARSHIP", "10000.00")],
    R: [("GR_GRANT", "6000.00"), ("GR_NATIONAL_SCHOLARSHIP", "20000.00")],
}
_YEAR_PROJECTS = {"HE_GRANT", "HE_NATIONAL_SCHOLARSHIP", "GR_GRANT", "GR_NATIONAL_SCHOLARSHIP"}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱覃向"
_GIVEN = "子涵欣怡梓轩浩宇思雨一诺佳怡雨萱俊杰宇航诗琪雅静博文嘉怡晨曦天佑明轩若曦志强建华秀英丽娟海燕春梅文斌国庆红霞小龙湘怡沅芷楚乔"
_REASON_DETAILS = ["家庭已迁居外省，由就读地资助", "监护人长期外出务工，未能联系确认", "已享受民政部门专项救助"]


def chinese_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))


def person_id(region: str, birth: dt.date, serial: int) -> str:
    return make_id_number(f"{region}{birth:%Y%m%d}{serial:03d}")


def student_id(stage: Stage, index: int) -> str:
    """The index-th student of a stage: distinct for every (stage, index) up to a few million."""
    block, start, days, _ = _STAGE_BIRTHS[stage]
    d, serial = divmod(index, _SERIALS_PER_BLOCK)
    region = COUNTIES[d % len(COUNTIES)]
    birth = start + dt.timedelta(days=(d // len(COUNTIES)) % days)
    return person_id(region, birth, block * _SERIALS_PER_BLOCK + serial)


def outsider_id(index: int) -> str:
    """A special-group member enrolled nowhere (serials 900–999 are never given to students)."""
    d, serial = divmod(index, 100)
    birth = dt.date(2003, 1, 1) + dt.timedelta(days=(d // len(COUNTIES)) % 5000)
    return person_id(COUNTIES[d % len(COUNTIES)], birth, 900 + serial)


@dataclass
class _Writers:
    """One CSV writer per import kind (UTF-8 with BOM, as exported from Excel)."""

    directory: Path

    def __post_init__(self) -> None:
        from zizhu.domain.imports.kinds import KINDS

        self.paths = {k: self.directory / f"{k}.csv" for k in KINDS}
        self._files = {k: p.open("w", encoding="utf-8-sig", newline="") for k, p in self.paths.items()}
        self.w = {k: csv.writer(f) for k, f in self._files.items()}
        for k, spec in KINDS.items():
            self.w[k].writerow(spec.headers)

    def close(self) -> None:
        for f in self._files.values():
            f.close()


def _schools(students: int) -> list[tuple[str, str, str, tuple[Stage, ...], int]]:
    schools = list(SCHOOLS)
    names = dict((c, n) for c, n, _ in REGIONS)
    for n in range(max(0, students // 1000 - len(SCHOOLS))):  # about 1,000 students per school at scale
        prefix, pattern, stage = _EXTRA_SCHOOL_TYPES[n % len(_EXTRA_SCHOOL_TYPES)]
        county = COUNTIES[n % len(COUNTIES)]
        schools.append(
            (f"{prefix}43{100000 + n:06d}", pattern.format(county=names[county], n=n + 1), county, (stage,), 3)
        )
    return schools


def _write_students_and_records(w: _Writers, students: int, rng: random.Random) -> None:
    schools = _schools(students)
    for code, name, region, _, _ in schools:
        w.w["schools"].writerow([code, name, region])
    cum_weights = list(itertools.accumulate(s[4] for s in schools))
    stage_count = {s: 0 for s in Stage}
    members = aided = 0
    forced_merit: set[Stage] = set()
    statuses = [s.label for s in EnrolmentStatus]
    aid_statuses = list(AidStatus)
    for _i in range(students):
        school = rng.choices(schools, cum_weights=cum_weights)[0]
        stage = rng.choice(school[3])
        id_number = student_id(stage, stage_count[stage])
        stage_count[stage] += 1
        name = chinese_name(rng)
        status = statuses[0] if rng.random() < 0.88 else rng.choice(statuses[1:])
        w.w["students"].writerow([id_number, name, school[0], stage.label, rng.choice(_STAGE_BIRTHS[stage][3]), status])
        # Aid: ~2/3 of students; the first records cover every status, merit projects appear.
        funded: set[str] = set()
        if rng.random() < 2 / 3:
            projects = _PROJECTS[stage]
            picks = [projects[0]] if rng.random() < 0.8 or len(projects) == 1 else [projects[1]]
            if len(projects) > 1 and stage in (H, R) and stage not in forced_merit:
                picks.append(projects[1])
                forced_merit.add(stage)
            for project, amount in picks:
                periods = [ACADEMIC_YEAR] if project in _YEAR_PROJECTS else [p for p in PERIODS if rng.random() < 0.8]
                for period in periods:
                    st = (
                        aid_statuses[aided]
                        if aided < len(aid_statuses)
                        else (AidStatus.APPROVED if rng.random() < 0.75 else rng.choice(aid_statuses))
                    )
                    aided += 1
                    shown = id_number.lower() if aided % 7 == 0 else id_number
                    w.w["aid"].writerow([shown, school[0], project, period, amount, st.label])
                    if st == AidStatus.APPROVED and project == projects[0][0]:
                        funded.update(PERIODS if period == ACADEMIC_YEAR else (period,))
        # Special groups: ~1/3 of students; the first 26 members cover every (category, source).
        if rng.random() < 1 / 3:
            _write_member(w, rng, members, id_number, name, school[0], stage, funded)
            members += 1
    for j in range(max(1, students // 30)):  # members enrolled nowhere
        _write_member(w, rng, members, outsider_id(j), chinese_name(rng), None, None, set())
        members += 1


def _write_member(
    w: _Writers,
    rng: random.Random,
    m: int,
    id_number: str,
    name: str,
    school: str | None,
    stage: Stage | None,
    funded: set[str],
) -> None:
    categories = list(Category)
    pairs: set[tuple[Category, Source]] = set()
    if m < 2 * len(categories):
        pairs.add((categories[m % len(categories)], (Source.CENTRAL, Source.SELF)[m // len(categories)]))
    chosen = set(rng.sample(categories, rng.choices((1, 2, 3), (70, 25, 5))[0]))
    if rng.random() < 0.35:  # 脱贫家庭学生 is by far the largest group
        chosen.add(Category.POVERTY_ALLEVIATED)
    for cat in sorted(chosen):
        roll = rng.random()
        for src in (
            (Source.CENTRAL,) if roll < 0.5 else (Source.SELF,) if roll < 0.85 else (Source.CENTRAL, Source.SELF)
        ):
            pairs.add((cat, src))
    roll = rng.random()
    periods = PERIODS if roll < 0.7 else PERIODS[:1] if roll < 0.85 else PERIODS[1:]
    for period in periods:
        for cat, src in sorted(pairs):
            w.w["special-groups"].writerow([id_number, name, cat.label if m % 5 else cat.number, src.label, period])
    poverty = any(cat == Category.POVERTY_ALLEVIATED for cat, _ in pairs)
    if school and stage and poverty and PERIODS[0] in periods and PERIODS[0] not in funded and rng.random() < 0.8:
        reason = rng.choice(["01", "02", "04", "06", "09", "99"])
        detail = rng.choice(_REASON_DETAILS) if reason == "99" else ""
        at = dt.datetime(2024, 1, 10, 9, 0) + dt.timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
        w.w["legacy-reasons"].writerow(
            [id_number, name, school, stage.label, PERIODS[0], reason, detail, at.strftime("%Y-%m-%d %H:%M:%S")]
        )


def write_demo_files(directory: Path, students: int = DEFAULT_STUDENTS, seed: int = SEED) -> dict[str, Path]:
    """Write the demo CSV files (one per import kind) and return their paths."""
    rng = random.Random(seed)
    w = _Writers(directory)
    try:
        for code, name, parent in REGIONS:
            w.w["regions"].writerow([code, name, parent])
        _write_students_and_records(w, students, rng)
    finally:
        w.close()
    return w.paths


IMPORT_ORDER = ("regions", "schools", "students", "aid", "special-groups", "legacy-reasons")
_SUMMARY_LABELS = {
    "regions": "行政区划",
    "schools": "学校",
    "students": "学籍",
    "aid": "资助记录",
    "special-groups": "特殊群体名单",
    "legacy-reasons": "历史未资助原因",
}


async def refusal(force: bool = False) -> str | None:
    """Why the demo must not be loaded here (None: it may): only into an empty development
    database, unless forced."""
    if force:
        return None
    environment = settings.load().environment
    if environment != "development":
        return f"当前环境为 {environment}，演示数据只能载入开发环境（ZIZHU_ENV=development）；确需载入请加 --force"
    for model in (Account, School, Enrolment, AidRecord, SpecialGroupRecord):
        if await model.exists():
            return "数据库中已有数据，演示数据只能载入空数据库；确需载入请加 --force（已有账号不会被改动）"
    return None


async def _create_missing_accounts() -> None:
    """The demo accounts that do not exist yet; an existing account of the same name is never
    touched (not re-enabled, password unchanged)."""
    existing = set(await Account.filter(username__in=[a[0] for a in DEMO_ACCOUNTS]).values_list("username", flat=True))
    for username, password, role, scope, stages in DEMO_ACCOUNTS:
        if username not in existing:
            await add_user(username, password, role, scope, stages, actor="demo")


async def load_demo(
    scale: int | None = None, progress: Callable[[int, str], None] | None = None, force: bool = False
) -> dict[str, int]:
    """Generate and import the demo files, then create the missing demo accounts. Idempotent.

    Refuses (CONFLICT) a database that has data or is not a development one, unless `force`."""
    reason = await refusal(force)
    if reason:
        raise Conflict(reason)
    summary: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="zizhu-demo-") as tmp:
        paths = write_demo_files(Path(tmp), scale or DEFAULT_STUDENTS)
        for kind in IMPORT_ORDER:
            result = await run_import(kind, paths[kind], actor="demo", progress=progress)
            summary[_SUMMARY_LABELS[kind]] = result.rows
    await _create_missing_accounts()
    summary["账号"] = len(DEMO_ACCOUNTS)
    summary.update(await _prepare_views())
    return summary


async def _prepare_views() -> dict[str, int]:
    """So every page has something to show: carry the legacy reasons over, compare both demo
    periods, and open the three preschool roster windows of the autumn semester (entry, school review,
    authority review) for the next 31 days."""
    from zizhu.domain.accounts.scopes import Viewer
    from zizhu.domain.comparison.engine import run_comparison_now
    from zizhu.domain.models import UnfundedReason
    from zizhu.domain.reasons.carryover import carry_over_legacy_reasons
    from zizhu.domain.reference.codes import PRESCHOOL_PROJECT, Role, WindowAction
    from zizhu.domain.roster.windows import set_window
    from zizhu.domain.settings import SHANGHAI

    await carry_over_legacy_reasons(actor="demo")
    inherited = await UnfundedReason.filter(inherited=True).count()
    unfunded = 0
    for period in PERIODS:
        run = await run_comparison_now(period, trigger="CLI", requested_by="demo")
        unfunded += run.unfunded
    admin = Viewer("demo", Role.ADMIN, "000000")
    today = dt.datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    for action in WindowAction:
        await set_window(admin, PERIODS[0], PRESCHOOL_PROJECT, action, today, today + dt.timedelta(days=31))
    return {"继承原因": inherited, "未资助学生": unfunded}
