"""Unmatched special-group members (未匹配学籍的特殊群体成员) of the published runs.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.engine import published_sources
from zizhu.domain.comparison.published_list import categories_in, keyset_page, keyset_params
from zizhu.domain.comparison.steps import home_region_sql
from zizhu.domain.reference.codes import Category, Source
from zizhu.domain.reference.identity import mask_id_number, region_prefix
from zizhu.domain.reference.periods import parse_semester

Sources = list[tuple[int, str | None, tuple[str, ...]]]


@dataclass(frozen=True)
class UnmatchedMember:
    row_id: int
    id_number: str  # masked
    name: str
    region_code: str  # the region of the ID number (registration), as the region table lists it
    categories: list[Category]
    central: list[Category]
    self_collected: list[Category]

    @property
    def sources(self) -> list[Source]:
        return [s for s, cats in ((Source.CENTRAL, self.central), (Source.SELF, self.self_collected)) if cats]


def rows_of_runs(sources: Sources, alias: str) -> str:
    """SQL condition: the `unmatched_member` rows (alias) of the published runs; a national run's
    rows of a province that has a newer run of its own are left out. Values are ints and
    2-digit provinces, inlined after validation."""
    if not sources:
        return "1 = 0"
    parts = []
    for run_id, _, excluded in sources:
        cond = f"{alias}.run_id = {int(run_id)}"
        provinces = [p for p in excluded if p.isdigit() and len(p) == 2]
        if provinces:
            cond += f" AND {alias}.province NOT IN ({', '.join(repr(p) for p in provinces)})"
        parts.append(f"({cond})")
    return "(" + " OR ".join(parts) + ")"


def in_subtree(prefix: str, column: str, params: dict, name: str = "p") -> str:
    """[prefix, next prefix) of a region code column; every row for the nation (prefix '')."""
    if not prefix:
        return "1 = 1"
    params.update({f"{name}lo": prefix, f"{name}hi": prefix[:-1] + chr(ord(prefix[-1]) + 1)})
    return f"{column} >= :{name}lo AND {column} < :{name}hi"


def _member_filters(alias: str, category: Category | None, source: Source | None, params: dict) -> list[str]:
    if category is not None:
        params["bit"] = category.bit
        mask = {None: f"({alias}.central_mask | {alias}.self_mask)", Source.CENTRAL: f"{alias}.central_mask"}.get(
            source, f"{alias}.self_mask"
        )
        return [f"({mask} & :bit) <> 0"]
    if source is not None:
        return [f"{alias}.central_mask <> 0" if source == Source.CENTRAL else f"{alias}.self_mask <> 0"]
    return []


def _first_in_area(sources: Sources, prefix: str, params: dict) -> str:
    """SQL: row u is its member's first row among the area's rows (so each member is listed once)."""
    return f"""NOT EXISTS (SELECT 1 FROM unmatched_member v
                  WHERE v.id_number = u.id_number AND v.id < u.id AND {rows_of_runs(sources, "v")}
                    AND {in_subtree(prefix, "v.region_code", params)})"""


async def _scope(viewer: Viewer, period: str, region_code: str | None) -> tuple[str, str]:
    """(period code, subtree prefix of the region asked for); FORBIDDEN for schools, NOT_FOUND outside."""
    region = await viewer.region(region_code)
    return parse_semester(period).code, region_prefix(region.code)


async def list_unmatched(
    viewer: Viewer,
    period: str,
    *,
    region_code: str | None = None,
    category: Category | None = None,
    source: Source | None = None,
    first: int = 50,
    after: int | None = None,
) -> tuple[list[UnmatchedMember], bool]:
    """One page of a region's unmatched members (keyset on the row id), and whether more follow."""
    period, prefix = await _scope(viewer, period, region_code)
    params: dict = keyset_params(first, after)
    sources = await published_sources(period)
    where = [rows_of_runs(sources, "u"), "u.id > :after", in_subtree(prefix, "u.region_code", params)]
    where += _member_filters("u", category, source, params)
    where.append(_first_in_area(sources, prefix, params))
    rows = await db.fetch(
        f"""SELECT u.id, u.id_number, u.name, u.central_mask, u.self_mask, {home_region_sql("u.id_number")} AS home
              FROM unmatched_member u WHERE {" AND ".join(where)} ORDER BY u.id LIMIT :limit""",
        params,
    )
    return keyset_page([_member(r) for r in rows], params["limit"])


async def count_unmatched(
    viewer: Viewer,
    period: str,
    *,
    region_code: str | None = None,
    category: Category | None = None,
    source: Source | None = None,
) -> int:
    """How many distinct members `list_unmatched` lists (totalCount)."""
    period, prefix = await _scope(viewer, period, region_code)
    params: dict = {}
    sources = await published_sources(period)
    where = [rows_of_runs(sources, "u"), in_subtree(prefix, "u.region_code", params)]
    where += _member_filters("u", category, source, params)
    (row,) = await db.fetch(
        f"SELECT COUNT(DISTINCT u.id_number) AS n FROM unmatched_member u WHERE {' AND '.join(where)}", params
    )
    return int(row["n"] or 0)


def _member(r: dict) -> UnmatchedMember:
    return UnmatchedMember(
        row_id=r["id"],
        id_number=mask_id_number(r["id_number"]),
        name=r["name"],
        region_code=r["home"],
        categories=categories_in(r["central_mask"] | r["self_mask"]),
        central=categories_in(r["central_mask"]),
        self_collected=categories_in(r["self_mask"]),
    )


# The regions a row of `region_code` counts in: the nation, its province, city and county (the
# subtrees, kind 'S'), and its own region exactly (own level, kind 'O').
_LEVELS = (
    ("'000000'", "'S'", "1 = 1"),
    ("substr(u.region_code, 1, 2) || '0000'", "'S'", "u.region_code <> '000000'"),
    ("substr(u.region_code, 1, 4) || '00'", "'S'", "substr(u.region_code, 3, 2) <> '00'"),
    ("u.region_code", "'S'", "substr(u.region_code, 5, 2) <> '00'"),
    ("u.region_code", "'O'", "1 = 1"),
)


async def counts_by_region(sources: Sources, prefix: str) -> dict[tuple[str, str], int]:
    """{(region code, 'S' subtree / 'O' own level): distinct unmatched members} for every region
    under `prefix` that has any — one grouped statement (`UnfundedStatistics.unmatched`). Keys
    above the prefix are not complete and must not be read."""
    params: dict = {}
    area = in_subtree(prefix, "u.region_code", params)
    selects = " UNION ALL ".join(
        f"SELECT {region} AS region_code, {kind} AS kind, u.id_number FROM unmatched_member u"
        f" WHERE {rows_of_runs(sources, 'u')} AND {area} AND {condition}"
        for region, kind, condition in _LEVELS
    )
    rows = await db.fetch(
        f"SELECT region_code, kind, COUNT(DISTINCT id_number) AS n FROM ({selects}) x GROUP BY region_code, kind",
        params,
    )
    return {(r["region_code"], r["kind"]): int(r["n"]) for r in rows}
