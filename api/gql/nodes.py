"""Object identification (全局 ID, Relay): the Node interface, `node(id)` and `nodes(ids)`.

Every object type a client may cache implements `Node` with a global ID (base64 of
"TypeName:key"; keys are row ids or codes, never ID numbers). Each type resolves its own keys
through the domain, so scope holds: an object outside the viewer's scope is NOT_FOUND, exactly
as if it did not exist. Arguments that name one object (`comparisonRun(id)`, roster entry ids)
take its global ID, or the bare key as before.
"""

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


def local_int(value: str, type_name: str) -> int:
    try:
        return int(local_key(value, type_name))
    except ValueError:
        raise NotFound(f"未找到 {value}") from None


def int_keys(node_ids: Iterable[str]) -> list[int]:
    """Row-id keys; a key that is not a number names nothing."""
    keys = []
    for i in node_ids:
        try:
            keys.append(int(i))
        except ValueError:
            keys.append(-1)
    return keys


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


async def _resolve(info: Info, ids: list[strawberry.ID]) -> list[relay.Node]:
    await info.context.viewer()  # UNAUTHENTICATED before anything else
    if not 1 <= len(ids) <= MAX_NODES:
        raise ValidationFailed(f"ids 须有 1 到 {MAX_NODES} 个", argument="ids", min=1, max=MAX_NODES)
    parsed = []
    for value in ids:
        try:
            gid = GlobalID.from_id(value)
        except Exception:
            raise NotFound(f"未找到对象 {value}", id=value) from None
        if gid.type_name not in NODE_TYPES:
            raise NotFound(f"未找到对象 {value}", id=value)
        parsed.append(gid)
    found: dict[tuple[str, str], relay.Node | None] = {}
    for type_name in dict.fromkeys(g.type_name for g in parsed):
        keys = list(dict.fromkeys(g.node_id for g in parsed if g.type_name == type_name))
        try:
            nodes = await await_maybe(NODE_TYPES[type_name].resolve_nodes(info=info, node_ids=keys, required=False))
        except (Forbidden, NotFound):  # a role that may not see the type sees nothing of it
            nodes = [None] * len(keys)
        found.update({(type_name, k): n for k, n in zip(keys, nodes)})
    out = []
    for value, gid in zip(ids, parsed):
        node = found.get((gid.type_name, gid.node_id))
        if node is None:
            raise NotFound(f"未找到对象 {value}", id=value)
        out.append(node)
    return out


@strawberry.type
class NodeQuery:
    @strawberry.field(description="按全局 ID 取一个对象（超出本账号范围的视为不存在）")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node:
        (node,) = await _resolve(info, [id])
        return node

    @strawberry.field(
        description="按全局 ID 取多个对象（至多 100 个，顺序与 ids 相同；任一不存在或超出范围则报 NOT_FOUND）"
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node]:
        return await _resolve(info, ids)
