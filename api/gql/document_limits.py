"""Bounds on a GraphQL document (查询文档限制): the work of checking a request stays small.

Two stages, both linear in the size of the document:

1. `check_source` runs before the parser: the document's length, its tokens, how deeply its
   brackets nest and how many fragment spreads it has are counted by one pass of the lexer.
   A document over any bound is refused before it is parsed or any validation rule runs (a
   nesting bound also keeps the recursive parser and rules far from Python's recursion limit).
2. `OperationCost`, a validation rule, computes the depth and the alias count of every
   operation with each fragment's figures computed once (memoised by fragment name), so a
   fragment spread many times, or fragments spreading each other twice per level, cost one
   visit each instead of one per expanded spread.

Refusals are GraphQL errors with `extensions.code` VALIDATION and the bound that was exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
)
from graphql.language.lexer import Lexer

MAX_DOCUMENT_CHARS = 32_000
MAX_TOKENS = 3_000
MAX_NESTING = 40
MAX_FRAGMENT_SPREADS = 60
MAX_DEPTH = 12
MAX_ALIASES = 30

_OPENING = {TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L}
_CLOSING = {TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R}


def limit_error(message: str, limit: str, value: int | None = None, nodes=None) -> GraphQLError:
    extensions: dict[str, object] = {"code": "VALIDATION", "limit": limit}
    if value is not None:
        extensions["max"] = value
    return GraphQLError(message, nodes, extensions=extensions)


def check_source(query: str) -> GraphQLError | None:
    """The first bound a document exceeds, or None (syntax errors are left to the parser)."""
    if len(query) > MAX_DOCUMENT_CHARS:
        return limit_error(f"查询文档过长（超过 {MAX_DOCUMENT_CHARS} 个字符）", "documentChars", MAX_DOCUMENT_CHARS)
    return _check_tokens(query)


@lru_cache(maxsize=512)  # documents of at most MAX_DOCUMENT_CHARS: the cache stays small
def _check_tokens(query: str) -> GraphQLError | None:
    lexer = Lexer(Source(query))
    tokens = nesting = deepest = spreads = 0
    previous = None
    try:
        token = lexer.advance()
        while token.kind != TokenKind.EOF:
            tokens += 1
            if tokens > MAX_TOKENS:
                return limit_error(f"查询文档的词法单元超过 {MAX_TOKENS} 个", "tokens", MAX_TOKENS)
            if token.kind in _OPENING:
                nesting += 1
                deepest = max(deepest, nesting)
                if deepest > MAX_NESTING:
                    return limit_error(f"查询文档嵌套超过 {MAX_NESTING} 层", "nesting", MAX_NESTING)
            elif token.kind in _CLOSING:
                nesting -= 1
            elif previous == TokenKind.SPREAD and token.kind == TokenKind.NAME and token.value != "on":
                spreads += 1
                if spreads > MAX_FRAGMENT_SPREADS:
                    return limit_error(
                        f"查询文档的片段引用超过 {MAX_FRAGMENT_SPREADS} 处", "fragmentSpreads", MAX_FRAGMENT_SPREADS
                    )
            previous = token.kind
            token = lexer.advance()
    except GraphQLSyntaxError:
        return None
    return None


@dataclass(frozen=True)
class Cost:
    depth: int
    aliases: int


class OperationCost(ASTValidationRule):
    """Depth and alias limits of every operation, each fragment's cost computed once."""

    def enter_document(self, node: DocumentNode, *_args):
        fragments = {d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)}
        memo: dict[str, Cost] = {}
        for definition in node.definitions:
            if isinstance(definition, OperationDefinitionNode):
                cost = _selection_cost(definition.selection_set, fragments, memo, set())
                name = definition.name.value if definition.name else "anonymous"
                if cost.depth > MAX_DEPTH:
                    self.report_error(
                        limit_error(f"操作“{name}”的嵌套深度超过 {MAX_DEPTH}", "depth", MAX_DEPTH, [definition])
                    )
                if cost.aliases > MAX_ALIASES:
                    self.report_error(
                        limit_error(
                            f"操作“{name}”的别名（alias）超过 {MAX_ALIASES} 个", "aliases", MAX_ALIASES, [definition]
                        )
                    )
        return self.BREAK


def _selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, Cost],
    active: set[str],
) -> Cost:
    depth = aliases = 0
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            if selection.alias is not None:
                aliases += 1
            if selection.name.value.startswith("__") or selection.selection_set is None:
                continue
            inner = _selection_cost(selection.selection_set, fragments, memo, active)
            depth, aliases = max(depth, 1 + inner.depth), aliases + inner.aliases
        elif isinstance(selection, InlineFragmentNode):
            inner = _selection_cost(selection.selection_set, fragments, memo, active)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        elif isinstance(selection, FragmentSpreadNode):
            inner = _fragment_cost(selection.name.value, fragments, memo, active)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
    return Cost(depth, aliases)


def _fragment_cost(
    name: str, fragments: dict[str, FragmentDefinitionNode], memo: dict[str, Cost], active: set[str]
) -> Cost:
    if name in memo:
        return memo[name]
    fragment = fragments.get(name)
    if fragment is None or name in active:  # unknown or cyclic: other rules report it
        return Cost(0, 0)
    active.add(name)
    memo[name] = _selection_cost(fragment.selection_set, fragments, memo, active)
    active.discard(name)
    return memo[name]
