"""The Starlette application: /graphql (with GraphiQL), /healthz, and file downloads (templates, exports)."""
from __future__ import annotations

import contextlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from tortoise.contrib.starlette import RegisterTortoise

from zizhu.api.context import Clock, Context, system_clock
from zizhu.api.schema import schema
from zizhu.api.exports import ROUTES as export_routes
from zizhu.api.templates import ROUTES as template_routes
from zizhu.domain import db

EXTRA_ROUTES: list[Route] = [*template_routes, *export_routes]


class ZizhuGraphQL(GraphQL):
    def __init__(self, clock: Clock) -> None:
        super().__init__(schema, multipart_uploads_enabled=True)
        self.clock = clock

    async def get_context(self, request: Request, response: Any) -> Context:
        return Context(request=request, response=response, clock=self.clock)


async def healthz(request: Request) -> JSONResponse:
    try:
        await db.fetch("SELECT 1 AS ok")
    except Exception:  # noqa: BLE001 - health endpoint reports, never raises
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(database_url: str | None = None, clock: Clock = system_clock, manage_orm: bool = True) -> Starlette:
    """Build the app. With manage_orm the lifespan opens the ORM (tests may open it themselves)."""
    graphql = ZizhuGraphQL(clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if not manage_orm:
            yield
            return
        async with RegisterTortoise(app, config=db.tortoise_config(database_url)):
            yield

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        *EXTRA_ROUTES,
    ]
    return Starlette(routes=routes, lifespan=lifespan)
