"""The members of a period (特殊群体成员), kept between runs on PostgreSQL, DESIGN.md §4 step 1.

Grouping a period's special-group records by student is a fifth of a run's work at province
scale, yet the records rarely change (lists are issued or collected a few times a semester),
while enrolments and aid change every day. So on PostgreSQL a run keeps the grouped members of a
period in an UNLOGGED table `cmp_members_<period>` and reuses it for as long as the records
are unchanged:

- `comparison_member_stamp` (UNLOGGED, one row per period with a current members table) says
  which tables are valid. A statement trigger on `special_group_record` deletes every stamp on
  any INSERT, UPDATE, DELETE or TRUNCATE, by whatever writer — so a stamp exists only while the
  table matches the committed records. After a crash PostgreSQL empties both unlogged tables
  together, so an emptied members table never keeps its stamp.
- Locking (one advisory lock): the trigger and every run that reuses a table take it SHARED; a
  run that (re)builds a table takes it EXCLUSIVE. A build therefore waits for writers of records
  that have not committed yet (and writers wait for the build's commit, then delete its stamp),
  and never drops a table another run is reading.
- A run that sees a stamp vanish between its two looks (a write committed in between) builds
  its own per-run members table instead, as SQLite always does.

`zizhu compare` and the worker need nothing else: the first run after a change rebuilds.
"""
from __future__ import annotations

import hashlib
from typing import Awaitable, Callable

from domain import db
from domain.periods import parse_semester

STAMP_TABLE = "comparison_member_stamp"
LOCK_KEY = int.from_bytes(hashlib.sha1(b"zizhu-compare/members").digest()[:8], "big", signed=True)

# PostgreSQL only (migration 0005): the stamp table and the trigger that invalidates it.
TRIGGER_SQL = [
    f"""CREATE UNLOGGED TABLE IF NOT EXISTS {STAMP_TABLE} (
          period VARCHAR(11) PRIMARY KEY, members BIGINT NOT NULL,
          built_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    f"""CREATE OR REPLACE FUNCTION zizhu_special_groups_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_advisory_xact_lock_shared({LOCK_KEY});
          DELETE FROM {STAMP_TABLE};
          RETURN NULL;
        END $$""",
    "DROP TRIGGER IF EXISTS special_group_record_changed ON special_group_record",
    """CREATE TRIGGER special_group_record_changed
         AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON special_group_record
         FOR EACH STATEMENT EXECUTE FUNCTION zizhu_special_groups_changed()""",
]
DROP_SQL = [
    "DROP TRIGGER IF EXISTS special_group_record_changed ON special_group_record",
    "DROP FUNCTION IF EXISTS zizhu_special_groups_changed()",
    f"DROP TABLE IF EXISTS {STAMP_TABLE}",
    """DO $$ DECLARE t text; BEGIN
         FOR t IN SELECT tablename FROM pg_tables WHERE tablename LIKE 'cmp\\_members\\_%' LOOP
           EXECUTE format('DROP TABLE %I', t);
         END LOOP;
       END $$""",
]


def table_of(period: str) -> str:
    """`cmp_members_2023_2024_1` for period 2023-2024-1 (a validated period code)."""
    return "cmp_members_" + parse_semester(period).code.replace("-", "_")


async def _stamp(tx, period: str) -> int | None:
    rows = await db.fetch(f"SELECT members FROM {STAMP_TABLE} WHERE period = :period", {"period": period}, client=tx)
    return int(rows[0]["members"]) if rows else None


async def kept_members(tx, period: str, build: Callable[[str], Awaitable[int]]) -> tuple[str, int] | None:
    """(table, number of members) of `period` for this run (PostgreSQL, inside the run's
    transaction): the kept table if its stamp is there, else one rebuilt now with
    `build(table)` (which returns its row count). None: build a per-run table instead."""
    table = table_of(period)
    if await _stamp(tx, period) is not None:
        await db.fetch("SELECT pg_advisory_xact_lock_shared(:key)", {"key": LOCK_KEY}, client=tx)
        members = await _stamp(tx, period)
        return None if members is None else (table, members)
    await db.fetch("SELECT pg_advisory_xact_lock(:key)", {"key": LOCK_KEY}, client=tx)
    members = await _stamp(tx, period)  # another run may have built it while this one waited
    if members is None:
        await _drop_unstamped(tx)
        members = await build(table)
        await db.execute(
            f"INSERT INTO {STAMP_TABLE} (period, members) VALUES (:period, :members)",
            {"period": period, "members": members}, client=tx,
        )
    return table, members


async def _drop_unstamped(tx) -> None:
    """Drop the members tables no stamp vouches for (this period's old one, and those of periods
    whose records changed since): nobody reads them, and the lock keeps it so."""
    stamped = {table_of(r["period"]) for r in await db.fetch(f"SELECT period FROM {STAMP_TABLE}", client=tx)}
    tables = await db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE :pattern",
        {"pattern": "cmp\\_members\\_%"}, client=tx,
    )
    for name in sorted({r["tablename"] for r in tables} - stamped):
        await db.execute(f'DROP TABLE "{name}"', client=tx)
