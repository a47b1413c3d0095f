"""What every file download route shares: the attachment header and errors as JSON."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import JSONResponse

from zizhu.domain.errors import DomainError

HTTP_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404}


def attachment(filename: str, download_name: str) -> str:
    """Content-Disposition with an ASCII name and the Chinese name (RFC 6266 filename*)."""
    return f"attachment; filename={filename}; filename*=UTF-8''{quote(download_name)}"


def error_response(error: DomainError) -> JSONResponse:
    """A domain error in the shape of a GraphQL error: message and extensions.code."""
    body = {"errors": [{"message": error.message, "extensions": {"code": error.code, **error.extensions}}]}
    return JSONResponse(body, status_code=HTTP_STATUS.get(error.code, 400))
