"""Reuse of serialised answers (应答缓存) for the dashboard queries that many users repeat.

Design notes: docs/design/api-gql.md."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import TypeVar

from graphql import BREAK, FieldNode, GraphQLError, OperationDefinitionNode, OperationType, Visitor, visit

from zizhu.api.gql.document_limits import check_source, parse_document
from zizhu.domain import versions
from zizhu.domain.accounts.scopes import Viewer

CACHEABLE = frozenset({"unfundedStatistics", "region", "school", "unfundedStudents", "codeLists", "__typename"})
UNCACHEABLE_FIELDS = frozenset({"preschoolRoster"})
MAX_CACHED_DOCUMENT = 16_384  # characters; larger documents are executed, never parsed here
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # every byte of an entry counted (entry_bytes)
MAX_ENTRIES = 20_000
ENTRY_OVERHEAD = 120  # an OrderedDict slot and its order links, per entry (measured: ~100-130)
T = TypeVar("T")


@lru_cache(maxsize=512)
def _is_cacheable(query: str, operation_name: str | None) -> bool:
    """Whether the operation is a query whose root selections are all cacheable fields. A document
    past the bounds of `check_source` is not (and is never parsed); one within them is parsed once
    for this look and its execution."""
    if check_source(query) is not None:
        return False
    try:
        document = parse_document(query)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation != OperationType.QUERY:
        return False
    selections = chosen[0].selection_set.selections
    if not all(isinstance(s, FieldNode) and s.name.value in CACHEABLE and not s.directives for s in selections):
        return False
    found: list[str] = []

    class _Uncacheable(Visitor):
        def enter_field(self, node: FieldNode, *_):
            if node.name.value in UNCACHEABLE_FIELDS:
                found.append(node.name.value)
                return BREAK
            return None

    visit(document, _Uncacheable())
    return not found


def province_of(viewer: Viewer) -> str | None:
    """The province a viewer's scope lies in (None: the nation)."""
    code = viewer.scope_code
    if viewer.is_school:
        return code[2:4]
    return None if code[:2] == "00" else code[:2]


def scope_of(viewer: Viewer) -> tuple:
    """What an answer may depend on of the viewer: never the username."""
    return viewer.role.value, viewer.scope_code, tuple(s.value for s in viewer.stages)


class ResponseCache:
    """Encoded answers by key, each with the data version it was computed at."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, max_entries: int = MAX_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.size = 0
        self.entries: OrderedDict[str, tuple[object, bytes]] = OrderedDict()
        self.hits = self.misses = 0
        self.computations = 0  # answers computed (not served from memory nor joined in flight)
        self.in_flight: dict[tuple[str, object], asyncio.Future] = {}
        # gzip of the bodies served from memory, made once per body (by the body's identity)
        self.compressed: OrderedDict[int, tuple[bytes, bytes]] = OrderedDict()
        self.compressed_size = 0
        self.compressions = 0

    async def single_flight(self, key: str, version, compute: Callable[[], Awaitable[T]]) -> T:
        """The result of `compute()` for (key, version), computed once for every concurrent caller:
        the first caller's computation runs as its own task, so cancelling any caller (the first
        included) cancels only its wait; its exception goes to every caller and nothing is kept."""
        flight = self.in_flight.get((key, version))
        if flight is None:
            self.computations += 1
            flight = asyncio.ensure_future(compute())
            self.in_flight[(key, version)] = flight
            flight.add_done_callback(lambda _: self.in_flight.pop((key, version), None))
        return await asyncio.shield(flight)

    @staticmethod
    def key_for(viewer: Viewer, query: str | None, variables: dict | None, operation_name: str | None) -> str | None:
        """The cache key of a request, or None when it is not cacheable."""
        if not query or len(query) > MAX_CACHED_DOCUMENT or not _is_cacheable(query, operation_name):
            return None
        material = json.dumps([scope_of(viewer), query, variables or {}, operation_name], sort_keys=True, default=str)
        return hashlib.sha256(material.encode()).hexdigest()

    @staticmethod
    async def version(viewer: Viewer) -> tuple[int, int]:
        """The versions of what the viewer's answers may read: the global one and its province's
        (for a nationwide scope, the sum of every province's)."""
        return await versions.for_province(province_of(viewer))

    def get(self, key: str, version) -> bytes | None:
        entry = self.entries.get(key)
        if entry is None or entry[0] != version:
            self.misses += 1
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    @staticmethod
    def entry_bytes(key: str, version, body: bytes) -> int:
        """What one entry holds in memory: key, body, version, their tuple and the dict's slot
        and order links — not only the body (a tiny answer costs ~400 bytes, not ~40)."""
        return (
            sys.getsizeof(key)
            + sys.getsizeof(body)
            + sys.getsizeof(version)
            + sys.getsizeof((version, body))
            + ENTRY_OVERHEAD
        )

    def gzipped(self, body: bytes, level: int) -> bytes:
        """`body` gzip-compressed, once for as long as it is among the recently served: a cached
        dashboard answer (~530 kB) costs the server ~2 ms to compress at every request, more than
        the rest of serving it. Bounded like the answers (an eighth of their bytes)."""
        kept = self.compressed.get(id(body))
        if kept is not None and kept[0] is body:
            self.compressed.move_to_end(id(body))
            return kept[1]
        packed = gzip.compress(body, compresslevel=level, mtime=0)
        self.compressions += 1
        old = self.compressed.pop(id(body), None)
        if old is not None:
            self.compressed_size -= len(old[1])
        self.compressed[id(body)] = (body, packed)  # the body held: its id is not reused meanwhile
        self.compressed_size += len(packed)
        while (
            self.compressed_size > self.max_bytes // 8 or len(self.compressed) > self.max_entries
        ) and self.compressed:
            _, (_, dropped) = self.compressed.popitem(last=False)
            self.compressed_size -= len(dropped)
        return packed

    def put(self, key: str, version, body: bytes) -> None:
        cost = self.entry_bytes(key, version, body)
        if cost > self.max_bytes // 8:
            return
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= self.entry_bytes(key, *old)
        self.entries[key] = (version, body)
        self.size += cost
        while (self.size > self.max_bytes or len(self.entries) > self.max_entries) and self.entries:
            dropped_key, dropped = self.entries.popitem(last=False)
            self.size -= self.entry_bytes(dropped_key, *dropped)
