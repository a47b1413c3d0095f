"""The access log (访问日志) and request ids: one `zizhu.access` record per HTTP request.

Each request gets an id — the client's or proxy's `X-Request-ID` when it is a short token, else a
new one — returned in the answer's `X-Request-ID` header. While the request runs, every log record
carries the id, the GraphQL operation and the signed-in account (`zizhu.domain.operations.logs`);
when it ends, one record gives method, path, status, duration, operation and account.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from zizhu.domain.operations import logs

log = logging.getLogger("zizhu.access")
HEADER = "X-Request-ID"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_OPERATION = 100


def request_id(headers: Headers) -> str:
    given = headers.get(HEADER, "")
    return given if _ACCEPTED_ID.fullmatch(given) else uuid.uuid4().hex


class AccessLog:
    """Pure ASGI middleware: the request id, and the access record once the answer is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = logs.RequestFields(request_id=request_id(Headers(scope=scope)))
        token = logs.request.set(fields)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = fields.request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={"method": scope["method"], "path": scope["path"], "status": status, "duration_ms": duration_ms},
            )
            logs.request.reset(token)


class OperationName(SchemaExtension):
    """Names the request's GraphQL operation for its log records, as soon as the document is parsed
    (so the records of its validation and execution carry it): the client's operation name, else
    the first root field."""

    def on_parse(self):
        yield
        ctx = self.execution_context
        name = ctx.operation_name
        if not name and ctx.graphql_document is not None:
            for definition in ctx.graphql_document.definitions:
                selections = getattr(getattr(definition, "selection_set", None), "selections", ())
                first = next((s.name.value for s in selections if getattr(s, "name", None)), None)
                if first:
                    name = first
                    break
        if name:
            logs.note(operation=name[:MAX_OPERATION])
