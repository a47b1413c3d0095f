"""The Strawberry schema: one Query and one Mutation merged from the feature modules."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types
from strawberry.types import ExecutionResult

from zizhu.api.accounts import AccountMutation, AccountQuery
from zizhu.api.comparison.duplicates import DuplicateEnrolmentQuery
from zizhu.api.comparison.nightly import NightlyQuery
from zizhu.api.comparison.periods import PeriodMutation, PeriodQuery
from zizhu.api.comparison.runs import ComparisonRunMutation, ComparisonRunQuery
from zizhu.api.comparison.special_groups import SpecialGroupMutation, SpecialGroupQuery
from zizhu.api.exports import ExportMutation
from zizhu.api.gql.arguments import bound_arguments
from zizhu.api.gql.completion_memo import MemoisingExecutionContext
from zizhu.api.gql.descriptions import describe
from zizhu.api.gql.document_limits import DocumentBounds, SharedParser, check_source
from zizhu.api.gql.errors import DomainErrorCodes, ErrorCode, MaskUnexpected, code_every_error, log_errors
from zizhu.api.gql.nodes import NodeQuery
from zizhu.api.operations import OperationsQuery, RequestMetrics
from zizhu.api.reasons import ReasonMutation, ReasonQuery
from zizhu.api.reference import CatalogueMutation, CodeQuery
from zizhu.api.roster import RosterMutation, RosterQuery
from zizhu.api.statistics.nodes import Region, School
from zizhu.api.statistics.queries import StatisticsQuery
from zizhu.api.web.access_log import OperationName
from zizhu.api.web.security import IntrospectionSwitch

# Each feature module contributes one query type and (optionally) one mutation type.
QUERY_TYPES: tuple[type, ...] = (
    AccountQuery,
    CodeQuery,
    ReasonQuery,
    ComparisonRunQuery,
    SpecialGroupQuery,
    RosterQuery,
    StatisticsQuery,
    PeriodQuery,
    NightlyQuery,
    DuplicateEnrolmentQuery,
    NodeQuery,
    OperationsQuery,
)
MUTATION_TYPES: tuple[type, ...] = (
    AccountMutation,
    ReasonMutation,
    ComparisonRunMutation,
    SpecialGroupMutation,
    RosterMutation,
    PeriodMutation,
    ExportMutation,
    CatalogueMutation,
)

Query = merge_types("Query", QUERY_TYPES)
Mutation = merge_types("Mutation", MUTATION_TYPES)
bound_arguments(Query, Mutation, Region, School)


class ZizhuSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        log_errors(errors)

    async def execute(self, query: str | None, *args, **kwargs) -> ExecutionResult:
        """Refuse an oversized document before it is parsed; code every error that leaves."""
        refused = check_source(query) if isinstance(query, str) else None
        if refused is not None:
            log_errors([refused])
            return ExecutionResult(data=None, errors=[refused])
        result = await super().execute(query, *args, **kwargs)
        result.errors = code_every_error(result.errors)
        return result


schema = ZizhuSchema(
    query=Query,
    mutation=Mutation,
    types=[ErrorCode],  # answered in errors[].extensions.code, never as a field: listed so the SDL shows it
    execution_context_class=MemoisingExecutionContext,
    extensions=[
        IntrospectionSwitch,
        RequestMetrics,
        OperationName,
        SharedParser,
        DocumentBounds,
        MaskUnexpected,
        DomainErrorCodes,
    ],
)
describe(schema._schema)
