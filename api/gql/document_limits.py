"""Bounds on a GraphQL document (查询文档限制): the work of checking a request stays small.

Design notes: docs/design/api-gql.md."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    parse,
    print_ast,
    value_from_ast_untyped,
    visit,
)
from graphql.language.lexer import Lexer
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_DOCUMENT_CHARS = 32_000
MAX_TOKENS = 3_000
MAX_NESTING = 40
MAX_FRAGMENT_SPREADS = 60
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_SELECTIONS = 100  # fields of one selection set, fragments expanded
MAX_COST = 50_000  # fields resolved, list sizes multiplied through
DEFAULT_LIST_ESTIMATE = 10  # items of a list field without `first` or `ids` (a region's children)
MAX_PAGE_ESTIMATE = 500  # a `first` whose value is not known yet
LIST_ESTIMATES = {"byCategory": 13, "categories": 13, "centralCategories": 13, "selfCollectedCategories": 13}
VALIDATION_CACHE_SIZE = 1024
PARSE_CACHE_SIZE = 128  # parsed documents (up to MAX_TOKENS tokens each) kept for reuse

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
    """Tokens, nesting and fragment spreads counted in one pass of the lexer, and the fields written
    directly in each selection set (a lower bound of what `check_document` counts once fragments
    are expanded): a document too wide is refused before it is parsed."""
    lexer = Lexer(Source(query))
    tokens = nesting = deepest = spreads = parentheses = 0
    widths: list[int] = []  # fields written so far in each open selection set
    previous = None  # the kind of the token before this one
    previous_on = False  # the token before is `on` right after `...`
    try:
        token = lexer.advance()
        while token.kind != TokenKind.EOF:
            kind = token.kind
            tokens += 1
            if tokens > MAX_TOKENS:
                return limit_error(f"查询文档的词法单元超过 {MAX_TOKENS} 个", "tokens", MAX_TOKENS)
            if kind in _OPENING:
                nesting += 1
                deepest = max(deepest, nesting)
                if deepest > MAX_NESTING:
                    return limit_error(f"查询文档嵌套超过 {MAX_NESTING} 层", "nesting", MAX_NESTING)
                if kind == TokenKind.PAREN_L:
                    parentheses += 1
                elif kind == TokenKind.BRACE_L and not parentheses:
                    widths.append(0)
            elif kind in _CLOSING:
                nesting -= 1
                if kind == TokenKind.PAREN_R:
                    parentheses -= 1
                elif kind == TokenKind.BRACE_R and not parentheses and widths:
                    widths.pop()
            elif kind == TokenKind.NAME:
                if previous == TokenKind.SPREAD and token.value != "on":
                    spreads += 1
                    if spreads > MAX_FRAGMENT_SPREADS:
                        return limit_error(
                            f"查询文档的片段引用超过 {MAX_FRAGMENT_SPREADS} 处", "fragmentSpreads", MAX_FRAGMENT_SPREADS
                        )
                elif (
                    widths
                    and not parentheses
                    and previous not in (TokenKind.AT, TokenKind.SPREAD, TokenKind.COLON)
                    and not previous_on
                ):  # a field (an alias counts for its field)
                    widths[-1] += 1
                    if widths[-1] > MAX_SELECTIONS:
                        return limit_error(
                            f"查询文档的一个选择集含有超过 {MAX_SELECTIONS} 个字段", "selections", MAX_SELECTIONS
                        )
            previous_on = previous == TokenKind.SPREAD and kind == TokenKind.NAME and token.value == "on"
            previous = kind
            token = lexer.advance()
    except GraphQLSyntaxError:
        return None
    return None


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_document(query: str) -> DocumentNode:
    """The parsed document, shared by the response cache's look at a request and its execution:
    a document is parsed once. Raises GraphQLSyntaxError."""
    return parse(query)


class SharedParser(SchemaExtension):
    """Parsing through `parse_document` (ParserCache's job, with the cache shared)."""

    def on_parse(self):
        ctx = self.execution_context
        ctx.graphql_document = (
            parse_document(ctx.query) if not ctx.parse_options else parse(ctx.query, **ctx.parse_options)
        )
        yield


@dataclass(frozen=True)
class Cost:
    depth: int  # levels of fields with a selection set
    aliases: int
    fields: int  # fields merged into the selection set (fragments expanded): what overlap checks compare
    cost: int  # fields resolved, each list field's selection counted once per item it may return


_NONE = Cost(0, 0, 0, 0)


@dataclass
class _Walk:
    """One pass over a document: fragments by name, each fragment's figures computed once."""

    schema: GraphQLSchema
    variables: dict
    fragments: dict[str, FragmentDefinitionNode]
    memo: dict[str, Cost]
    active: set[str]
    too_wide: SelectionSetNode | None = None


def _list_size(field: FieldNode, definition: GraphQLField, walk: _Walk) -> int:
    """How many items a list field may return: its `first` (the value sent, else the default), the
    length of its `ids`, else an estimate; a connection's edges are already counted by `first`."""
    values: dict = {}
    for argument in field.arguments or ():
        values[argument.name.value] = (
            walk.variables.get(argument.value.name.value)
            if isinstance(argument.value, VariableNode)
            else value_from_ast_untyped(argument.value, walk.variables)
        )
    if "first" in definition.args:
        first = values.get("first", definition.args["first"].default_value)
        if not isinstance(first, int):  # not known yet (a variable without a value): the largest page
            return MAX_PAGE_ESTIMATE
        # an out-of-range `first` is refused with its argument named when the field runs
        return first if 0 < first <= MAX_PAGE_ESTIMATE else 1
    if isinstance(values.get("ids"), list):
        return max(1, len(values["ids"]))
    return LIST_ESTIMATES.get(field.name.value, DEFAULT_LIST_ESTIMATE)


def _selection_cost(selection_set: SelectionSetNode | None, parent, walk: _Walk) -> Cost:
    depth = aliases = fields = cost = 0
    spread: set[str] = set()  # a fragment spread twice in one set is merged (validated, executed) once
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            fields += 1
            cost += 1
            if selection.alias is not None:
                aliases += 1
            definition = getattr(parent, "fields", {}).get(selection.name.value)
            if definition is None or selection.selection_set is None:
                continue  # __typename, a leaf, or an unknown field (validation reports it)
            inner_type = get_named_type(definition.type)
            inner = _selection_cost(selection.selection_set, inner_type, walk)
            items = 1  # a connection's `first` counts its edges; a list's own size otherwise
            in_connection = getattr(parent, "name", "").endswith("Connection")
            if "first" in definition.args or (
                isinstance(get_nullable_type(definition.type), GraphQLList) and not in_connection
            ):
                items = _list_size(selection, definition, walk)
            depth, aliases = max(depth, 1 + inner.depth), aliases + inner.aliases
            cost += items * inner.cost
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner_parent = walk.schema.get_type(condition.name.value) if condition else parent
            inner = _selection_cost(selection.selection_set, inner_parent, walk)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
            fields, cost = fields + inner.fields, cost + inner.cost
        elif isinstance(selection, FragmentSpreadNode):
            inner = _fragment_cost(selection.name.value, walk)
            depth, aliases = max(depth, inner.depth), aliases + inner.aliases
            if selection.name.value not in spread:
                spread.add(selection.name.value)
                fields, cost = fields + inner.fields, cost + inner.cost
    if fields > MAX_SELECTIONS and walk.too_wide is None:
        walk.too_wide = selection_set
    return Cost(depth, aliases, fields, cost)


def _fragment_cost(name: str, walk: _Walk) -> Cost:
    if name in walk.memo:
        return walk.memo[name]
    fragment = walk.fragments.get(name)
    if fragment is None or name in walk.active:  # unknown or cyclic: validation reports it
        return _NONE
    walk.active.add(name)
    parent = walk.schema.get_type(fragment.type_condition.name.value)
    walk.memo[name] = _selection_cost(fragment.selection_set, parent, walk)
    walk.active.discard(name)
    return walk.memo[name]


def check_document(schema: GraphQLSchema, document: DocumentNode, variables: dict | None = None) -> GraphQLError | None:
    """The first bound an operation of the document exceeds, or None: one pass, before validation."""
    walk = _Walk(
        schema,
        dict(variables) if isinstance(variables, dict) else {},
        {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)},
        {},
        set(),
    )
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        root = schema.get_root_type(definition.operation)
        for variable in definition.variable_definitions or ():  # defaults of variables not sent
            name = variable.variable.name.value
            if name not in walk.variables and variable.default_value is not None:
                walk.variables[name] = value_from_ast_untyped(variable.default_value)
        walk.memo.clear()  # fragments may read this operation's variables
        cost = _selection_cost(definition.selection_set, root, walk)
        name = definition.name.value if definition.name else "anonymous"
        if walk.too_wide is not None:
            return limit_error(
                f"操作“{name}”的一个选择集含有超过 {MAX_SELECTIONS} 个字段（片段展开后）",
                "selections",
                MAX_SELECTIONS,
                [walk.too_wide],
            )
        if cost.depth > MAX_DEPTH:
            return limit_error(f"操作“{name}”的嵌套深度超过 {MAX_DEPTH}", "depth", MAX_DEPTH, [definition])
        if cost.aliases > MAX_ALIASES:
            return limit_error(
                f"操作“{name}”的别名（alias）超过 {MAX_ALIASES} 个", "aliases", MAX_ALIASES, [definition]
            )
        if cost.cost > MAX_COST:
            return limit_error(
                f"操作“{name}”的查询代价约为 {cost.cost}，超过上限 {MAX_COST}（列表大小 × 所选字段）；请减少 first、ids 或所选字段",
                "cost",
                MAX_COST,
                [definition],
            )
    return None


