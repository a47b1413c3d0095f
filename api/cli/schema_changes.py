"""Breaking changes of the schema (接口不兼容变更) against the last release, and the changelog's record.

`schema.graphql` is compared with the SDL of the previous release, kept in the repository as
`docs/schema/release-<version>.graphql` (copied from `schema.graphql` when a version is released), by
graphql-core's `find_breaking_changes`. Every breaking change must be recorded in the "Unreleased"
section of CHANGELOG.md by its schema coordinate (`Query.periods`, `ErrorCode.TIMEOUT`, `@window`);
`zizhu schema-changes` fails (exit 1) while one is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLSchema, build_schema, find_breaking_changes, find_dangerous_changes

RELEASES = Path("docs/schema")
SNAPSHOT = re.compile(r"release-(\d+(?:\.\d+)*)\.graphql")
_NAME = r"[_A-Za-z][_0-9A-Za-z]*"
_TOKEN = re.compile(rf"@{_NAME}|{_NAME}(?:\.{_NAME})?")
_UNRELEASED = re.compile(r"^## \[?Unreleased\]?[^\n]*\n(.*?)(?=^## |\Z)", re.M | re.S | re.I)


@dataclass(frozen=True)
class Break:
    coordinate: str  # the schema element that broke: `Type`, `Type.field`, `Enum.VALUE` or `@directive`
    description: str  # graphql-core's sentence
    recorded: bool  # named in the changelog's Unreleased section


def latest_release(folder: Path = RELEASES) -> Path | None:
    """The newest `release-<version>.graphql` in `folder` (by version, not by name), if any."""
    found = [
        (tuple(int(p) for p in m[1].split(".")), path)
        for path in folder.glob("release-*.graphql")
        if (m := SNAPSHOT.fullmatch(path.name))
    ]
    return max(found)[1] if found else None


def coordinate(description: str, old: GraphQLSchema) -> str:
    """The schema coordinate a graphql-core description names first (a directive, a field or value
    of a type of the old schema, or the type itself)."""
    for token in _TOKEN.findall(description):
        if token.startswith("@") or token.split(".")[0] in old.type_map:
            return token
    return description


def unreleased_section(changelog: str) -> str:
    """The text of the changelog's `## [Unreleased]` section ('' when there is none)."""
    match = _UNRELEASED.search(changelog)
    return match[1] if match else ""


def breaking_changes(old_sdl: str, new_sdl: str, changelog: str) -> list[Break]:
    """The breaking changes from `old_sdl` to `new_sdl`, each marked recorded or not."""
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    notes = unreleased_section(changelog)
    out = []
    for change in find_breaking_changes(old, new):
        where = coordinate(change.description, old)
        named = re.search(rf"(?<![\w.@]){re.escape(where)}(?![\w])", notes) is not None
        out.append(Break(where, change.description, named))
    return out


def dangerous_changes(old_sdl: str, new_sdl: str) -> list[str]:
    """Changes that keep every operation valid but may surprise a client (an enum value added…)."""
    return [c.description for c in find_dangerous_changes(build_schema(old_sdl), build_schema(new_sdl))]
