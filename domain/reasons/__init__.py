"""Unfunded reasons (未资助原因) and the lists they belong to.

`reports` takes schools' reports and authorities' own-level reasons; `carryover` carries the 2023
autumn history into the new module. The published list they annotate is read by
`zizhu.domain.comparison.published_list`, next to the comparison that publishes it.
"""
