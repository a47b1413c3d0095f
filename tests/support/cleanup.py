"""Per-test clean-up: every test starts from the same data (empty data tables, the code lists and
the nation's region row seeded), at the price of the tables the previous test actually changed.

`Baseline.take` records, once per session, the rows of the seeded tables after a full reset.
`Baseline.restore`, before each test, finds the changed tables in a couple of queries — a data
table holding any row (or, on PostgreSQL, whose sequence has moved), a seeded table whose rows
differ from the recorded ones — and resets only those: DELETE (on PostgreSQL the sequences
restarted, as TRUNCATE … RESTART IDENTITY did), then the recorded rows of a seeded table put back.
Truncating every table and re-seeding took most of a small test's time on PostgreSQL, and a
DELETE of a test's few rows is cheaper there than a TRUNCATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zizhu.domain import db
from zizhu.domain.installation import seed_code_lists

SEEDED_TABLES = ("stage_code", "category_code", "reason_code", "aid_project", "region")
IGNORED_TABLES = {"tortoise_migrations"}


async def _tables() -> list[str]:
    """Every table of the database (tables are also created at run time, e.g. kept members)."""
    if db.is_postgres():
        rows = await db.fetch("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")
    else:
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return sorted(r["name"] for r in rows if r["name"] not in IGNORED_TABLES)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


async def _rows(table: str) -> list[tuple]:
    return [tuple(r.values()) for r in await db.fetch(f"SELECT * FROM {_quote(table)} ORDER BY 1")]


_OWNED_SEQUENCES = """SELECT t.relname AS name, q.sequencename, q.start_value FROM pg_sequences q
                        JOIN pg_class s ON s.relname = q.sequencename AND s.relkind = 'S'
                        JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
                        JOIN pg_class t ON t.oid = d.refobjid
                       WHERE q.schemaname = 'public' AND q.last_value IS NOT NULL"""


async def _non_empty(tables: list[str]) -> set[str]:
    """The tables holding at least one row, and on PostgreSQL those whose sequence has moved."""
    probes = [f"SELECT {_literal(t)} AS name WHERE EXISTS (SELECT 1 FROM {_quote(t)})" for t in tables]
    names = {r["name"] for r in await db.fetch(" UNION ALL ".join(probes))} if probes else set()
    if db.is_postgres():  # an insert rolled back leaves no row but moves the sequence
        names |= {r["name"] for r in await db.fetch(_OWNED_SEQUENCES) if r["name"] in tables}
    return names


async def _empty(tables: list[str]) -> None:
    """DELETE (cheaper than TRUNCATE for the few rows a test writes), then on PostgreSQL restart
    the tables' sequences as TRUNCATE … RESTART IDENTITY did."""
    for t in tables:
        await db.execute(f"DELETE FROM {_quote(t)}")
    if tables and db.is_postgres():
        for r in await db.fetch(_OWNED_SEQUENCES):
            if r["name"] in tables:
                await db.fetch(
                    f"SELECT setval({_literal(_quote(r['sequencename']))}::regclass, {int(r['start_value'])}, false)"
                )


async def _insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    names = ", ".join(_quote(c) for c in columns)
    marks = ", ".join(f":c{i}" for i in range(len(columns)))
    for row in rows:
        await db.execute(
            f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})", {f"c{i}": v for i, v in enumerate(row)}
        )


@dataclass
class Baseline:
    """The seeded tables' rows (and column names) every test starts from."""

    rows: dict[str, list[tuple]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    async def take(cls) -> Baseline:
        """Empty every table, seed the code lists and record the seeded rows."""
        await _empty([t for t in await _tables() if t != "aid_project"])
        await db.execute("DELETE FROM aid_project")  # the catalogue is only created when missing
        await seed_code_lists()
        baseline = cls()
        for table in SEEDED_TABLES:
            rows = await db.fetch(f"SELECT * FROM {_quote(table)} ORDER BY 1")
            baseline.rows[table] = [tuple(r.values()) for r in rows]
            baseline.columns[table] = list(rows[0].keys()) if rows else []
        return baseline

    async def changed(self) -> list[str]:
        """The tables that differ from the baseline."""
        tables = await _tables()
        data = [t for t in tables if t not in self.rows]
        dirty = await _non_empty(data)
        for table in SEEDED_TABLES:
            if await _rows(table) != self.rows[table]:
                dirty.add(table)
        return sorted(dirty)

    async def restore(self) -> list[str]:
        """Reset the changed tables to the baseline; returns their names."""
        dirty = await self.changed()
        await _empty(dirty)
        for table in dirty:
            if self.rows.get(table):
                await _insert(table, self.columns[table], self.rows[table])
        return dirty
