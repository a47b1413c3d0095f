"""Unfunded statistics, nested region rollups and school drill-down (未资助情况统计、逐级汇总、学校下钻).

Thin: scope and counting live in zizhu.domain.statistics. Per request, one DataLoader answers every
region's and school's statistics: the first batch of regions loads the precomputed rows of the whole
subtree under them, so the levels below are answered from memory; regions' children come from one
load of the subtree too. A province → cities → counties rollup costs a fixed number of statements.
Category cells are built only when a query selects them.

`types`: the figures' types; `loaders`: the per-request loads; `nodes`: the Region and School nodes;
`queries`: the root fields.
"""
