"""Relay-style connections with keyset cursors (the cursor wraps the last row id)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from zizhu.domain.errors import ValidationFailed
from zizhu.domain.reference.inputs import row_id

T = TypeVar("T")


@strawberry.type(description="分页信息（Relay）")
class PageInfo:
    has_next_page: bool = strawberry.field(description="之后是否还有记录")
    has_previous_page: bool = strawberry.field(description="之前是否还有记录（给出 after 时为真）")
    start_cursor: str | None = strawberry.field(description="本页第一条记录的游标")
    end_cursor: str | None = strawberry.field(description="本页最后一条记录的游标，作为下一页的 after")


@strawberry.type(description="一条记录及其游标")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="本条记录的游标")
    node: T = strawberry.field(description="记录")


@strawberry.type(description="分页列表（Relay 连接）")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="本页记录")
    page_info: PageInfo = strawberry.field(description="分页信息")
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="符合条件的记录总数（各页相同；只在请求时计算，有统计数时直接取统计数）")
    async def total_count(self) -> int:
        return await self.counter()


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"row:{row_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "row":
            raise ValueError(kind)
        return row_id(value, "after")
    except (ValueError, UnicodeDecodeError, ValidationFailed):
        raise ValidationFailed("无效的分页游标", argument="after") from None


def encode_code_cursor(code: str) -> str:
    """A keyset cursor on a code column (e.g. school codes)."""
    return base64.urlsafe_b64encode(f"code:{code}".encode()).decode()


def decode_code_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        kind, value = "", ""
    if kind != "code" or not value.isascii() or not value.isdigit() or len(value) > 10:
        raise ValidationFailed("无效的分页游标", argument="after")
    return value


def connection(
    items: list,
    has_next: bool,
    row_id,
    to_node,
    after: str | None,
    counter: Callable[[], Awaitable[int]],
    cursor=encode_cursor,
) -> Connection:
    """Build a connection from a page of domain rows: `row_id(item)` gives the keyset (a row id, or
    with `cursor=encode_code_cursor` a code); `after` is the cursor the page started after;
    `counter` counts every row (all pages) when totalCount is asked."""
    edges = [Edge(cursor=cursor(row_id(i)), node=to_node(i)) for i in items]
    info = PageInfo(
        has_next_page=has_next,
        has_previous_page=bool(after),
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=info, counter=counter)
