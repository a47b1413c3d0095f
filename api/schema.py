"""The Strawberry schema: one Query and one Mutation merged from the feature modules."""
from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types

from zizhu.api.accounts import AccountMutation, AccountQuery
from zizhu.api.reference import CodeQuery
from zizhu.api.comparison.runs import ComparisonRunMutation, ComparisonRunQuery
from zizhu.api.comparison.periods import PeriodMutation, PeriodQuery
from zizhu.api.exports import ExportMutation
from zizhu.api.reasons import ReasonMutation, ReasonQuery
from zizhu.api.roster import RosterMutation, RosterQuery
from zizhu.api.statistics import StatisticsQuery
from zizhu.api.errors import DomainErrorCodes, MaskUnexpected, log_errors

# Each feature module contributes one query type and (optionally) one mutation type.
QUERY_TYPES: tuple[type, ...] = (AccountQuery, CodeQuery, ReasonQuery, ComparisonRunQuery, RosterQuery, StatisticsQuery, PeriodQuery)
MUTATION_TYPES: tuple[type, ...] = (AccountMutation, ReasonMutation, ComparisonRunMutation, RosterMutation, PeriodMutation,
                                    ExportMutation)

MAX_DEPTH = 12
MAX_ALIASES = 30

Query = merge_types("Query", QUERY_TYPES)
Mutation = merge_types("Mutation", MUTATION_TYPES)


class ZizhuSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        log_errors(errors)


schema = ZizhuSchema(
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
