"""GraphQL over HTTP (the specification's media types and status codes).

A client that accepts `application/graphql-response+json` gets answers of that type: a request
error (the document does not parse or validate, or the variables do not coerce) is answered
with HTTP 400 and no `data` entry; once execution has started the answer is 200 with `data`.
Clients asking for `application/json` (or anything else) keep the classic answers: 200 always.
"""

from __future__ import annotations

import json

from starlette.responses import Response
from strawberry.types import ExecutionResult

from zizhu.domain.errors import DomainError

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_JSON_LIKE = {JSON, "application/*", "*/*"}


def wants_graphql_response(headers) -> bool:
    """True when the Accept header prefers (or ties) application/graphql-response+json."""
    graphql_q = json_q = 0.0
    for part in headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media == GRAPHQL_RESPONSE:
            graphql_q = max(graphql_q, q)
        elif media in _JSON_LIKE:
            json_q = max(json_q, q)
    return graphql_q > 0 and graphql_q >= json_q


def is_request_error(result: ExecutionResult) -> bool:
    """Refused before execution: no data, and no error belongs to a field (has a path)."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def media_type(headers) -> str:
    return GRAPHQL_RESPONSE if wants_graphql_response(headers) else JSON


def error_response(headers, error: DomainError, status: int) -> Response:
    """An HTTP-level refusal shaped as a GraphQL response without data."""
    body = {"errors": [{"message": error.message, "extensions": {"code": error.code, **error.extensions}}]}
    return Response(
        json.dumps(body, ensure_ascii=False), status_code=status, media_type=f"{media_type(headers)}; charset=utf-8"
    )
