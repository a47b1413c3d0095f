"""Error shaping: domain errors carry extensions.code; anything unexpected is masked and logged.

`ErrorCode` lists every code an answer can carry: the domain's error classes' codes, then the API's
own two. It is in the schema (and in `codeLists.errorCodes`), so clients and a schema diff see it.
"""

from __future__ import annotations

import logging
from enum import Enum

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from zizhu.api.gql.enums import enum_values
from zizhu.domain import db
from zizhu.domain.errors import DomainError, TimedOut

log = logging.getLogger("zizhu.api")
MASKED_MESSAGE = "服务器内部错误，请稍后重试"
TIMEOUT_MESSAGE = "数据库繁忙，查询超时，请稍后重试"
GRAPHQL_VALIDATION = "GRAPHQL_VALIDATION"
INTERNAL = "INTERNAL"
API_CODES = {
    GRAPHQL_VALIDATION: "请求不合 GraphQL 语法或本 schema（字段、参数、变量类型）",
    INTERNAL: "服务器内部错误（详情只记在服务器日志中）",
}


def error_codes() -> dict[str, str]:
    """Every code an answer can carry → its label: each domain error class's, then the API's own."""
    found: dict[str, str] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop(0)
        found.setdefault(cls.code, cls.label)
        pending.extend(cls.__subclasses__())
    return {**found, **API_CODES}


def _error_code_enum() -> type[Enum]:
    labels = error_codes()
    # the members come from the error classes, known only when the module runs
    members: type[Enum] = Enum("ErrorCode", {code: code for code in labels})  # type: ignore[misc]
    enum = strawberry.enum(members, description="错误代码：errors[].extensions.code")
    for value in enum_values(enum):
        value.description = labels[value.name]
    return enum


ErrorCode = _error_code_enum()


def _domain_error(error: GraphQLError) -> DomainError | None:
    """The coded error behind a GraphQL error: a domain error, or a database timeout as TIMEOUT."""
    original = error.original_error
    if isinstance(original, DomainError):
        return original
    if original is not None and not isinstance(original, GraphQLError) and db.is_timeout(original):
        return TimedOut(TIMEOUT_MESSAGE)
    return None


def _put_code(error: GraphQLError) -> None:
    domain = _domain_error(error)
    if domain is not None:
        error.message = domain.message
        error.extensions = {"code": domain.code, **domain.extensions}
    elif not should_mask(error) and "code" not in (error.extensions or {}):
        # GraphQL's own errors: syntax, validation, variable coercion
        error.extensions = {"code": GRAPHQL_VALIDATION, **(error.extensions or {})}


class DomainErrorCodes(SchemaExtension):
    """Put `code` (and the error's own details) into the extensions of domain errors."""

    def on_operation(self):
        yield
        result = self.execution_context.result
        for error in (result.errors if result else None) or []:
            _put_code(error)


def masked(error: GraphQLError) -> GraphQLError:
    return GraphQLError(MASKED_MESSAGE, error.nodes, path=error.path, extensions={"code": INTERNAL})


def code_every_error(errors: list[GraphQLError] | None) -> list[GraphQLError] | None:
    """The last net: every error leaves with a code, and anything unexpected is masked.

    The extensions above do this for errors of an operation; an exception that escapes the
    operation itself (raised while validating, say) reaches here uncoded and unmasked.
    """
    if not errors:
        return errors
    out = []
    for error in errors:
        if "code" not in (error.extensions or {}):
            if should_mask(error):
                error = masked(error)
            else:
                _put_code(error)
        out.append(error)
    return out


def log_errors(errors: list[GraphQLError]) -> None:
    """Domain errors are answers, not faults: log them at INFO; anything else at ERROR with its trace."""
    for error in errors:
        domain = _domain_error(error)
        if domain is not None:
            log.log(
                logging.WARNING if isinstance(domain, TimedOut) else logging.INFO, "%s: %s", domain.code, domain.message
            )
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
        return masked(error)
