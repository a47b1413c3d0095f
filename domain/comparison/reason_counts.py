"""Reason counters (原因计数): the published lists' reasons counted without scanning the lists.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

from zizhu.domain import db, versions
from zizhu.domain.comparison.members import lock_key
from zizhu.domain.comparison.steps import list_rows_of

KEY = ("run_id", "region_code", "school_code", "stage", "central_mask", "self_mask", "reason_code")
_COLUMNS = "run_id, province, region_code, school_code, stage, central_mask, self_mask, reason_code, n"
_CONFLICT = f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET n = reason_count.n + excluded.n"


def _lock(period: str) -> int:
    return lock_key(f"reasons/{period}")


async def hold_for_publication(tx, period: str) -> None:
    """Exclusive: no reason of `period` is being written until this transaction ends."""
    if db.is_postgres(tx):
        await db.fetch("SELECT pg_advisory_xact_lock(:key)", {"key": _lock(period)}, client=tx)


async def hold_for_reasons(tx, period: str) -> None:
    """Shared: no run of `period` is published (nor counted) until this transaction ends."""
    if db.is_postgres(tx):
        await db.fetch("SELECT pg_advisory_xact_lock_shared(:key)", {"key": _lock(period)}, client=tx)


def _count_select(run_id: int, period: str, scope: str) -> str:
    return f"""SELECT {int(run_id)} AS run_id, substr(t.school_code, 3, 2) AS province, t.region_code,
                      t.school_code, t.stage, t.central_mask, t.self_mask, u.reason_code, COUNT(*) AS n
                 FROM unfunded_result t
                 JOIN unfunded_reason u ON u.period = t.period AND u.stage = t.stage AND u.id_number = t.id_number
                WHERE {list_rows_of("t", run_id, period, scope)}
                GROUP BY t.region_code, t.school_code, t.stage, t.central_mask, t.self_mask, u.reason_code"""


async def build(tx, run_id: int, period: str, scope: str) -> None:
    """Count a run's counters from its list (its previous counters, if any, are replaced)."""
    await db.execute("DELETE FROM reason_count WHERE run_id = :run", {"run": int(run_id)}, client=tx)
    await db.execute(f"INSERT INTO reason_count ({_COLUMNS}) {_count_select(run_id, period, scope)}", client=tx)
    await versions.bump_counters(tx, [scope])


async def carry_forward(tx, run_id: int, previous_id: int, period: str, scope: str, diff_table: str) -> None:
    """The counters of `run_id` from those of the chain's previous run `previous_id` (whose list
    rows are the ones the run diffed against) and the run's diff: rows it closed (`old_id`) leave
    the counts, rows it added (`id_number`) enter them. `previous_id` loses its counters. Only the
    stage-wide list's rows (project '') are counted: a project module's rows are not."""
    await versions.bump_counters(tx, [scope])
    params = {"run": int(run_id), "prev": int(previous_id), "period": period}
    await db.execute("UPDATE reason_count SET run_id = :run WHERE run_id = :prev", params, client=tx)
    await db.execute(
        f"""INSERT INTO reason_count ({_COLUMNS})
            SELECT :run, substr(s.school_code, 3, 2), s.region_code, s.school_code, s.stage, s.cm, s.sm,
                   s.reason_code, s.d
              FROM (SELECT region_code, school_code, stage, cm, sm, reason_code, SUM(d) AS d
                      FROM (SELECT o.region_code, o.school_code, o.stage, o.central_mask AS cm,
                                   o.self_mask AS sm, u.reason_code, -1 AS d
                              FROM {diff_table} x JOIN unfunded_result o ON o.id = x.old_id
                              JOIN unfunded_reason u ON u.period = :period AND u.stage = o.stage
                                   AND u.id_number = o.id_number
                             WHERE x.old_id IS NOT NULL AND o.project = ''
                            UNION ALL
                            SELECT x.region_code, x.school_code, x.stage, x.cm, x.sm, u.reason_code, 1
                              FROM {diff_table} x
                              JOIN unfunded_reason u ON u.period = :period AND u.stage = x.stage
                                   AND u.id_number = x.id_number
                             WHERE x.id_number IS NOT NULL AND x.project = '') g
                     GROUP BY region_code, school_code, stage, cm, sm, reason_code) s
             WHERE s.d <> 0
            {_CONFLICT}""",
        params,
        client=tx,
    )
    await db.execute("DELETE FROM reason_count WHERE run_id = :run AND n = 0", params, client=tx)


async def drop_unpublished(tx, period: str) -> None:
    """Counters are kept for published runs only."""
    await db.execute(
        "DELETE FROM reason_count WHERE run_id IN"
        " (SELECT id FROM comparison_run WHERE period = :period AND published = :f)",
        {"period": period, "f": False},
        client=tx,
    )


