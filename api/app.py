"""The Starlette application: /graphql (with GraphiQL), /healthz, /readyz, /metrics and file downloads (templates, exports)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET
from tortoise.contrib.starlette import RegisterTortoise

from zizhu.api import operations
from zizhu.api.exports import ROUTES as export_routes
from zizhu.api.gql.context import Clock, Context, system_clock
from zizhu.api.gql.response_cache import DEFAULT_MAX_BYTES, ResponseCache
from zizhu.api.schema import schema
from zizhu.api.templates import ROUTES as template_routes
from zizhu.api.web import access_log, graphiql
from zizhu.api.web.body_limits import BodyLimit
from zizhu.api.web.media import GRAPHQL_RESPONSE, is_request_error, wants_graphql_response
from zizhu.api.web.security import SecurityHeaders
from zizhu.domain import db, settings
from zizhu.domain.errors import DomainError
from zizhu.domain.imports import reader
from zizhu.domain.operations import log_redaction, logs

if TYPE_CHECKING:
    from cross_web import AsyncHTTPRequestAdapter  # strawberry's request adapter (its dependency)

log = logging.getLogger("zizhu.api")
EXTRA_ROUTES: list[Route] = [*template_routes, *export_routes]
# Answers of at least GZIP_MIN_BYTES are compressed for clients that accept gzip (JSON, CSV, the
# GraphiQL assets); a streamed CSV download is compressed chunk by chunk and stays streamed.
# Workbooks are zip files already. Level 1: a 220 kB statistics answer shrinks 6x in ~2 ms (level 6:
# 8x in ~5 ms), which matters when a cached dashboard answer costs ~9 ms to send.
GZIP_MIN_BYTES = 1_000
GZIP_LEVEL = 1
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIDDLEWARE: list[Middleware] = [
    Middleware(access_log.AccessLog),
    Middleware(
        GZipMiddleware,
        minimum_size=GZIP_MIN_BYTES,
        compresslevel=GZIP_LEVEL,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX),
    ),
    Middleware(SecurityHeaders),
]


@dataclasses.dataclass
class CachedAnswer(ExecutionResult):
    """An answer already encoded (from the response cache, or just put into it)."""

    body: bytes = b""


class PreEncoded(dict):
    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body


class ZizhuGraphQL(GraphQL[Context, None]):
    def __init__(self, clock: Clock, cache: ResponseCache | None = None) -> None:
        super().__init__(
            schema, multipart_uploads_enabled=True, graphql_ide="graphiql" if settings.load().graphiql_enabled else None
        )
        self.clock = clock
        self.cache = cache

    @property
    def graphql_ide_html(self) -> str:
        return graphiql.page_html()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(request=request, response=response, clock=self.clock)

    async def _cache_key(self, context: Context, data) -> tuple[str | None, object]:
        if self.cache is None:
            return None, 0
        try:
            viewer = await context.viewer()
            key = self.cache.key_for(viewer, data.query, data.variables, data.operation_name)
            return key, (await self.cache.version(viewer) if key else 0)
        except DomainError:
            return None, 0  # answered (with its error) by the schema
        except Exception as error:  # the database went away: executed uncached, errors coded there
            if not db.is_connection_lost(error):
                raise
            log.warning("database connection lost (%s): pool renewed, answered uncached", type(error).__name__)
            await db.expire_connections()
            return None, 0

    async def _execute(self, *args: Any) -> ExecutionResult:
        result = await super().execute_single(*args)
        if any(db.is_connection_lost(e.original_error) for e in result.errors or ()):
            await db.expire_connections()  # the next request gets fresh connections
        return result

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        key, version = await self._cache_key(context, request_data)
        if self.cache is None or key is None:
            return await self._execute(request, request_adapter, sub_response, context, root_value, request_data)
        cache = self.cache
        if (body := cache.get(key, version)) is not None:
            logs.note(operation=(request_data.operation_name or "")[: access_log.MAX_OPERATION] or None)
            return CachedAnswer(data=None, errors=None, body=body)

        async def compute() -> ExecutionResult:
            result = await self._execute(request, request_adapter, sub_response, context, root_value, request_data)
            if result.errors or result.data is None:
                return result
            encoded = self.encode_json(await self.process_result(request, result))
            body = encoded.encode() if isinstance(encoded, str) else encoded
            cache.put(key, version, body)  # kept for the versions read before it was computed
            return CachedAnswer(data=None, errors=None, body=body)

        return await cache.single_flight(key, version, compute)

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        """A cached answer as it was encoded; for application/graphql-response+json a request
        error is a 400 without `data`."""
        if isinstance(result, CachedAnswer):
            request.state.cached_body = result.body  # sent compressed as the cache keeps it (`run`)
            return PreEncoded(result.body)
        answer = await super().process_result(request, result)
        if wants_graphql_response(request.headers) and is_request_error(result):
            answer.pop("data", None)
            request.state.graphql_status = 400
        return answer

    def encode_json(self, data: object) -> str | bytes:
        """UTF-8 JSON by orjson (a 530 kB rollup in ~2 ms; the standard encoder takes ~10 times longer)."""
        if isinstance(data, PreEncoded):
            return data.body
        return orjson.dumps(data)

    async def run(self, request, context=UNSET, root_value=UNSET):
        response = await super().run(request, context, root_value)
        self._send_compressed(request, response)
        if (
            isinstance(response, Response)
            and response.media_type == "application/json"
            and wants_graphql_response(request.headers)
        ):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            response.status_code = getattr(request.state, "graphql_status", response.status_code)
        return response

    def _send_compressed(self, request: Request, response: object) -> None:
        """An answer from the response cache, to a client that accepts gzip, as the cache's gzip of
        it (made once), which the gzip middleware then leaves as it is."""
        body = getattr(request.state, "cached_body", None)
        if (
            self.cache is None
            or body is None
            or not isinstance(response, Response)
            or len(body) < GZIP_MIN_BYTES
            or "gzip" not in request.headers.get("accept-encoding", "")
            or response.body != body
        ):
            return
        response.body = self.cache.gzipped(body, GZIP_LEVEL)
        response.headers["content-encoding"] = "gzip"
        response.headers["content-length"] = str(len(response.body))
        response.headers.add_vary_header("Accept-Encoding")


async def healthz(request: Request) -> JSONResponse:
    try:
        await db.fetch("SELECT 1 AS ok")
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(
    database_url: str | None = None,
    clock: Clock = system_clock,
    manage_orm: bool = True,
    response_cache_bytes: int = DEFAULT_MAX_BYTES,
) -> Starlette:
    """Build the app. With manage_orm the lifespan opens the ORM (tests may open it themselves);
    response_cache_bytes 0 turns the response cache off."""
    log_redaction.install()
    graphql = ZizhuGraphQL(clock, ResponseCache(response_cache_bytes) if response_cache_bytes else None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if not manage_orm:
            yield
            return
        async with RegisterTortoise(app, config=db.api_config(database_url)):
            # what start-up built (modules, schema, ORM) lives as long as the process: kept out of
            # the collector's full passes, which otherwise walk it all (~100 ms) amid requests
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
        await asyncio.to_thread(reader.stop_parser_processes)

    routes = [
        Route("/graphql", BodyLimit(graphql), methods=["GET", "POST"]),
        Route("/healthz", healthz),
        *operations.ROUTES,
        *graphiql.ROUTES,
        *EXTRA_ROUTES,
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[*MIDDLEWARE, *_cors()])
    app.state.response_cache = graphql.cache
    return app


def create_served_app() -> Starlette:
    """The app of one server process of `zizhu serve --workers N` (uvicorn imports this factory in
    each process): logging as the command line configured it, then the app."""
    logs.configure(settings.load())
    return create_app()


def _cors() -> list[Middleware]:
    """Cross-origin browser access only for the origins in ZIZHU_CORS_ORIGINS (none by default;
    `*` only with ZIZHU_CORS_ALLOW_ANY=true, checked by the settings)."""
    origins = settings.load().cors_origins
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            allow_credentials=False,  # bearer tokens, never cookies: credentials are never allowed
            max_age=600,
        )
    ]
