"""The members of a period (特殊群体成员), kept between runs on PostgreSQL, step 1 of the comparison.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from zizhu.domain import db
from zizhu.domain.reference.periods import parse_semester

STAMP_TABLE = "comparison_member_stamp"
GENERATION = "special_group_generation"


def lock_key(name: str) -> int:
    """The advisory-lock key of `name` among the comparison's locks (a run's chain, the members)."""
    return int.from_bytes(hashlib.sha1(f"zizhu-compare/{name}".encode()).digest()[:8], "big", signed=True)


def _period_key(period: str) -> int:
    return lock_key(f"members/{period}")


WRITERS_KEY = lock_key("special-group-writers")
TABLE_PREFIX = "cmp_members_"

# PostgreSQL only: the stamp table, the generation and the trigger moving it. Migration 0005 holds
# its own frozen copy: a change here needs a new migration.
TRIGGER_SQL = [
    f"""CREATE UNLOGGED TABLE IF NOT EXISTS {STAMP_TABLE} (
          period VARCHAR(11) PRIMARY KEY, generation BIGINT NOT NULL, definition VARCHAR(40) NOT NULL,
          members BIGINT NOT NULL, built_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    f"CREATE SEQUENCE IF NOT EXISTS {GENERATION}",
    f"SELECT setval('{GENERATION}', GREATEST((SELECT last_value FROM {GENERATION}), 1), true)",
    f"""CREATE OR REPLACE FUNCTION zizhu_special_groups_changed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
          PERFORM pg_advisory_xact_lock_shared({WRITERS_KEY});
          PERFORM nextval('{GENERATION}');
          RETURN NULL;
        END $$""",
    "DROP TRIGGER IF EXISTS special_group_record_changed ON special_group_record",
    """CREATE TRIGGER special_group_record_changed
         AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON special_group_record
         FOR EACH STATEMENT EXECUTE FUNCTION zizhu_special_groups_changed()""",
    "ALTER TABLE special_group_record ENABLE ALWAYS TRIGGER special_group_record_changed",
]
DROP_SQL = [
    "DROP TRIGGER IF EXISTS special_group_record_changed ON special_group_record",
    "DROP FUNCTION IF EXISTS zizhu_special_groups_changed()",
    f"DROP TABLE IF EXISTS {STAMP_TABLE}",
    f"DROP SEQUENCE IF EXISTS {GENERATION}",
    """DO $$ DECLARE t text; BEGIN
         FOR t IN SELECT tablename FROM pg_tables WHERE tablename LIKE 'cmp\\_members\\_%' LOOP
           EXECUTE format('DROP TABLE %I', t);
         END LOOP;
       END $$""",
]


def table_of(period: str) -> str:
    """`cmp_members_2023_2024_1` for period 2023-2024-1 (a validated period code)."""
    return TABLE_PREFIX + parse_semester(period).code.replace("-", "_")


def definition_of(select: str) -> str:
    """The members query's fingerprint: a deploy that changes the query invalidates the tables."""
    return hashlib.sha1(" ".join(select.split()).encode()).hexdigest()


async def _valid_members(client, period: str, definition: str) -> int | None:
    rows = await db.fetch(
        f"""SELECT members FROM {STAMP_TABLE} WHERE period = :period AND definition = :definition
               AND generation = (SELECT last_value FROM {GENERATION})""",
        {"period": period, "definition": definition},
        client=client,
    )
    return int(rows[0]["members"]) if rows else None


async def _try_lock(tx, key: int) -> bool:
    (row,) = await db.fetch("SELECT pg_try_advisory_xact_lock(:key) AS ok", {"key": key}, client=tx)
    return bool(row["ok"])


async def refresh(period: str, definition: str, build: Callable[[object, str], Awaitable[int]]) -> bool:
    """Make the period's kept members valid if they are not, in a transaction of its own;
    `build(tx, table)` creates the table and returns its row count. False: not built now (a
    writer of records is uncommitted, or a run is reading the old table)."""
    async with db.transaction() as tx:
        await db.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", client=tx)
        if await _valid_members(tx, period, definition) is not None:
            return True
        await db.execute("LOCK TABLE special_group_record IN ACCESS SHARE MODE", client=tx)
        if not (await _try_lock(tx, WRITERS_KEY) and await _try_lock(tx, _period_key(period))):
            return False
        (row,) = await db.fetch(f"SELECT last_value AS generation FROM {GENERATION}", client=tx)
        table = table_of(period)
        await db.execute(f"DROP TABLE IF EXISTS {table}", client=tx)
        members = await build(tx, table)
        await db.execute(
            f"""INSERT INTO {STAMP_TABLE} (period, generation, definition, members, built_at)
                VALUES (:period, :generation, :definition, :members, now())
                ON CONFLICT (period) DO UPDATE SET generation = EXCLUDED.generation,
                   definition = EXCLUDED.definition, members = EXCLUDED.members, built_at = now()""",
            {"period": period, "generation": row["generation"], "definition": definition, "members": members},
            client=tx,
        )
        await _drop_stale(tx, definition)
    return True


async def _drop_stale(tx, definition: str) -> None:
    """Drop the other periods' tables that are no longer valid and that no run is reading."""
    tables = await db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE :pattern",
        {"pattern": TABLE_PREFIX.replace("_", "\\_") + "%"},
        client=tx,
    )
    for name in sorted(r["tablename"] for r in tables):
        period = name.removeprefix(TABLE_PREFIX).replace("_", "-")
        if await _valid_members(tx, period, definition) is None and await _try_lock(tx, _period_key(period)):
            await db.execute(f'DROP TABLE "{name}"', client=tx)
            await db.execute(f"DELETE FROM {STAMP_TABLE} WHERE period = :period", {"period": period}, client=tx)


async def kept_members(tx, period: str, definition: str) -> tuple[str, int] | None:
    """Inside the run's transaction: (table, number of members) if the period's kept members are
    valid — the table then stays as it is until the run ends — else None."""
    await db.fetch("SELECT pg_advisory_xact_lock_shared(:key)", {"key": _period_key(period)}, client=tx)
    members = await _valid_members(tx, period, definition)
    return None if members is None else (table_of(period), members)
