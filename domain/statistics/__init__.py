"""Unfunded statistics (未资助情况统计): counts of a region's subtree, its own level or a school,
per category and source, from the published runs' precomputed rows (`figures`).
"""
