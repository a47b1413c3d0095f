"""A national run computed from the students who changed since the previous run (增量比对),
PostgreSQL only.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.comparison import steps
from zizhu.domain.comparison.steps import Work
from zizhu.domain.models import ComparisonRun
from zizhu.domain.reference.periods import parse_semester

CHANGE_LOG = "comparison_change"  # filled by triggers (migration 0090)
STAMP = "comparison_state_stamp"
STATE_PREFIX = "cmp_state_"
FRESH = "2 days"  # an older kept state is not trusted: the run is a full one (and the log is pruned)
LARGEST_SHARE = 3  # more changed students than a third of the kept rows: a full run is cheaper
SMALL = 10_000  # (below this many changed students the share does not matter)
# The kept state's meaning: a deploy that changes how a run computes its rows changes this, so the
# first run after it is a full one.
DEFINITION = hashlib.sha1(
    " ".join(
        (
            "state v1",
            steps.MODULE_PROJECTS,
            steps.home_region_sql("x"),
            steps.PLACEMENT_ORDER,
            steps.UNMATCHED_COLUMNS,
        )
    ).encode()
).hexdigest()
STATE_COLUMNS = "id_number, name, school_code, stage, province, region_code, cm, sm, member_no"


def state_table(period: str) -> str:
    """`cmp_state_2023_2024_1`: the national chain's students as its last run placed them — a
    `matched` row per (student, school, stage), and a row with no school for each member it did
    not match."""
    return STATE_PREFIX + parse_semester(period).code.replace("-", "_")


async def snapshot(w: Work) -> str:
    """What the run's transaction sees from now on (PostgreSQL; '' on SQLite): taken before it
    reads anything, so a change it misses is not visible in it and the next run takes it up."""
    if not w.pg:
        return ""
    (row,) = await db.fetch("SELECT CAST(pg_current_snapshot() AS TEXT) AS s", client=w.tx)
    return str(row["s"])


async def _fresh_stamp(period: str, client=None) -> dict | None:
    """The stamp of the period's kept state if it is fresh and of this definition."""
    rows = await db.fetch(
        f"""SELECT run_id, snapshot, rows FROM {STAMP}
             WHERE period = :period AND definition = :definition AND built_at > now() - INTERVAL '{FRESH}'""",
        {"period": parse_semester(period).code, "definition": DEFINITION},
        client=client,
    )
    return rows[0] if rows else None


async def worth_trying(period: str, province: str) -> bool:
    """Outside a run: whether its chain has a fresh kept state (so grouping the members in advance
    is not needed)."""
    return not province and db.is_postgres() and await _fresh_stamp(period) is not None


