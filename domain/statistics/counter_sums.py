"""Reason counter sums per region (原因计数逐级汇总), kept per process and brought up to date region
by region: after one school's report only its region's counters are read again.

Design notes: docs/design/domain-statistics.md."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from zizhu.domain import db, versions
from zizhu.domain.comparison.steps import counted, stat_columns
from zizhu.domain.statistics.content import Content

COLUMNS = [c for c, _, _ in stat_columns("reported")]
_ALL = [i for i, (_, _, source) in enumerate(stat_columns("reported")) if source == "all"]
Sums = tuple[int, ...]  # one value per COLUMNS
Key = tuple[str, str]  # (region code, 'S' subtree / 'O' own level), as region_statistic's rows
Row = tuple[dict[str, int], dict[str, dict[str, int]], Content]  # every column, per code, both as sorted items
KEPT = 16


def chain(region: str) -> list[Key]:
    """The region keys whose sums count the schools whose region is `region`: the nation's,
    its province's, its city's and its county's subtrees, and its own level."""
    keys = [("000000", "S")]
    if region != "000000":
        keys.append((region[:2] + "0000", "S"))
    if region[2:4] != "00":
        keys.append((region[:4] + "00", "S"))
    if region[4:6] != "00":
        keys.append((region, "S"))
    keys.append((region, "O"))
    return keys


def _add(into: dict[str, list[int]], code: str, sums: Sums, sign: int) -> None:
    have = into.get(code)
    if have is None:
        have = into[code] = [0] * len(COLUMNS)
    for i, v in enumerate(sums):
        have[i] += sign * v


@dataclass
class _State:
    """Every region's counter sums per reason code, each with the version it was read at, and
    their roll-up per region key."""

    generations: dict[str, int]
    leaves: dict[str, tuple[int, dict[str, Sums]]] = field(default_factory=dict)
    keys: dict[Key, dict[str, list[int]]] = field(default_factory=dict)
    rows: dict[Key, Row] = field(default_factory=dict)

    def put(self, region: str, version: int, sums: dict[str, Sums]) -> set[Key]:
        """Replace a region's sums (applying the difference to its chain); the keys it changed."""
        _, old = self.leaves.get(region, (0, {}))
        self.leaves[region] = (version, sums)
        if old == sums:
            return set()
        touched = chain(region)
        for key in touched:
            rolled = self.keys.setdefault(key, {})
            for code, values in old.items():
                _add(rolled, code, values, -1)
                _add(rolled, "", values, -1)
            for code, values in sums.items():
                _add(rolled, code, values, 1)
                _add(rolled, "", values, 1)
        return set(touched)

    def render(self, keys) -> None:
        """The rows Figures merges for these keys: every column over all codes, and per code
        its `_all` columns (codes and keys that count nobody are left out), and both as sorted
        items (what the figures' content key holds)."""
        for key in keys:
            rolled = self.keys.get(key, {})
            total = rolled.get("")
            if not total or not any(total):
                self.rows.pop(key, None)
                continue
            by_code = {
                code: {COLUMNS[i]: values[i] for i in _ALL}
                for code, values in sorted(rolled.items())
                if code and any(values)
            }
            every = dict(zip(COLUMNS, total))
            shown = Content(
                (
                    tuple(sorted(every.items())),
                    tuple((code, tuple(sorted(r.items()))) for code, r in by_code.items()),
                )
            )
            self.rows[key] = (every, by_code, shown)


_STATES: OrderedDict[tuple, _State] = OrderedDict()


async def region_rows(runs: str, stages: str, prefix: str, memo_key: tuple) -> dict[Key, Row]:
    """The reason counters of the published runs (`runs`, `stages`: conditions on reason_count t)
    of the regions under `prefix`, per region key: (every reported_ column over all codes, per
    reason code its reported_<category>_all columns, both as sorted items). The versions are read first: counters read
    after them are at least as new, so a region is read again only when its version has moved
    since (a report there), and everything when a generation has (counted again wholesale).
    Callers must not change what they get."""
    found = await versions.counter_versions(prefix)
    cut = len(versions.COUNTERS) + 1
    regions = {name[cut:]: value for name, value in found.items() if len(name) == cut + 6}
    generations = {name: value for name, value in found.items() if len(name) != cut + 6}
    state = _STATES.get(memo_key)
    if state is None or state.generations != generations:
        state = _State(generations)
        stale = None  # every region under the prefix
    else:
        stale = sorted(r for r, v in regions.items() if state.leaves.get(r, (0, {}))[0] != v)
        if not stale:
            _STATES.move_to_end(memo_key)
            return state.rows
    params: dict = {}
    if stale is None:
        where = "1 = 1"
        if prefix:
            params.update(lo=prefix, hi=prefix[:-1] + chr(ord(prefix[-1]) + 1))
            where = "t.region_code >= :lo AND t.region_code < :hi"
    else:
        params.update({f"r{i}": r for i, r in enumerate(stale)})
        where = f"t.region_code IN ({', '.join(f':r{i}' for i in range(len(stale)))})"
    sums = ", ".join(
        f"SUM({counted(number, source, 't.central_mask', 't.self_mask')} * t.n) AS {column}"
        for column, number, source in stat_columns("reported")
    )
    read: dict[str, dict[str, Sums]] = {r: {} for r in (regions if stale is None else stale)}
    for row in await db.fetch(
        f"SELECT t.region_code, t.reason_code, {sums} FROM reason_count t"
        f" WHERE {runs} AND {stages} AND {where} GROUP BY t.region_code, t.reason_code",
        params,
    ):
        read.setdefault(row["region_code"], {})[row["reason_code"]] = tuple(int(row[c] or 0) for c in COLUMNS)
    touched: set[Key] = set()
    for region, by_code in read.items():
        touched |= state.put(region, regions.get(region, 0), by_code)
    state.render(touched)
    _STATES[memo_key] = state
    _STATES.move_to_end(memo_key)
    while len(_STATES) > KEPT:
        _STATES.popitem(last=False)
    return state.rows
