"""The documentation stands on its own: every link in README.md and docs/ resolves to a file of
this repository (anchors to a heading of that file), and the docs cover what a user needs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_stay_inside_the_repository():
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            assert file.is_file() and ROOT in file.parents, f"{doc.name}: {target}"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)
                assert anchor in {_anchor(h) for h in headings}, f"{doc.name}: {target}"


def test_docs_cover_rules_formats_api_and_operations():
    text = {p.name: p.read_text(encoding="utf-8") for p in DOCS}
    assert all(
        kind in text["imports.md"]
        for kind in ("regions", "schools", "students", "aid", "special-groups", "legacy-reasons", "GB18030")
    )
    assert all(
        code in text["api.md"]
        for code in (
            "UNAUTHENTICATED",
            "FORBIDDEN",
            "NOT_FOUND",
            "VALIDATION",
            "CONFLICT",
            "WINDOW_CLOSED",
            "QUEUE_UNAVAILABLE",
            "pageInfo",
        )
    )
    assert all(word in text["domain.md"] for word in ("本级", "RETURNED", "carry", "02:00", "exclusive"))
    assert all(
        word in text["operations.md"] for word in ("ZIZHU_SECRET_KEY", "/readyz", "pg_dump", "migrate", "Scaling out")
    )
