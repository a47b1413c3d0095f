"""Reuse of completed sub-results (已完成子结果复用): a region whose figures did not change is not
completed again.

Design notes: docs/design/api-gql.md."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

MEMO_TYPES = frozenset({"UnfundedStatistics", "OwnLevelStatistics"})
# fields whose value depends on more than the figures (an authority's own-level reasons): a selection
# that may reach them is completed every time
NOT_FROM_FIGURES = frozenset({"reasons"})
MAX_ENTRIES = 2048  # a completed province rollup holds ~260; each entry is some 10–30 KB
MAX_SELECTIONS = 1024


class CompletionMemo:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.values: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        # id of a field-node tuple → (the nodes, kept alive so the id is not reused, its number)
        self.selections: OrderedDict[tuple[int, ...], tuple[tuple, int]] = OrderedDict()
        self.next_selection = 0
        self.hits = self.misses = 0

    def selection(self, nodes: tuple) -> int:
        key = tuple(id(n) for n in nodes)
        known = self.selections.get(key)
        if known is None:
            self.next_selection += 1
            known = (nodes, self.next_selection)
            self.selections[key] = known
            while len(self.selections) > MAX_SELECTIONS:
                self.selections.popitem(last=False)
        else:
            self.selections.move_to_end(key)
        return known[1]

    def get(self, key: tuple) -> dict[str, Any] | None:
        value = self.values.get(key)
        if value is None:
            self.misses += 1
            return None
        self.values.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: tuple, value: dict[str, Any]) -> None:
        self.values[key] = value
        while len(self.values) > self.max_entries:
            self.values.popitem(last=False)


MEMO = CompletionMemo()


class MemoisingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, reusing completed statistics objects (see the module docstring)."""

    def complete_object_value(self, return_type, field_details_list, info, path, result, position_context):
        figures = getattr(result, "figures", None)
        content = getattr(figures, "content_key", None)
        nodes = tuple(d.node for d in field_details_list)
        if return_type.name not in MEMO_TYPES or content is None or not _from_figures_only(nodes):
            return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)
        variables = self.__dict__.get("_memo_variables")
        if variables is None:  # once per request
            coerced = getattr(self.variable_values, "coerced", None) or {}
            variables = self.__dict__["_memo_variables"] = json.dumps(coerced, sort_keys=True, default=str)
        key = (return_type.name, MEMO.selection(nodes), variables, content())
        kept = MEMO.get(key)
        if kept is not None:
            return kept
        errors = len(self.collected_errors.errors)
        completed = super().complete_object_value(return_type, field_details_list, info, path, result, position_context)
        if not self.is_awaitable(completed):
            if len(self.collected_errors.errors) == errors:
                MEMO.put(key, completed)
            return completed

        async def keep() -> dict[str, Any]:
            value = await completed
            if len(self.collected_errors.errors) == errors:
                MEMO.put(key, value)
            return value

        return keep()


def _from_figures_only(nodes: tuple) -> bool:
    """Whether the selection reads only what the figures hold: no field of NOT_FROM_FIGURES at its
    top level, and no fragment (which could select one) — conservative, never stale."""
    for node in nodes:
        for selection in node.selection_set.selections if node.selection_set else ():
            name = getattr(selection, "name", None)
            if name is None or selection.kind != "field" or name.value in NOT_FROM_FIGURES:
                return False
    return True
