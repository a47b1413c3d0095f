"""GraphiQL served offline: the page and its assets ship inside the package (api/web/static/graphiql),
so the IDE works on an intranet with no access to a public CDN.

The page asks for each asset with `?v=<hash of the assets>`: such an answer may be cached for a
year (`immutable`), since a new release has a new hash; an asset asked for without it (or with an
old hash) is revalidated every time.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"  # resolved: the strict editable install links files
PREFIX = "/static/graphiql/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@lru_cache(maxsize=1)
def assets_version() -> str:
    """A short hash of every asset: changes whenever one of them does."""
    digest = hashlib.sha256()
    for path in sorted(ASSETS.iterdir()):
        if path.is_file() and path.name != "page.html":
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def page_html() -> str:
    page = (ASSETS / "page.html").read_text(encoding="utf-8")
    version = assets_version()
    for path in ASSETS.iterdir():
        for quote in ('"', "'"):
            page = page.replace(f"{quote}{PREFIX}{path.name}{quote}", f"{quote}{PREFIX}{path.name}?v={version}{quote}")
    return page


class VersionedAssets:
    """The static files, with a long-lived Cache-Control when asked for at the current version."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        versioned = scope.get("query_string", b"") == f"v={assets_version()}".encode()

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                MutableHeaders(scope=message)["Cache-Control"] = IMMUTABLE if versioned else REVALIDATE
            await send(message)

        await self.app(scope, receive, send_with_cache)


ROUTES = [Mount("/static/graphiql", VersionedAssets(StaticFiles(directory=ASSETS)), name="graphiql-assets")]
