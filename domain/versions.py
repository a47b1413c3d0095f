"""Data versions (数据版本): counters that tell a cache whether what it holds is still current.

Design notes: docs/design/domain.md."""

from __future__ import annotations

from zizhu.domain import db

STATISTICS = "statistics"
COUNTERS = "counters"  # the reason counters': `counters`, `counters/PP` (wholesale), `counters/RRRRRR` (a region's)


def name_of(province: str | None) -> str:
    """The version of one province ('11'), or the global one (None or '')."""
    if not province:
        return STATISTICS
    if not (len(province) == 2 and province.isdigit()):
        raise ValueError(f"not a province code: {province!r}")
    return f"{STATISTICS}/{province}"


async def bump(client=None, name: str = STATISTICS, province: str | None = None) -> None:
    """Move a version (call inside the writing transaction, as its last statement if possible:
    concurrent writers queue on the row only from here to their commit). With `province`, that
    province's version; else `name`."""
    await db.execute(
        "INSERT INTO data_version (name, value) VALUES (:name, 1)"
        " ON CONFLICT (name) DO UPDATE SET value = data_version.value + 1",
        {"name": name_of(province) if province else name},
        client=client,
    )


async def bump_provinces(client, provinces) -> None:
    """Move the version of each province (in code order, so concurrent writers queue, never deadlock)."""
    for province in sorted({p for p in provinces if p and p != "00"}):
        await bump(client, province=province)


async def bump_areas(client, provinces: list[str] | None) -> None:
    """Move the versions of these provinces, or the global one (every area) for None or when the
    nation ('00') is among them."""
    if provinces is None or "00" in provinces:
        await bump(client)
    else:
        await bump_provinces(client, provinces)


async def current(name: str = STATISTICS, client=None) -> int:
    rows = await db.fetch("SELECT value FROM data_version WHERE name = :name", {"name": name}, client=client)
    return int(rows[0]["value"]) if rows else 0


async def for_province(province: str | None, client=None) -> tuple[int, int]:
    """(global version, the province's version) — for the nation (None) the sum of every
    province's, which moves with each of them."""
    if province:
        where, params = "name = :province", {"province": name_of(province)}
    else:
        where, params = "name LIKE :provinces", {"provinces": f"{STATISTICS}/%"}
    rows = await db.fetch(
        "SELECT SUM(CASE WHEN name = :g THEN value ELSE 0 END) AS g,"
        " SUM(CASE WHEN name = :g THEN 0 ELSE value END) AS p"
        f" FROM data_version WHERE name = :g OR {where}",
        {"g": STATISTICS, **params},
        client=client,
    )
    return (int(rows[0]["g"] or 0), int(rows[0]["p"] or 0)) if rows else (0, 0)


def counters_name(code: str = "") -> str:
    """The version of the reason counters of every province (''), of one province ('43': counted
    again wholesale) or of one region's schools ('430102': moved by reports)."""
    if code and not (len(code) in (2, 6) and code.isdigit()):
        raise ValueError(f"not a province or region code: {code!r}")
    return f"{COUNTERS}/{code}" if code else COUNTERS


async def bump_counters(client, codes) -> None:
    """Move the reason counters' versions of these regions or provinces (in name order, so
    concurrent writers queue, never deadlock); '' moves every province's."""
    for name in sorted({counters_name(c) for c in codes}):
        await bump(client, name=name)


async def counter_versions(prefix: str, client=None) -> dict[str, int]:
    """The reason counters' versions that the counters under a region code prefix depend on: the
    global one, the province's (every province's for the nation) and each region's that has one."""
    # [counters/<prefix>, counters/<next prefix>): the names under the prefix ('0' follows '/')
    following = f"{prefix[:-1]}{chr(ord(prefix[-1]) + 1)}" if prefix else None
    params = {
        "g": COUNTERS,
        "lo": f"{COUNTERS}/{prefix}",
        "hi": f"{COUNTERS}/{following}" if following else f"{COUNTERS}0",
    }
    where = "name = :g OR (name >= :lo AND name < :hi)"
    if len(prefix) > 2:
        where += " OR name = :p"
        params["p"] = counters_name(prefix[:2])
    rows = await db.fetch(f"SELECT name, value FROM data_version WHERE {where}", params, client=client)
    return {r["name"]: int(r["value"]) for r in rows}