@dataclass
class Changes:
    """A national run of (period) computed from `w.dirty`, the ID numbers whose rows changed since
    the chain's previous run `previous`, whose outputs it carries over for everyone else."""

    w: Work
    run: ComparisonRun
    previous: ComparisonRun
    kept_rows: int

    @property
    def dirty(self) -> str:
        return f"(SELECT id_number FROM {self.w.dirty})"

    def earlier(self) -> steps.Earlier:
        """The changed students' rows in the previous run, for the statistics."""
        return steps.Earlier(
            self.previous.id,
            matched=f"""SELECT school_code, region_code, stage, cm, sm FROM {self.w.state_before}
                         WHERE school_code IS NOT NULL""",
            unfunded=f"""SELECT school_code, region_code, stage, project, central_mask, self_mask
                           FROM {self.w.listed_before}""",
        )

    def other_unmatched(self) -> str:
        """The previous run's unmatched rows of the students who did not change."""
        return f"""SELECT CAST(:run AS BIGINT), id_number, name, region_code, province, uploaded,
                          central_mask, self_mask
                     FROM unmatched_member WHERE run_id = {int(self.previous.id)} AND id_number NOT IN {self.dirty}"""

    async def aid_records(self) -> str:
        """The changed students' aid records, for `steps.unfunded` (after `steps.matched`)."""
        await self.w.create(
            self.w.aid,
            f"SELECT * FROM aid_record WHERE id_number = {steps.any_of(self.w.matched)}",
        )
        return self.w.aid

    async def other_duplicates(self) -> int:
        """Carry the previous run's placements of the students who did not change; returns how many
        students the run places (theirs and the changed students')."""
        await db.execute(
            f"""INSERT INTO duplicate_enrolment (run_id, province, id_number, name, stage, school_code, region_code, chosen)
                SELECT :run, province, id_number, name, stage, school_code, region_code, chosen
                  FROM duplicate_enrolment WHERE run_id = :previous AND id_number NOT IN {self.dirty}""",
            {"run": self.run.id, "previous": self.previous.id},
            client=self.w.tx,
        )
        (row,) = await db.fetch(
            "SELECT COUNT(*) AS n FROM duplicate_enrolment WHERE run_id = :run AND chosen",
            {"run": self.run.id},
            client=self.w.tx,
        )
        return int(row["n"])

    async def counts(self) -> dict[str, int]:
        """The run's totals: the previous run's, less the changed students' part in it, plus their
        part now (as `steps.counts` would count them from scratch)."""
        w, p = self.w, self.previous
        (old,) = await db.fetch(
            f"""SELECT COUNT(DISTINCT id_number) AS members, COUNT(school_code) AS matched_rows,
                       COUNT(DISTINCT CASE WHEN school_code IS NOT NULL THEN id_number END) AS matched,
                       (SELECT COUNT(*) FROM {w.listed_before} WHERE project = '') AS listed
                  FROM {w.state_before}""",
            client=w.tx,
        )
        (new,) = await db.fetch(f"SELECT COUNT(DISTINCT id_number) AS matched FROM {w.matched}", client=w.tx)
        matched_rows = p.funded + p.unfunded - int(old["matched_rows"]) + w.rows[w.matched]
        unfunded = p.unfunded - int(old["listed"]) + w.rows[w.unfunded]
        return {
            "members": p.members - int(old["members"]) + w.rows[w.member],
            "matched": p.matched - int(old["matched"]) + int(new["matched"]),
            "funded": matched_rows - unfunded,
            "unfunded": unfunded,
        }


# Planner settings for a run of a few students: index probes rather than scans of whole tables
# (the tables are in memory), and no parallel workers for small statements.
FEW_STUDENTS = ("random_page_cost = 1.1", "parallel_setup_cost = 1000", "parallel_tuple_cost = 0.1")


async def changes_since(w: Work, run: ComparisonRun, previous: int | None) -> Changes | None:
    """Inside the run's transaction, once it holds its chain's lock: the run's `Changes` when it can
    be computed from them — a national run on PostgreSQL whose chain's kept state is that of
    `previous`, fresh, of this definition, not lost in a crash, with no change since that the log
    could not name, and not more changed students than a third of the state — else None (a full run)."""
    if not w.pg or run.province or previous is None:
        return None
    for setting in FEW_STUDENTS:
        await db.execute(f"SET LOCAL {setting}", client=w.tx)
    changes = await _changes_since(w, run, previous)
    if changes is None:  # a full run: back to its own settings
        await db.execute("SET LOCAL random_page_cost TO DEFAULT", client=w.tx)
        await w.tune()
    return changes


