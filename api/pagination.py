"""Relay-style connections with keyset cursors (the cursor wraps the last row id)."""
from __future__ import annotations

import base64
from typing import Generic, TypeVar

import strawberry

from zizhu.domain.errors import ValidationFailed
from zizhu.domain.reference.inputs import row_id

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


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


def connection(items: list, has_next: bool, row_id, to_node) -> Connection:
    """Build a connection from a page of domain rows: `row_id(item)` gives the keyset id."""
    edges = [Edge(cursor=encode_cursor(row_id(i)), node=to_node(i)) for i in items]
    return Connection(edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None))
