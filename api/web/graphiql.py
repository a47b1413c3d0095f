"""GraphiQL served offline: the page and its assets ship inside the package (api/web/static/graphiql),
so the IDE works on an intranet with no access to a public CDN."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"  # resolved: the strict editable install links files


@lru_cache(maxsize=1)
def page_html() -> str:
    return (ASSETS / "page.html").read_text(encoding="utf-8")


ROUTES = [Mount("/static/graphiql", StaticFiles(directory=ASSETS), name="graphiql-assets")]
