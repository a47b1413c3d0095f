"""Request body limits (请求体大小限制) on /graphql, enforced before the body is parsed or read.

A JSON request may carry at most `MAX_JSON_BYTES`; a multipart upload at most `MAX_MULTIPART_BYTES`,
and only with a valid token: an anonymous upload is refused before one byte of it is read.
A declared `Content-Length` over the bound is refused at once; a body without one (chunked) is
counted as it arrives and refused when it passes the bound. A refusal closes the connection, so
the server never reads (and parses the HTTP framing of) the rest of a body it refused.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zizhu.api.gql.context import bearer_token
from zizhu.api.roster import MAX_UPLOAD_BYTES
from zizhu.api.web.media import error_response
from zizhu.domain.accounts.users import token_payload
from zizhu.domain.errors import DomainError, Unauthenticated, ValidationFailed

MAX_JSON_BYTES = 256 * 1024
MAX_MULTIPART_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # the roster file plus the operations and map parts


class BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> ValidationFailed:
    return ValidationFailed(f"请求体过大（不能超过 {limit // 1024} KB）", limit="requestBytes", max=limit)


class BodyLimit:
    """ASGI wrapper of the GraphQL endpoint that bounds what a request may send."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        limit = MAX_MULTIPART_BYTES if multipart else MAX_JSON_BYTES
        try:
            if multipart:
                token_payload(bearer_token(headers))
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(limit)
        except DomainError as refused:
            await self._refuse(scope, receive, send, refused)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, _too_large(limit))

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
        status = 401 if isinstance(error, Unauthenticated) else 413
        response = error_response(Headers(scope=scope), error, status)
        response.headers["connection"] = "close"  # the body is left unread: the connection ends with this answer
        await response(scope, receive, send)
