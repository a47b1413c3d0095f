"""Unfunded statistics, nested region rollups and school drill-down (未资助情况统计、逐级汇总、学校下钻).

Design notes: docs/design/api-statistics.md."""