async def _published(tx, period: str) -> list[dict]:
    return await db.fetch(
        "SELECT id, province FROM comparison_run WHERE period = :period AND published = :t ORDER BY id",
        {"period": period, "t": True},
        client=tx,
    )


async def for_new_run(tx, run_id: int, period: str, scope: str, previous_id: int | None, diff_table: str) -> None:
    """The counters of a run about to be published (inside its transaction, before publication):
    carried forward from the chain's previous run when that run is published (its counters are
    exact), else counted from the list. Call `hold_for_publication` first."""
    if previous_id is not None and any(r["id"] == previous_id for r in await _published(tx, period)):
        await carry_forward(tx, run_id, previous_id, period, scope, diff_table)
    else:
        await build(tx, run_id, period, scope)


async def rebuild_period(tx, period: str) -> None:
    """Count every published run of `period` again (after a set-based change of its reasons)."""
    for run in await _published(tx, period):
        await build(tx, run["id"], period, run["province"])


async def reason_moved(
    tx, period: str, stage: str, id_number: str, old_code: str | None, new_code: str | None
) -> set[str]:
    """A reason of (period, stage, ID number) went from `old_code` to `new_code` (None = none):
    move its list rows' counts in every published run of the period. Returns the regions whose
    counters moved: the caller moves their versions (`versions.bump_counters`) before it commits."""
    moved: set[str] = set()
    if old_code == new_code:
        return moved
    await hold_for_reasons(tx, period)
    # A list row of (stage, ID number) was made from an enrolment of that student at that school,
    # and enrolments are never deleted: the student's enrolments of the stage name every school
    # where a published run can list them, and the list's index is (region, school).
    schools = await db.fetch(
        "SELECT DISTINCT e.school_code, s.region_code FROM enrolment e JOIN school s ON s.code = e.school_code"
        " WHERE e.id_number = :id AND e.stage = :stage",
        {"id": id_number, "stage": stage},
        client=tx,
    )
    if not schools:
        return moved
    params: dict = {"id": id_number, "stage": stage}
    at = []
    for i, school in enumerate(schools):
        params.update({f"r{i}": school["region_code"], f"s{i}": school["school_code"]})
        at.append(f"(t.region_code = :r{i} AND t.school_code = :s{i})")
    for run in await _published(tx, period):
        rows = await db.fetch(
            f"""SELECT t.region_code, t.school_code, t.central_mask, t.self_mask FROM unfunded_result t
                 WHERE {list_rows_of("t", run["id"], period, run["province"])} AND ({" OR ".join(at)})
                   AND t.id_number = :id AND t.stage = :stage""",
            params,
            client=tx,
        )
        for row in rows:
            moved.add(row["region_code"])
            key = {
                "run_id": int(run["id"]),
                "region_code": row["region_code"],
                "school_code": row["school_code"],
                "stage": stage,
                "central_mask": int(row["central_mask"]),
                "self_mask": int(row["self_mask"]),
            }
            for code, delta in ((old_code, -1), (new_code, 1)):
                if code is None:
                    continue
                await db.execute(
                    f"INSERT INTO reason_count ({_COLUMNS}) VALUES (:run_id, :province, :region_code, :school_code,"
                    f" :stage, :central_mask, :self_mask, :reason_code, :n) {_CONFLICT}",
                    {**key, "province": row["school_code"][2:4], "reason_code": code, "n": delta},
                    client=tx,
                )
            if old_code is not None:
                where = " AND ".join(f"{k} = :{k}" for k in KEY)
                await db.execute(
                    f"DELETE FROM reason_count WHERE {where} AND n = 0", {**key, "reason_code": old_code}, client=tx
                )
    return moved


async def recount() -> list[dict]:
    """Every difference between the counters and a count from scratch of the published lists:
    one dict per key whose counts differ (`stored`, `counted`). Empty when the counters are exact."""
    runs = await db.fetch("SELECT id, period, province FROM comparison_run WHERE published = :t", {"t": True})
    published = {int(r["id"]) for r in runs}
    counted: dict[tuple, int] = {}
    for run in runs:
        for row in await db.fetch(_count_select(run["id"], run["period"], run["province"])):
            counted[(int(row["run_id"]), *(row[k] for k in KEY[1:]))] = int(row["n"])
    stored: dict[tuple, int] = {}
    for row in await db.fetch(f"SELECT {', '.join(KEY)}, n FROM reason_count"):
        key = (int(row["run_id"]), *(row[k] for k in KEY[1:]))
        stored[key] = stored.get(key, 0) + int(row["n"])
    differences = []
    for key in sorted(set(counted) | set(stored), key=str):
        have, want = stored.get(key, 0), counted.get(key, 0) if key[0] in published else 0
        if have != want:
            differences.append({**dict(zip(KEY, key)), "stored": have, "counted": want})
    return differences
