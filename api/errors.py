"""Error shaping: domain errors carry extensions.code; anything unexpected is masked and logged."""
from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from zizhu.domain import db
from zizhu.domain.errors import DomainError, TimedOut

log = logging.getLogger("zizhu.api")
MASKED_MESSAGE = "服务器内部错误，请稍后重试"
TIMEOUT_MESSAGE = "数据库繁忙，查询超时，请稍后重试"


def _domain_error(error: GraphQLError) -> DomainError | None:
    """The coded error behind a GraphQL error: a domain error, or a database timeout as TIMEOUT."""
    original = error.original_error
    if isinstance(original, DomainError):
        return original
    if original is not None and not isinstance(original, GraphQLError) and db.is_timeout(original):
        return TimedOut(TIMEOUT_MESSAGE)
    return None


class DomainErrorCodes(SchemaExtension):
    """Put `code` (and the error's own details) into the extensions of domain errors."""

    def on_operation(self):
        yield
        result = self.execution_context.result
        for error in (result.errors if result else None) or []:
            domain = _domain_error(error)
            if domain is not None:
                error.message = domain.message
                error.extensions = {"code": domain.code, **domain.extensions}
            elif error.original_error is None and "code" not in (error.extensions or {}):
                error.extensions = {"code": "GRAPHQL_VALIDATION", **(error.extensions or {})}


def log_errors(errors: list[GraphQLError]) -> None:
    """Domain errors are answers, not faults: log them at INFO; anything else at ERROR with its trace."""
    for error in errors:
        domain = _domain_error(error)
        if domain is not None:
            log.log(logging.WARNING if isinstance(domain, TimedOut) else logging.INFO, "%s: %s", domain.code,
                    domain.message)
        elif error.original_error is None or isinstance(error.original_error, GraphQLError):
            log.info("invalid request: %s", error.message)
        else:
            log.error("unexpected error", exc_info=error.original_error)


def should_mask(error: GraphQLError) -> bool:
    """Mask exceptions that are neither domain errors nor GraphQL's own validation errors."""
    if error.original_error is None or _domain_error(error) is not None:
        return False
    return not isinstance(error.original_error, GraphQLError)


class MaskUnexpected(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message=MASKED_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL"}
        return masked
