"""Staging table and set-based merge (暂存与合并) — the one place where the two dialects differ.

Validated rows go into a temporary table of the import's transaction: on PostgreSQL by COPY
(asyncpg `copy_records_to_table`), on SQLite by `executemany` batches. One INSERT … SELECT …
ON CONFLICT then merges it into the target: the last row of a duplicated key wins, and a row
whose columns are all unchanged is not touched, so re-importing a file writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.imports.kinds import Kind
from zizhu.domain.settings import SHANGHAI


@dataclass(frozen=True)
class MergeCounts:
    inserted: int
    updated: int
    distinct: int  # distinct upsert keys in the file


class Staging:
    def __init__(self, kind: Kind, tx) -> None:
        self.kind = kind
        self.tx = tx
        self.pg = db.is_postgres(tx)
        self.name = "zz_import_" + kind.table
        self.columns = ("row_no", *kind.columns)

    async def create(self) -> None:
        k = self.kind
        if self.pg:
            cols = ", ".join(f"{c} {k.typed.get(c, 'text')}" for c in k.columns)
            await db.execute(
                f"CREATE TEMP TABLE {self.name} (row_no integer NOT NULL, {cols}) ON COMMIT DROP", client=self.tx
            )
        else:
            await db.execute(f"DROP TABLE IF EXISTS temp.{self.name}", client=self.tx)
            await db.execute(
                f"CREATE TEMP TABLE {self.name} (row_no INTEGER NOT NULL, {', '.join(k.columns)})", client=self.tx
            )

    async def add(self, records: list[tuple]) -> None:
        """Stage (row_no, *columns) tuples."""
        if not records:
            return
        if self.pg:
            # COPY on the transaction's own asyncpg connection (tortoise exposes no COPY API).
            await self.tx._connection.copy_records_to_table(self.name, records=records, columns=self.columns)
        else:
            sql = f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({', '.join(':' + c for c in self.columns)})"
            await db.execute_many(sql, [dict(zip(self.columns, r)) for r in records], client=self.tx)

    def _merge_sql(self, dedupe: bool) -> str:
        k, s = self.kind, self.name
        keys = ", ".join(k.keys)
        now = "now()" if self.pg else ":now"
        targets = [*k.columns, *k.insert_only, *k.touched]
        values = [f"s.{c}" for c in k.columns] + list(k.insert_only.values()) + [now] * len(k.touched)
        sets = [f"{c} = excluded.{c}" for c in (*k.updated, *k.touched)]
        if self.pg:
            changed = [f"{k.table}.{c} IS DISTINCT FROM excluded.{c}" for c in k.updated]
        else:
            changed = [
                f"CAST({k.table}.{c} AS NUMERIC) IS NOT CAST(excluded.{c} AS NUMERIC)"
                if c in k.typed and k.typed[c].startswith("numeric")
                else f"{k.table}.{c} IS NOT excluded.{c}"
                for c in k.updated
            ]
        conflict = f"DO UPDATE SET {', '.join(sets)} WHERE {' OR '.join(changed)}" if changed else "DO NOTHING"
        return (
            f"INSERT INTO {k.table} ({', '.join(targets)}) SELECT {', '.join(values)} FROM {s} s "
            # Last row of a duplicated key wins; SQLite needs a WHERE before ON CONFLICT anyway.
            + (f"WHERE s.row_no IN (SELECT max(row_no) FROM {s} GROUP BY {keys}) " if dedupe else "WHERE true ")
            + f"ON CONFLICT ({keys}) {conflict}"
        )

    async def _after_merge(self) -> None:
        for sql in self.kind.after_merge:
            await db.execute(sql.replace("{staged}", self.name), client=self.tx)

    async def merge(self, staged: int) -> MergeCounts:
        """Merge the `staged` rows into the target table; returns what changed."""
        k, tx = self.kind, self.tx
        distinct = (
            await db.fetch(
                f"SELECT count(*) AS n FROM (SELECT 1 AS one FROM {self.name} GROUP BY {', '.join(k.keys)}) g",
                client=tx,
            )
        )[0]["n"]
        if self.pg:
            row = (
                await db.fetch(
                    f"WITH merged AS ({self._merge_sql(distinct < staged)} RETURNING (xmax = 0) AS fresh) "
                    "SELECT count(*) FILTER (WHERE fresh) AS inserted, count(*) FILTER (WHERE NOT fresh) AS updated FROM merged",
                    client=tx,
                )
            )[0]
            await self._after_merge()
            return MergeCounts(row["inserted"], row["updated"], distinct)
        count_sql = f"SELECT count(*) AS n FROM {k.table}"
        before = (await db.fetch(count_sql, client=tx))[0]["n"]
        now = dt.datetime.now(SHANGHAI)  # stored as tortoise stores auto_now values
        affected = await db.execute(self._merge_sql(distinct < staged), {"now": now} if k.touched else {}, client=tx)
        after = (await db.fetch(count_sql, client=tx))[0]["n"]
        await self._after_merge()
        await db.execute(f"DROP TABLE temp.{self.name}", client=tx)
        inserted = after - before
        return MergeCounts(inserted, affected - inserted, distinct)