async def _changes_since(w: Work, run: ComparisonRun, previous: int) -> Changes | None:
    stamp = await _fresh_stamp(run.period, w.tx)
    if stamp is None or int(stamp["run_id"]) != previous:
        return None
    state = state_table(run.period)
    (kept,) = await db.fetch(
        f"""SELECT to_regclass(:state) IS NOT NULL AS present,
                   EXISTS (SELECT 1 FROM {CHANGE_LOG} WHERE id_number IS NULL AND {UNSEEN}) AS everything""",
        {"state": state, "snapshot": stamp["snapshot"]},
        client=w.tx,
    )
    if not kept["present"] or kept["everything"]:
        return None
    if int(stamp["rows"]) > 0:  # an unlogged table is emptied by a crash
        (row,) = await db.fetch(f"SELECT EXISTS (SELECT 1 FROM {state}) AS ok", client=w.tx)
        if not row["ok"]:
            return None
    # each ID number as written and as the comparison writes it (upper case), so that a lookup by
    # equality finds a record whose 'x' was written in lower case too
    changed = await w.create(
        w.dirty,
        f"""SELECT DISTINCT v.id_number FROM {CHANGE_LOG} c,
                   LATERAL (VALUES (UPPER(c.id_number)), (LOWER(c.id_number))) v (id_number)
             WHERE c.id_number IS NOT NULL AND {UNSEEN}""",
        {"snapshot": stamp["snapshot"]},
    )
    if changed > SMALL and changed * LARGEST_SHARE > int(stamp["rows"]):
        await db.execute(f"DROP TABLE {w.dirty}", client=w.tx)
        return None
    dirty = steps.any_of(w.dirty)
    await w.create(w.state_before, f"SELECT ctid AS row_ctid, * FROM {state} WHERE id_number = {dirty}")
    await w.create(
        w.listed_before,
        f"SELECT * FROM {steps.CURRENT_ROWS} c WHERE c.id_number = {dirty}",
        {"period": run.period, "scope": ""},
    )
    return Changes(w, run, await ComparisonRun.filter(id=previous).using_db(w.tx).get(), int(stamp["rows"]))


# a log row the previous run's snapshot (:snapshot) did not see
UNSEEN = "NOT pg_visible_in_snapshot(txid, CAST(CAST(:snapshot AS TEXT) AS pg_snapshot))"


async def keep_state(w: Work, run: ComparisonRun, seen: str, changes: Changes | None) -> None:
    """At the end of a national run on PostgreSQL (inside its transaction): the chain's kept state
    becomes this run's — the changed students' rows replaced, or after a full run its `matched`
    table itself with a row per unmatched member — stamped with the run and its snapshot; the log
    loses what every fresh stamp has seen."""
    if not w.pg or run.province:
        return
    state = state_table(run.period)
    unmatched = f"INSERT INTO {state} (id_number, cm, sm) SELECT id_number, cm, sm FROM {w.unmatched}"
    if changes is None:
        await db.execute(f"DROP TABLE IF EXISTS {state}", client=w.tx)
        await db.execute(f"ALTER TABLE {w.matched} RENAME TO {state}", client=w.tx)
        unmatched_rows = await db.execute(unmatched, client=w.tx)
        await db.execute(f"CREATE INDEX ON {state} (id_number)", client=w.tx)
        rows = w.rows[w.matched] + unmatched_rows
    else:
        gone = await db.execute(
            f"DELETE FROM {state} WHERE ctid = ANY (ARRAY(SELECT row_ctid FROM {w.state_before}))", client=w.tx
        )
        added = await db.execute(
            f"INSERT INTO {state} ({STATE_COLUMNS}) SELECT {STATE_COLUMNS} FROM {w.matched}", client=w.tx
        )
        rows = changes.kept_rows - gone + added + await db.execute(unmatched, client=w.tx)
    await db.execute(
        f"""INSERT INTO {STAMP} (period, run_id, snapshot, definition, rows, built_at)
            VALUES (:period, :run, :snapshot, :definition, :rows, now())
            ON CONFLICT (period) DO UPDATE SET run_id = EXCLUDED.run_id, snapshot = EXCLUDED.snapshot,
               definition = EXCLUDED.definition, rows = EXCLUDED.rows, built_at = EXCLUDED.built_at""",
        {"period": run.period, "run": run.id, "snapshot": seen, "definition": DEFINITION, "rows": rows},
        client=w.tx,
    )
    await db.execute(
        f"""DELETE FROM {CHANGE_LOG} c WHERE NOT EXISTS (
                SELECT 1 FROM {STAMP} s WHERE s.built_at > now() - INTERVAL '{FRESH}'
                   AND NOT pg_visible_in_snapshot(c.txid, CAST(s.snapshot AS pg_snapshot)))""",
        {},
        client=w.tx,
    )
