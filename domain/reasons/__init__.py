"""Unfunded reasons (未资助原因) and the lists they belong to.

`reports` takes schools' reports and authorities' own-level reasons; `unfunded_list` reads the
published unfunded list and the read-only poverty-family history; `carryover` carries the 2023
autumn history into the new module.
"""
