"""Preschool government aid roster (学前教育政府资助名单).

`entries` holds the entry, withdrawal and two-level review workflow; `importer` the template batch
import and the template; `windows` the three configured time windows (entry, school review,
authority review) that guard them; `overview` a region's kindergartens for reviewers.
"""
