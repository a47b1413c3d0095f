"""Preschool roster (学前教育政府资助名单): every roster mutation shows its `@window` in the schema."""

from __future__ import annotations

import re

ROSTER = """query($p: String!, $s: String, $st: AidStatus, $f: Int, $a: String) {
  preschoolRoster(period: $p, schoolCode: $s) {
    period schoolCode schoolName totalCount now
    entries(status: $st, first: $f, after: $a) { edges { cursor node { id idNumber name amount status returnComment } } pageInfo { hasNextPage endCursor } }
    entryWindow { start end isOpen provinceCode } reviewWindow { start end isOpen provinceCode } } }"""
OTHER_SCHOOL = "2143000002"  # 芙蓉区实验小学 (school_op, school_rev), same county as KG


def test_the_window_directive_is_printed_on_every_roster_mutation():
    from pathlib import Path

    sdl = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8")
    assert "directive @window(action: WindowAction!) on FIELD_DEFINITION" in sdl
    # one line per field: drop the descriptions, join arguments printed one per line
    sdl = re.sub(r'\s*"""(?:.|\n)*?"""', "", sdl)
    sdl = re.sub(
        r"\(\s*\n([^)]*?)\n\s*\)", lambda m: "(" + ", ".join(a.strip() for a in m.group(1).splitlines()) + ")", sdl
    )
    lines = {line.strip().split("(")[0]: line for line in sdl.splitlines() if "PreschoolRoster" in line and "(" in line}
    for name in (
        "addPreschoolRosterEntry",
        "updatePreschoolRosterEntry",
        "deletePreschoolRosterEntry",
        "submitPreschoolRosterEntries",
        "importPreschoolRoster",
    ):
        assert lines[name].endswith("@window(action: ENTRY)"), name
    assert lines["reviewPreschoolRosterEntries"].endswith("@window(action: REVIEW)")
    assert "@window" not in lines["preschoolRoster"]
