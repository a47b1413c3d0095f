"""Production hardening (生产模式): security headers on every answer, introspection switch.

GraphiQL and introspection are on in development and off under ZIZHU_ENV=production unless
ZIZHU_GRAPHIQL / ZIZHU_INTROSPECTION turn them on (see zizhu.domain.settings).
"""

from __future__ import annotations

from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from zizhu.domain import settings

STATIC_PREFIX = "/static/"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
NO_STORE = "no-store"


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every response, and `Cache-Control: no-store`
    on everything but the packaged static assets (API answers carry personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not cacheable:
                    headers["Cache-Control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, send_with_headers)


class IntrospectionSwitch(SchemaExtension):
    """Refuse `__schema`/`__type` queries unless introspection is enabled by the settings."""

    def on_operation(self):
        if not settings.load().introspection_enabled:
            ctx = self.execution_context
            ctx.validation_rules = (*ctx.validation_rules, NoSchemaIntrospectionCustomRule)
        yield
