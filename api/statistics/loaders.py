"""Per-request loads: one load answers every region's and school's statistics of a request, and one
load of the region subtree gives every region's children."""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from zizhu.api.gql.enums import Stage
from zizhu.api.statistics.types import UnfundedStatistics
from zizhu.domain.comparison import modules
from zizhu.domain.models import Region as RegionRow
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.statistics import figures as stats
from zizhu.domain.statistics import schools as school_lists

Key = tuple[str, tuple[str, ...], str, stats.Area]  # (period code, stages, project '' or a module's, area)


class StatisticsLoads:
    """The figures loaded in this request. A batch of keys that no load (finished or still running)
    covers starts one load of the whole subtree under its regions (and of its schools)."""

    def __init__(self) -> None:
        self.loads: list[tuple[stats.Figures, asyncio.Future]] = []

    def _find(self, period: str, stages: tuple[str, ...], project: str, area: stats.Area):
        for figures, done in self.loads:
            if (
                figures.period == period
                and figures.stages == stages
                and figures.project == project
                and figures.covers(area)
            ):
                return figures, done
        return None

    async def __call__(self, keys: list[Key]) -> list[UnfundedStatistics]:
        missing: dict[tuple[str, tuple[str, ...], str], list[stats.Area]] = defaultdict(list)
        for period, stages, project, area in keys:
            if self._find(period, stages, project, area) is None:
                missing[(period, stages, project)].append(area)
        for (period, stages, project), areas in missing.items():
            figures = stats.Figures.plan(period, list(stages), areas, whole_subtree=True, project=project)
            self.loads.append((figures, asyncio.ensure_future(figures.fill())))
        found = [self._find(p, s, j, a) for p, s, j, a in keys]
        for _, done in {id(f): f for f in found}.values():
            await done
        return [UnfundedStatistics.from_domain(figures.of(key[3])) for (figures, _), key in zip(found, keys)]


class RegionTree:
    """Regions loaded in this request: children of a parent come from one load of the subtree
    under the first parents asked for."""

    def __init__(self) -> None:
        self.loads: list[tuple[str, dict[str, list[RegionRow]]]] = []  # (prefix, children by parent)

    def _find(self, parent: str) -> list[RegionRow] | None:
        own = region_prefix(parent)
        for prefix, children in self.loads:
            if own.startswith(prefix):
                return children.get(parent, [])
        return None

    async def __call__(self, parents: list[str]) -> list[list[RegionRow]]:
        missing = [p for p in parents if self._find(p) is None]
        if missing:
            prefix = os.path.commonprefix([region_prefix(p) for p in missing])
            query = RegionRow.all()
            if prefix:
                query = query.filter(code__gte=prefix, code__lt=prefix[:-1] + chr(ord(prefix[-1]) + 1))
            children: dict[str, list[RegionRow]] = defaultdict(list)
            for row in await query.order_by("code"):
                if row.parent_code is not None:  # the nation is no region's child
                    children[row.parent_code].append(row)
            self.loads.append((prefix, children))
        return [self._find(p) or [] for p in parents]


async def _stages_of(codes: list[str]) -> list[list[Stage]]:
    served = await school_lists.stages_of(codes)
    return [served[c] for c in codes]


def _loader(info: Info, name: str, load) -> DataLoader:
    return info.context.loader(name, lambda: DataLoader(load_fn=load()))


async def _module(info: Info, project: str | None, stage) -> modules.Module:
    """The list a statistics field reads (stage-wide, or a project's module), once per request."""
    known = info.context.loader("statistics-modules", dict)
    if (project, stage) not in known:
        known[(project, stage)] = await modules.module_for(await info.context.viewer(), project, stage)
    return known[(project, stage)]


async def _area_statistics(
    info: Info, area: stats.Area, period: str, stage, project: str | None = None
) -> UnfundedStatistics:
    module = await _module(info, project, stage)
    key = (parse_semester(period).code, tuple(module.stages), module.project, area)
    return await _loader(info, "unfunded-statistics", StatisticsLoads).load(key)
