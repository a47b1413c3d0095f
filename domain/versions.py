"""Data versions (数据版本): counters that tell a cache whether what it holds is still current.

Every write that changes what the cached read path answers — a reason reported, a run published,
a carry-over, an import — moves the `statistics` version inside its own transaction. A cached
answer remembers the version it was computed at and is served only while the committed version is
the same: a reader that saw the old version computed its answer before that write committed, so an
answer is never served after the write that made it stale has committed.
"""

from __future__ import annotations

from zizhu.domain import db

STATISTICS = "statistics"


async def bump(client=None, name: str = STATISTICS) -> None:
    """Move the version (call inside the writing transaction, as its last statement if possible:
    concurrent writers queue on the row only from here to their commit)."""
    await db.execute(
        "INSERT INTO data_version (name, value) VALUES (:name, 1)"
        " ON CONFLICT (name) DO UPDATE SET value = data_version.value + 1",
        {"name": name},
        client=client,
    )


async def current(name: str = STATISTICS, client=None) -> int:
    rows = await db.fetch("SELECT value FROM data_version WHERE name = :name", {"name": name}, client=client)
    return int(rows[0]["value"]) if rows else 0
