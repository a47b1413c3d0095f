"""Object identification (全局 ID, Relay): the Node interface, `node(id)` and `nodes(ids)`.

Design notes: docs/design/api-gql.md."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import strawberry
from strawberry import relay
from strawberry.relay import GlobalID
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry.utils.await_maybe import await_maybe

from zizhu.domain.errors import Forbidden, NotFound, ValidationFailed
from zizhu.domain.reference.inputs import reject_duplicates

MAX_NODES = 100
NODE_TYPES: dict[str, type[relay.Node]] = {}
N = TypeVar("N", bound=type[relay.Node])


def node_type(cls: N) -> N:
    """Register a Strawberry type implementing Node so `node(id)` can find it (class decorator)."""
    NODE_TYPES[get_object_definition(cls, strict=True).name] = cls
    return cls


def local_key(value: str, type_name: str) -> str:
    """The key inside a global ID of `type_name`; a bare key is returned as it is."""
    try:
        gid = GlobalID.from_id(value)
    except Exception:  # not a global ID: a bare key
        return str(value)
    if gid.type_name != type_name:
        raise NotFound(f"未找到 {value}")
    return gid.node_id


MAX_BIGINT = 2**63 - 1  # a BIGINT row id
MAX_INT = 2**31 - 1  # an INT row id (time windows, accounts)


def _row_key(text: str, max_key: int) -> int:
    """A row id within its column's range; anything else names nothing (-1)."""
    text = str(text)
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > max_key:
        return -1
    return int(text)


def local_int(value: str, type_name: str, max_key: int = MAX_BIGINT) -> int:
    key = _row_key(local_key(value, type_name), max_key)
    if key < 0:
        raise NotFound(f"未找到 {value}")
    return key


def int_keys(node_ids: Iterable[str], max_key: int = MAX_BIGINT) -> list[int]:
    """Row-id keys; a key that is not a number within the column's range names nothing."""
    return [_row_key(i, max_key) for i in node_ids]


async def in_scope(keys: Iterable, find, to_node, missing: tuple[type[Exception], ...] = (NotFound,)) -> list:
    """Nodes for `keys` (`to_node(await find(key))`), None for a key the viewer cannot see — as if
    it did not exist."""
    out = []
    for key in keys:
        try:
            out.append(to_node(await find(key)))
        except missing:
            out.append(None)
    return out


async def _resolve(info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
    """The objects of `ids` in order; None for an id that names nothing the viewer can see."""
    await info.context.viewer()  # UNAUTHENTICATED before anything else
    if not 1 <= len(ids) <= MAX_NODES:
        raise ValidationFailed(f"ids 须有 1 到 {MAX_NODES} 个", argument="ids", min=1, max=MAX_NODES)
    reject_duplicates(list(ids), "ids")
    parsed: list[GlobalID | None] = []
    for value in ids:
        try:
            gid = GlobalID.from_id(value)
        except Exception:
            gid = None
        parsed.append(gid if gid is not None and gid.type_name in NODE_TYPES else None)
    found: dict[tuple[str, str], relay.Node | None] = {}
    for type_name in dict.fromkeys(g.type_name for g in parsed if g is not None):
        keys = list(dict.fromkeys(g.node_id for g in parsed if g is not None and g.type_name == type_name))
        try:
            nodes = await await_maybe(NODE_TYPES[type_name].resolve_nodes(info=info, node_ids=keys, required=False))
        except (Forbidden, NotFound):  # a role that may not see the type sees nothing of it
            nodes = [None] * len(keys)
        found.update({(type_name, k): n for k, n in zip(keys, nodes)})
    return [None if gid is None else found.get((gid.type_name, gid.node_id)) for gid in parsed]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="按全局 ID 取一个对象；不存在或超出本账号范围时为 null")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        (node,) = await _resolve(info, [id])
        return node

    @strawberry.field(
        description="按全局 ID 取多个对象（至多 100 个，不得重复，顺序与 ids 相同）；不存在或超出范围的位置为 null，其余照常返回"
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        return await _resolve(info, ids)
