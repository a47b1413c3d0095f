"""Preschool roster (学前教育政府资助名单): every roster mutation shows its `@window` in the schema."""

from __future__ import annotations

import re


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
        "withdrawPreschoolRosterEntries",
    ):
        assert lines[name].endswith("@window(action: ENTRY)"), name
    assert lines["schoolReviewPreschoolRosterEntries"].endswith("@window(action: SCHOOL_REVIEW)")
    assert lines["authorityReviewPreschoolRosterEntries"].endswith("@window(action: AUTHORITY_REVIEW)")
    assert "reviewPreschoolRosterEntries" not in lines
    assert re.search(r"enum WindowAction \{\s*ENTRY\s*SCHOOL_REVIEW\s*AUTHORITY_REVIEW\s*\}", sdl)
    assert "@window" not in lines["preschoolRoster"]
