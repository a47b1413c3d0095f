"""Preschool government aid roster (学前教育政府资助名单).

`entries` holds the entry and two-level review workflow; `importer` the template batch import and
the template; `windows` the configured entry/review time windows that guard both.
"""
