"""Request context: the authenticated viewer, the server clock and the per-request loaders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.accounts.users import viewer_from_token
from zizhu.domain.errors import Unauthenticated
from zizhu.domain.settings import SHANGHAI

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


def bearer_token(headers) -> str:
    """The token of an `Authorization: Bearer <token>` header, or UNAUTHENTICATED."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("请先登录")
    return token.strip()


@dataclass
class Context:
    request: HTTPConnection | None  # the HTTP request (a WebSocket is never served)
    response: Any = None
    clock: Clock = system_clock
    loaders: dict[str, Any] = field(default_factory=dict)
    _viewer: Viewer | None = None

    def now(self) -> dt.datetime:
        """The server's clock in Asia/Shanghai (replaceable in tests through the app factory)."""
        return self.clock().astimezone(SHANGHAI)

    async def viewer(self) -> Viewer:
        """The signed-in account, or UNAUTHENTICATED."""
        if self._viewer is None:
            self._viewer = await viewer_from_token(bearer_token(self.request.headers if self.request else {}))
        return self._viewer

    def loader(self, name: str, factory: Callable[[], Any]) -> Any:
        """One DataLoader per name per request."""
        if name not in self.loaders:
            self.loaders[name] = factory()
        return self.loaders[name]
