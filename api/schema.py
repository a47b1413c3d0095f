"""The Strawberry schema: one Query and one Mutation merged from the feature modules."""
from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types

from api.accounts import AccountMutation, AccountQuery
from api.codes import CodeQuery
from api.errors import DomainErrorCodes, MaskUnexpected

# Each feature module contributes one query type and (optionally) one mutation type.
QUERY_TYPES: tuple[type, ...] = (AccountQuery, CodeQuery)
MUTATION_TYPES: tuple[type, ...] = (AccountMutation,)

MAX_DEPTH = 12
MAX_ALIASES = 30

Query = merge_types("Query", QUERY_TYPES)
Mutation = merge_types("Mutation", MUTATION_TYPES)

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        ParserCache,
        ValidationCache,
        MaskUnexpected,
        DomainErrorCodes,
    ],
)
