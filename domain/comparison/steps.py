"""The set-based steps of a comparison run (比对步骤) — all inside the run's transaction.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.comparison import members as comparison_members
from zizhu.domain.models import ComparisonRun
from zizhu.domain.models.comparison import STAT_CATEGORIES, STAT_SOURCES
from zizhu.domain.reference.periods import parse_semester

LIST_KEY = ("id_number", "school_code", "stage", "project")
# (unfunded_result column, working-table column) of a list row's values
LIST_VALUES = (
    ("name", "name"),
    ("region_code", "region_code"),
    ("province", "province"),
    ("central_mask", "cm"),
    ("self_mask", "sm"),
)


class Work:
    """The working tables of one run: `dirty`, `state_before`, `listed_before`, `aid` (`incremental`),
    `member`, `matched`, `unmatched`, `duplicate`, `not_chosen`, `modules`, `unfunded`, `diff`,
    `left_funded`, `stat_all`, `stat_unfunded` (names end in the run id, so concurrent runs never
    meet), and
    the number of rows each got (PostgreSQL reports it with CREATE TABLE AS)."""

    TABLES = (
        "dirty",
        "state_before",
        "listed_before",
        "aid",
        "member",
        "matched",
        "unmatched",
        "duplicate",
        "not_chosen",
        "modules",
        "unfunded",
        "diff",
        "left_funded",
        "stat_all",
        "stat_unfunded",
    )
    dirty: str
    state_before: str
    listed_before: str
    aid: str
    member: str
    matched: str
    unmatched: str
    duplicate: str
    not_chosen: str
    modules: str
    unfunded: str
    diff: str
    left_funded: str
    stat_all: str
    stat_unfunded: str

    def __init__(self, tx, run_id: int, pg: bool):
        self.tx, self.pg = tx, pg
        for table in self.TABLES:
            setattr(self, table, f"cmp_{table}_{int(run_id)}")
        self.members_table = self.member  # or the period's kept members table
        self.rows: dict[str, int] = {}

    async def prepare(self, run: ComparisonRun) -> None:
        """Session settings for this transaction, and the chain's lock: two runs of one (period,
        province) at once would both close and add list rows, so the second waits for the first
        (on SQLite the database's single writer does the same)."""
        if self.pg:
            # each statement sees what committed before it (a server default may say otherwise)
            await db.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", client=self.tx)
            await self.tune()
            key = comparison_members.lock_key(f"{run.period}/{run.province}")
            await db.fetch("SELECT pg_advisory_xact_lock(:key)", {"key": key}, client=self.tx)
        await self.drop()

    async def tune(self) -> None:
        """PostgreSQL: room for the hashes, parallel plans even for mid-size runs."""
        for setting in (
            "work_mem = '256MB'",
            "jit = off",
            "parallel_setup_cost = 0",
            "parallel_tuple_cost = 0",
            "default_statistics_target = 10",
        ):
            await db.execute(f"SET LOCAL {setting}", client=self.tx)

    async def create(self, table: str, select: str, params: dict | None = None, analyze: bool = True) -> int:
        """CREATE TABLE … AS, then ANALYZE if the table is joined later: nothing else analyses a
        table only this transaction can see, and without statistics the planner once chose a
        nested loop over a 150k-row table for 800 changed rows (10 s instead of 0.2). A sample
        of 3,000 rows is enough. Returns the row count (PostgreSQL; -1 on SQLite)."""
        kind = "UNLOGGED" if self.pg else "TEMP"
        rows = await db.execute(f"CREATE {kind} TABLE {table} AS {select}", params or {}, client=self.tx)
        if self.pg:
            self.rows[table] = rows
            if analyze:
                await db.execute(f"ANALYZE {table}", client=self.tx)
        return rows if self.pg else -1

    async def drop(self) -> None:
        for table in self.TABLES:
            await db.execute(f"DROP TABLE IF EXISTS {getattr(self, table)}", client=self.tx)


# --- (category, source) cells, shared with the statistics reader ------------------------------
def counted(number: str, source: str, cm: str = "cm", sm: str = "sm") -> str:
    """SQL 0/1: does a row with masks (cm, sm) count in column (number, source)? Category '00'
    is any category, source 'all' either source naming the category, 'central'/'self' that one."""
    mask = {"all": f"({cm} | {sm})", "central": cm, "self": sm}[source]
    if number == "00":
        return f"(CASE WHEN {mask} <> 0 THEN 1 ELSE 0 END)"
    return f"(({mask} >> {int(number) - 1}) & 1)"


def stat_columns(kind: str) -> list[tuple[str, str, str]]:
    """(column, category number, source) of the wide statistics row, e.g. members_05_self."""
    return [(f"{kind}_{c}_{s}", c, s) for c in STAT_CATEGORIES for s in STAT_SOURCES]


def list_rows_of(alias: str, run_id: int, period: str, scope: str = "", project: str | None = "") -> str:
    """SQL condition: the rows of `alias` (unfunded_result) that make up run `run_id`'s list:
    the stage-wide list by default, project `project`'s module when given, both with None.
    Values are inlined after validation (an int, a period code, '' or a 2-digit province, a
    catalogue code)."""
    code = parse_semester(period).code
    if scope and not (len(scope) == 2 and scope.isdigit()):
        raise ValueError(f"not a province code: {scope!r}")
    run = int(run_id)
    condition = (
        f"({alias}.period = '{code}' AND {alias}.scope = '{scope}' AND {alias}.valid_from_run <= {run}"
        f" AND ({alias}.valid_until_run IS NULL OR {alias}.valid_until_run > {run})"
    )
    if project is not None:
        condition += f" AND {alias}.project = '{project_code_literal(project)}'"
    return condition + ")"


def project_code_literal(project: str) -> str:
    """A project code checked to be safe to inline ('' or upper-case letters, digits, '_')."""
    if project and not (len(project) <= 40 and project.replace("_", "").isalnum() and project.isascii()):
        raise ValueError(f"not a project code: {project!r}")
    return project


# The project modules (项目模块): every active RELIEF project of a stage with several of them.
MODULE_PROJECTS = """SELECT code AS project, stage FROM aid_project
                      WHERE kind = 'RELIEF' AND retired = FALSE AND stage IN (
                            SELECT stage FROM aid_project WHERE kind = 'RELIEF' AND retired = FALSE
                             GROUP BY stage HAVING COUNT(*) > 1)"""


# --- the steps ---------------------------------------------------------------------------------
def _member_select(pg: bool, only: str | None = None) -> str:
    """One OR of bits per student: category k of source CENTRAL is bit k-1, of SELF bit 13+k-1;
    the two masks are split off afterwards (one aggregate per record instead of two). Each
    student also gets a number, member_no, for counting them cheaply later, and the name their
    records give (for the unmatched list). `only`: a table of ID numbers to group, instead of every
    student."""
    bit = "(1 << (CAST(s.category AS INTEGER) - 1 + CASE WHEN s.source = 'SELF' THEN 13 ELSE 0 END))"
    # SQLite has no bit_or: a SUM of the DISTINCT powers of two is the same
    mask = f"bit_or({bit})" if pg else f"SUM(DISTINCT {bit})"
    return f"""SELECT ROW_NUMBER() OVER () AS member_no, id_number, mask & 8191 AS cm, mask >> 13 AS sm, name
                 FROM (SELECT UPPER(s.id_number) AS id_number, {mask} AS mask, MAX(s.name) AS name
                         FROM special_group_record s WHERE s.period = :period{_only_records(only)}
                        GROUP BY UPPER(s.id_number)) g"""


def _only_records(only: str | None) -> str:
    return f" AND s.id_number = {any_of(only)}" if only else ""


def any_of(table: str) -> str:
    """PostgreSQL: `= ANY (ARRAY(SELECT …))` makes the planner probe an index once per value of a
    small working table, where an IN (a semi-join) often hashes a whole large table instead."""
    return f"ANY (ARRAY(SELECT id_number FROM {table}))"


async def keep_members(period: str) -> bool:
    """PostgreSQL, before a run's transaction: (re)build the period's kept members if they are
    out of date and nothing is in the way (`zizhu.domain.comparison.members.refresh`)."""
    select = _member_select(True)

    async def build(tx, table: str) -> int:
        work = Work(tx, 0, True)
        await work.tune()
        return await work.create(table, select, {"period": period})

    return await comparison_members.refresh(period, comparison_members.definition_of(select), build)


async def members(w: Work, run: ComparisonRun, only: str | None = None) -> None:
    """The period's kept members if valid (PostgreSQL), else grouped now into `member`; with
    `only` (a table of ID numbers), those students' members, grouped now."""
    select = _member_select(w.pg, only)
    kept = None
    if w.pg and only is None:
        kept = await comparison_members.kept_members(w.tx, run.period, comparison_members.definition_of(select))
    if kept is not None:
        w.members_table, w.rows[w.member] = kept
    else:
        await w.create(w.member, select, {"period": run.period})


async def matched(w: Work, run: ComparisonRun) -> None:
    province = "AND e.province = :province" if run.province else ""
    await w.create(
        w.matched,
        f"""SELECT e.id_number, e.name, e.school_code, e.stage, e.province, sc.region_code, m.cm, m.sm,
                   m.member_no
              FROM {w.members_table} m
              JOIN enrolment e ON e.id_number = m.id_number AND e.status = 'ENROLLED' {province}
              JOIN school sc ON sc.code = e.school_code""",
        {"province": run.province},
    )


# --- unmatched members (未匹配学籍) -------------------------------------------------------------
def home_region_sql(id_number: str) -> str:
    """SQL: the region a member belongs to by the first six digits of its ID number (its place of
    registration): that code if the region table lists it, else its nearest listed ancestor (the
    city, then the province), else the nation."""
    return f"""COALESCE((SELECT r.code FROM region r WHERE r.code = substr({id_number}, 1, 6)),
                        (SELECT r.code FROM region r WHERE r.code = substr({id_number}, 1, 4) || '00'),
                        (SELECT r.code FROM region r WHERE r.code = substr({id_number}, 1, 2) || '0000'),
                        '000000')"""


async def unmatched(w: Work, run: ComparisonRun, also: str = "") -> None:
    """The members with no ENROLLED enrolment anywhere (an anti-join), written to `unmatched_member`
    once per region they belong to: their home region (`home_region_sql`) and each region whose
    authority uploaded them (`special_group_record.collected_by`). A province run keeps the rows
    of its province's regions; the nation's rows (an unknown province) come from national runs.
    `also`: rows to write with them (`insert_unmatched`)."""
    if run.province:  # `matched` holds this province's enrolments only: look at every province's
        enrolled = "SELECT 1 FROM enrolment e WHERE e.id_number = m.id_number AND e.status = 'ENROLLED'"
    else:  # `matched` (before duplicates leave it) holds every ENROLLED enrolment of the members
        enrolled = f"SELECT 1 FROM {w.matched} x WHERE x.member_no = m.member_no"
    await w.create(
        w.unmatched,
        f"SELECT m.id_number, m.cm, m.sm, m.name FROM {w.members_table} m WHERE NOT EXISTS ({enrolled})",
    )
    await insert_unmatched(w, run, also)


UNMATCHED_COLUMNS = "run_id, id_number, name, region_code, province, uploaded, central_mask, self_mask"


async def insert_unmatched(w: Work, run: ComparisonRun, also: str = "") -> None:
    """Write the rows of `unmatched` to `unmatched_member`, with `also` (a SELECT of the same
    columns, e.g. the previous run's other rows) in one INSERT ordered by region and ID number."""
    province = "WHERE substr(x.region_code, 1, 2) = :province" if run.province else ""
    rows = f"""SELECT CAST(:run AS BIGINT) AS run_id, u.id_number, COALESCE(u.name, '') AS name, x.region_code,
                      substr(x.region_code, 1, 2) AS province, MIN(x.uploaded) = 1 AS uploaded,
                      u.cm AS central_mask, u.sm AS self_mask
                 FROM {w.unmatched} u
                 JOIN (SELECT id_number, {home_region_sql("id_number")} AS region_code, 0 AS uploaded
                         FROM {w.unmatched}
                       UNION ALL
                       SELECT DISTINCT UPPER(s.id_number), s.collected_by, 1 FROM special_group_record s
                        WHERE s.period = :period AND s.collected_by <> '') x ON x.id_number = u.id_number
                {province}
                GROUP BY u.id_number, u.name, x.region_code, u.cm, u.sm"""
    if also:
        rows = f"{rows} UNION ALL {also}"
    await db.execute(
        f"""INSERT INTO unmatched_member ({UNMATCHED_COLUMNS})
            SELECT {UNMATCHED_COLUMNS} FROM ({rows}) r ORDER BY region_code, id_number""",
        {"run": run.id, "period": run.period, "province": run.province},
        client=w.tx,
    )


# The enrolment a student with several 在读 enrolments of one stage counts at: the most recently
# imported or changed (rows from before that was recorded last), ties to the lowest school code.
PLACEMENT_ORDER = "CASE WHEN e.updated_at IS NULL THEN 1 ELSE 0 END, e.updated_at DESC, e.school_code"


async def duplicates(w: Work, run: ComparisonRun) -> int:
    """Students matched at several schools in one stage (重复学籍) are counted once, at one school:
    every such enrolment is recorded in `duplicate_enrolment` with the chosen one marked, and the
    others leave `matched`. A national run finds them by joining `matched` to itself (one hash join);
    a province run also looks at the student's enrolments in other provinces, so the choice is
    the same whichever run makes it. Returns the number of (student, stage) placed."""
    if run.province:
        found = f"""SELECT m.id_number, m.stage FROM {w.matched} m
                      JOIN enrolment e ON e.id_number = m.id_number AND e.stage = m.stage AND e.status = 'ENROLLED'
                     GROUP BY m.id_number, m.stage HAVING COUNT(*) > 1"""
    else:  # a self-join on the members' integer number hashes faster than grouping every row
        found = f"""SELECT DISTINCT a.id_number, a.stage FROM {w.matched} a
                      JOIN {w.matched} b ON b.member_no = a.member_no AND b.stage = a.stage
                           AND b.school_code > a.school_code"""
    placed = await w.create(w.duplicate, found)
    if not w.pg:
        (row,) = await db.fetch(f"SELECT COUNT(*) AS n FROM {w.duplicate}", client=w.tx)
        placed = int(row["n"])
    if not placed:
        return 0
    await db.execute(
        f"""INSERT INTO duplicate_enrolment (run_id, province, id_number, name, stage, school_code, region_code, chosen)
            SELECT :run, x.province, x.id_number, x.name, x.stage, x.school_code, sc.region_code, x.place = 1
              FROM (SELECT e.province, e.id_number, e.name, e.stage, e.school_code,
                           ROW_NUMBER() OVER (PARTITION BY e.id_number, e.stage ORDER BY {PLACEMENT_ORDER}) AS place
                      FROM {w.duplicate} d
                      JOIN enrolment e ON e.id_number = d.id_number AND e.stage = d.stage AND e.status = 'ENROLLED') x
              JOIN school sc ON sc.code = x.school_code""",
        {"run": run.id},
        client=w.tx,
    )
    # the enrolments not chosen leave `matched`: a small analysed table the DELETE hashes
    await w.create(
        w.not_chosen,
        "SELECT id_number, stage, school_code FROM duplicate_enrolment WHERE run_id = :run AND NOT chosen",
        {"run": run.id},
    )
    left = await db.execute(
        f"""DELETE FROM {w.matched} WHERE EXISTS (
                SELECT 1 FROM {w.not_chosen} x WHERE x.id_number = {w.matched}.id_number
                   AND x.stage = {w.matched}.stage AND x.school_code = {w.matched}.school_code)""",
        client=w.tx,
    )
    if w.pg:
        w.rows[w.matched] -= left  # `counts` reads the size CREATE TABLE AS reported
    return placed


async def unfunded(w: Work, run: ComparisonRun, aid: str = "aid_record") -> None:
    """The stage-wide rows (project ''), then each module's rows (project = its code): the module
    projects are read once into `modules`, so the statistics see the same set. `aid`: the table of
    aid records to look in (a run of a few students reads theirs first)."""
    periods = {"period": run.period, "year": parse_semester(run.period).academic_year}
    await w.create(w.modules, MODULE_PROJECTS, analyze=False)
    await w.create(
        w.unfunded,
        f"""SELECT x.*, CAST('' AS VARCHAR(40)) AS project FROM {w.matched} x
             WHERE NOT EXISTS (
                   SELECT 1 FROM {aid} a JOIN aid_project p ON p.code = a.project_code
                    WHERE a.id_number = x.id_number AND a.status = 'APPROVED'
                      AND a.period IN (:period, :year) AND p.kind = 'RELIEF' AND p.stage = x.stage)""",
        periods,
        analyze=False,
    )
    await db.execute(
        f"""INSERT INTO {w.unfunded}
            SELECT x.*, p.project FROM {w.matched} x JOIN {w.modules} p ON p.stage = x.stage
             WHERE NOT EXISTS (
                   SELECT 1 FROM {aid} a
                    WHERE a.id_number = x.id_number AND a.status = 'APPROVED'
                      AND a.period IN (:period, :year) AND a.project_code = p.project)""",
        periods,
        client=w.tx,
    )
    if w.pg:
        await db.execute(f"ANALYZE {w.unfunded}", client=w.tx)


async def list_rows(w: Work, run: ComparisonRun, baseline: bool, current: str | None = None) -> None:
    """Diff the chain's current list against `unfunded` (old_id set = a current row to close,
    id_number set = a row to add, both when a row's name, region or masks changed), then close
    and add: the writes are proportional to the changes. A chain's first run (no `baseline`)
    has no current rows to diff against: it adds `unfunded` as it is. `current`: a table of the
    current rows of the students `unfunded` was computed for, when it was not computed for all (the
    others' rows stay as they are)."""
    chain = {"period": run.period, "scope": run.province, "run": run.id}
    columns = ", ".join(LIST_KEY + tuple(old for old, _ in LIST_VALUES) + ("since_run",))
    values = ", ".join(LIST_KEY + tuple(new for _, new in LIST_VALUES))
    if not baseline:
        await db.execute(  # closes nothing unless a chain's runs were deleted by hand
            "UPDATE unfunded_result SET valid_until_run = :run"
            " WHERE period = :period AND scope = :scope AND valid_until_run IS NULL",
            chain,
            client=w.tx,
        )
        source, values = w.unfunded, f"{values}, :run"
    else:
        await w.create(w.diff, _diff_select(w, current), chain)
        await db.execute(
            f"UPDATE unfunded_result SET valid_until_run = :run"
            f" WHERE id IN (SELECT old_id FROM {w.diff} WHERE old_id IS NOT NULL)",
            chain,
            client=w.tx,
        )
        source, values = f"{w.diff} WHERE id_number IS NOT NULL", f"{values}, since_run"
    await db.execute(
        f"""INSERT INTO unfunded_result (period, scope, valid_from_run, {columns})
            SELECT :period, :scope, :run, {values} FROM {source}
             ORDER BY region_code, school_code""",  # appends in index order
        chain,
        client=w.tx,
    )


# the chain's current list rows (:period, :scope), the list a run diffs against
CURRENT_ROWS = "(SELECT * FROM unfunded_result WHERE period = :period AND scope = :scope AND valid_until_run IS NULL)"


def _diff_select(w: Work, current_rows: str | None = None) -> str:
    on = " AND ".join(f"m.{k} = o.{k}" for k in LIST_KEY)
    differs = " OR ".join(f"m.{new} <> o.{old}" for old, new in LIST_VALUES)
    new_cols = ", ".join(f"m.{c}" for c in LIST_KEY + tuple(new for _, new in LIST_VALUES))
    # a changed row (both sides) keeps its spell's first run; a new one starts it at this run
    columns = f"""o.id AS old_id, o.id_number AS old_id_number, o.school_code AS old_school_code,
                  o.stage AS old_stage, o.region_code AS old_region_code, o.project AS old_project,
                  COALESCE(NULLIF(o.since_run, 0), o.valid_from_run, :run) AS since_run, {new_cols}"""
    current = f"{current_rows or CURRENT_ROWS} o"
    if w.pg:
        return f"""SELECT {columns} FROM {current} FULL JOIN {w.unfunded} m ON {on}
                    WHERE o.id IS NULL OR m.id_number IS NULL OR {differs}"""
    # SQLite before 3.39 has no FULL JOIN: the current rows' side, then the new keys
    return f"""SELECT {columns} FROM {current} LEFT JOIN {w.unfunded} m ON {on}
                WHERE m.id_number IS NULL OR {differs}
               UNION ALL
               SELECT {columns} FROM {w.unfunded} m LEFT JOIN {current} ON {on}
                WHERE o.id IS NULL"""


@dataclass(frozen=True)
class Earlier:
    """What a run computed from some students only (`incremental`) adds its statistics to: the
    previous run, and SELECTs of those students' rows in it — `matched` (columns school_code,
    region_code, stage, cm, sm) and `unfunded` (the same and project)."""

    run_id: int
    matched: str
    unfunded: str


async def statistics(w: Work, run_id: int, earlier: Earlier | None = None) -> None:
    """Per (school, stage, project): one sum per (category, source) cell over `matched` (members)
    and over `unfunded` (grouped by project), each a grouped pass that parallel workers share;
    funded = members − unfunded. A stage's members get one row for the stage-wide list (project
    '') and one per module of their stage, so a module's statistics are exactly its list.
    Plain integer sums of one bit each were the cheapest aggregate (packing several counters
    into one BIGINT sum was slower).

    With `earlier`, `matched` and `unfunded` hold some students only: their rows in the earlier
    run are subtracted, their new rows added, and the earlier run's rows of each (school, stage,
    project) carried over; a row left with no member is dropped, as a full run would not write it."""
    cells = list(zip(stat_columns("members"), stat_columns("funded")))
    sign = "d * " if earlier else ""
    sums = ", ".join(
        f"SUM({sign}{counted(number, source)}) AS c{i}" for i, ((_, number, source), _) in enumerate(cells)
    )
    key = "school_code, region_code, stage"  # the region the matched rows took from the school
    matched, unfunded = w.matched, w.unfunded
    if earlier:
        matched = f"(SELECT {key}, cm, sm, 1 AS d FROM {w.matched} UNION ALL SELECT x.*, -1 FROM ({earlier.matched}) x)"
        unfunded = (
            f"(SELECT {key}, project, cm, sm, 1 AS d FROM {w.unfunded}"
            f" UNION ALL SELECT x.*, -1 FROM ({earlier.unfunded}) x)"
        )
    await w.create(w.stat_all, f"SELECT {key}, {sums} FROM {matched} g GROUP BY {key}", analyze=False)
    await w.create(
        w.stat_unfunded, f"SELECT {key}, project, {sums} FROM {unfunded} g GROUP BY {key}, project", analyze=False
    )
    columns = ", ".join(f"{members[0]}, {funded[0]}" for members, funded in cells)
    lists = f"(SELECT DISTINCT CAST('' AS VARCHAR(40)) AS project, stage FROM {w.stat_all} UNION ALL SELECT project, stage FROM {w.modules})"

    def unfunded_of(k: str) -> str:
        return f"""LEFT JOIN {w.stat_unfunded} u ON u.school_code = {k}.school_code
                   AND u.region_code = {k}.region_code AND u.stage = {k}.stage AND u.project = p.project"""

    if earlier is None:
        values = ", ".join(f"a.c{i}, a.c{i} - COALESCE(u.c{i}, 0)" for i in range(len(cells)))
        rows = f"""SELECT :run, a.school_code, a.region_code, a.stage, p.project, {values}
                     FROM {w.stat_all} a JOIN {lists} p ON p.stage = a.stage {unfunded_of("a")}"""
    else:
        values = ", ".join(
            f"COALESCE(e.{m[0]}, 0) + COALESCE(a.c{i}, 0),"
            f" COALESCE(e.{f[0]}, 0) + COALESCE(a.c{i}, 0) - COALESCE(u.c{i}, 0)"
            for i, (m, f) in enumerate(cells)
        )
        everyone = next(i for i, (m, _) in enumerate(cells) if m[1:] == ("00", "all"))
        keys = f"""(SELECT {key}, project FROM run_statistic WHERE run_id = :earlier
                    UNION SELECT a.school_code, a.region_code, a.stage, l.project
                            FROM {w.stat_all} a JOIN {lists} l ON l.stage = a.stage) p"""
        rows = f"""SELECT :run, p.school_code, p.region_code, p.stage, p.project, {values}
                     FROM {keys}
                     LEFT JOIN run_statistic e ON e.run_id = :earlier AND e.school_code = p.school_code
                          AND e.region_code = p.region_code AND e.stage = p.stage AND e.project = p.project
                     LEFT JOIN {w.stat_all} a ON a.school_code = p.school_code AND a.region_code = p.region_code
                          AND a.stage = p.stage
                     {unfunded_of("p")}
                    WHERE COALESCE(e.{cells[everyone][0][0]}, 0) + COALESCE(a.c{everyone}, 0) > 0"""
    await db.execute(
        f"INSERT INTO run_statistic (run_id, {key}, project, {columns}) {rows}",
        {"run": run_id, "earlier": earlier.run_id if earlier else 0},
        client=w.tx,
    )
    await db.execute(region_statistics_sql(f"t.run_id = {int(run_id)}"), client=w.tx)


# The region a school's region code counts in, and each of its ancestors: (region, condition).
_SUBTREES = (
    ("'000000'", "1 = 1"),
    ("substr(t.region_code, 1, 2) || '0000'", "t.region_code <> '000000'"),
    ("substr(t.region_code, 1, 4) || '00'", "substr(t.region_code, 3, 2) <> '00'"),
    ("t.region_code", "substr(t.region_code, 5, 2) <> '00'"),
)


def region_statistics_sql(runs: str) -> str:
    """INSERT the `region_statistic` rows of the runs whose `run_statistic` rows (alias t) match
    `runs`: per (run, school's province, region, stage, project), the subtree sums of the region
    and of each ancestor (kind 'S') and the own-level sums (kind 'O'). The school rows are read
    once, summed per (run, province, region code, stage, project); the five levels add up those
    few rows. The migration that added the
    table holds a frozen copy of the first version (for the runs before it): a change here needs a
    new migration."""
    columns = [c for c, _, _ in stat_columns("members") + stat_columns("funded")]
    per_region = ", ".join(f"SUM(t.{c}) AS {c}" for c in columns)
    sums = ", ".join(f"SUM(g.{c})" for c in columns)
    levels = [*_SUBTREES, ("t.region_code", "1 = 1")]
    project, group = ", t.project", ", 6"
    selects = [
        f"SELECT g.run_id, g.province, {region.replace('t.', 'g.')}, '{'O' if i == len(_SUBTREES) else 'S'}',"
        f" g.stage{project.replace('t.', 'g.')}, {sums} FROM r g WHERE {condition.replace('t.', 'g.')}"
        f" GROUP BY 1, 2, 3, 4, 5{group}"
        for i, (region, condition) in enumerate(levels)
    ]
    return (
        f"WITH r AS (SELECT t.run_id, substr(t.school_code, 3, 2) AS province, t.region_code, t.stage{project},"
        f" {per_region} FROM run_statistic t WHERE ({runs}) GROUP BY 1, 2, 3, 4{group.replace('6', '5')}) "
        f"INSERT INTO region_statistic (run_id, province, region_code, kind, stage{project.replace('t.', '')},"
        f" {', '.join(columns)}) " + " UNION ALL ".join(selects)
    )


async def history(w: Work, run: ComparisonRun, computed_at) -> None:
    """Remember the published run and its totals per (school, stage) for trends (`run_history`,
    `run_trend`): unlike the run's statistics, they are never pruned."""
    await db.execute(
        "INSERT INTO run_history (run_id, period, scope, computed_at) VALUES (:run, :period, :scope, :at)",
        {"run": run.id, "period": run.period, "scope": run.province, "at": computed_at},
        client=w.tx,
    )
    await db.execute(
        """INSERT INTO run_trend (run_id, school_code, region_code, stage, members, funded)
           SELECT run_id, school_code, region_code, stage, members_00_all, funded_00_all
             FROM run_statistic WHERE run_id = :run AND project = ''""",
        {"run": run.id},
        client=w.tx,
    )


async def changes(w: Work, run: ComparisonRun) -> tuple[int, int]:
    """NEWLY_UNFUNDED: a key of the list the chain's current list did not have. MOVED: such a key
    whose student left the list at another school of the same stage (placed elsewhere, see
    `duplicates`). NEWLY_FUNDED: a key that left the list while the student is still matched there
    (so now funded); found by CREATE TABLE AS, which scans `matched` with parallel workers (an
    INSERT … SELECT cannot)."""
    run_id = run.id
    moved_here = f"""EXISTS (SELECT 1 FROM {w.diff} o WHERE o.id_number IS NULL AND o.old_project = ''
                               AND o.old_id_number = d.id_number AND o.old_stage = d.stage)"""
    added = {}
    for change, condition in (("MOVED", moved_here), ("NEWLY_UNFUNDED", f"NOT {moved_here}")):
        added[change] = await db.execute(
            f"""INSERT INTO run_change (run_id, id_number, school_code, region_code, stage, change)
                SELECT :run, d.id_number, d.school_code, d.region_code, d.stage, '{change}'
                  FROM {w.diff} d WHERE d.old_id IS NULL AND d.project = '' AND {condition}""",
            {"run": run_id},
            client=w.tx,
        )
    newly_unfunded = added["NEWLY_UNFUNDED"]
    # A reported reason belongs to (period, stage, student): it follows a student the run placed
    # at another school, and so does the school it is filed under.
    await db.execute(
        f"""UPDATE unfunded_reason SET school_code = m.school_code, province = m.province
              FROM {w.diff} m
             WHERE m.old_id IS NULL AND unfunded_reason.period = :period AND unfunded_reason.stage = m.stage
               AND unfunded_reason.id_number = m.id_number AND unfunded_reason.school_code <> m.school_code""",
        {"period": run.period},
        client=w.tx,
    )
    await w.create(  # a plain join hashes the few changes: (ID, school, stage) is unique in matched
        w.left_funded,
        f"""SELECT d.old_id_number AS id_number, d.old_school_code AS school_code,
                   d.old_region_code AS region_code, d.old_stage AS stage
              FROM {w.diff} d JOIN {w.matched} m ON m.id_number = d.old_id_number
                   AND m.school_code = d.old_school_code AND m.stage = d.old_stage
             WHERE d.id_number IS NULL AND d.old_project = ''""",
        analyze=False,
    )
    newly_funded = await db.execute(
        f"""INSERT INTO run_change (run_id, id_number, school_code, region_code, stage, change)
            SELECT :run, id_number, school_code, region_code, stage, 'NEWLY_FUNDED' FROM {w.left_funded}""",
        {"run": run_id},
        client=w.tx,
    )
    return newly_unfunded, newly_funded


async def counts(w: Work) -> dict[str, int]:
    """members (students), matched (students with an ENROLLED enrolment, counted by their
    integer member_no: cheaper than ID numbers), funded and unfunded (matched (student, school,
    stage) rows). PostgreSQL gave the tables' sizes when they were made; SQLite counts them."""
    (row,) = await db.fetch(f"SELECT COUNT(DISTINCT member_no) AS matched FROM {w.matched}", client=w.tx)
    if w.pg:
        sizes = {"members": w.rows[w.member], "matched_rows": w.rows[w.matched], "unfunded": w.rows[w.unfunded]}
    else:
        (sizes,) = await db.fetch(
            f"""SELECT (SELECT COUNT(*) FROM {w.members_table}) AS members,
                       (SELECT COUNT(*) FROM {w.matched}) AS matched_rows,
                       (SELECT COUNT(*) FROM {w.unfunded} WHERE project = '') AS unfunded""",
            client=w.tx,
        )
    result = {k: int(v or 0) for k, v in {**sizes, "matched": row["matched"]}.items()}
    result["funded"] = result.pop("matched_rows") - result["unfunded"]
    return result