class _RenameFragments(Visitor):
    """Fragments renamed `#0`, `#1`… in the order they are defined (a name no document can hold):
    the same document with other fragment names validates alike. Unknown names stay as written."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_):
        return replace(node, name=replace(node.name, value=self.names[node.name.value]))

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_):
        name = self.names.get(node.name.value)
        return None if name is None else replace(node, name=replace(node.name, value=name))


def _validation_key(document: DocumentNode) -> str:
    """The document as printed, with the name of a lone operation left out and its fragments
    renamed in order: a fresh operation or fragment name per request reuses the validation of the
    same document."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1 and operations[0].name is not None:
        unnamed = replace(operations[0], name=None)
        document = DocumentNode(definitions=tuple(unnamed if d is operations[0] else d for d in document.definitions))
    fragments = [d.name.value for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    if fragments and len(set(fragments)) == len(fragments):  # duplicates: left for validation to report
        document = visit(document, _RenameFragments({name: f"#{i}" for i, name in enumerate(fragments)}))
    return print_ast(document)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _validation_key_of(query: str) -> str:
    """`_validation_key` of a document parsed by `parse_document`, computed once per text."""
    return _validation_key(parse_document(query))


class _ValidDocuments:
    """Keys of documents that validated without errors under a set of rules (bounded LRU)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.keys: OrderedDict[tuple, None] = OrderedDict()

    def __contains__(self, key: tuple) -> bool:
        if key in self.keys:
            self.keys.move_to_end(key)
            return True
        return False

    def add(self, key: tuple) -> None:
        self.keys[key] = None
        while len(self.keys) > self.size:
            self.keys.popitem(last=False)


VALID_DOCUMENTS = _ValidDocuments(VALIDATION_CACHE_SIZE)


class DocumentBounds(SchemaExtension):
    """Before validation, the bounds of `check_document`; then validation, skipped for a document
    (whatever its operation's name) that already validated under the same rules."""

    def on_validate(self):
        ctx = self.execution_context
        refused = check_document(ctx.schema._schema, ctx.graphql_document, ctx.variables)
        if refused is not None:
            ctx.pre_execution_errors = [refused]
            yield
            return
        document_key = (
            _validation_key_of(ctx.query)
            if isinstance(ctx.query, str) and ctx.graphql_document is parse_document(ctx.query)
            else _validation_key(ctx.graphql_document)
        )
        key = (ctx.validation_rules, document_key)
        if key in VALID_DOCUMENTS:
            ctx.pre_execution_errors = []
            yield
            return
        errors = validate_document(ctx.schema._schema, ctx.graphql_document, ctx.validation_rules)
        if not errors:
            VALID_DOCUMENTS.add(key)
        ctx.pre_execution_errors = errors
        yield
