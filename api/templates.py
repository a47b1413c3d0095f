"""File downloads: the import template of every import kind (导入模板), `GET /templates/{kind}.xlsx`.

Each template is built once per process, on a worker thread (never on the event loop), and then
served from memory."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zizhu.api.web.downloads import attachment, error_response
from zizhu.domain.errors import DomainError
from zizhu.domain.exports.tabular import XLSX_TYPE
from zizhu.domain.exports.templates import template_bytes, template_filename, template_label

_BUILT: dict[str, bytes] = {}
_BUILDING = asyncio.Lock()


async def _template(kind: str) -> bytes:
    if kind not in _BUILT:
        async with _BUILDING:  # concurrent first requests wait for one build
            if kind not in _BUILT:
                _BUILT[kind] = await asyncio.to_thread(template_bytes, kind)
    return _BUILT[kind]


async def import_template(request: Request) -> Response:
    """A blank template; it holds no personal data, so no sign-in is needed."""
    kind = request.path_params["kind"]
    try:
        content = await _template(kind)
    except DomainError as e:
        return error_response(e)
    disposition = attachment(template_filename(kind), f"{template_label(kind)}.xlsx")
    return Response(content, media_type=XLSX_TYPE, headers={"Content-Disposition": disposition})


ROUTES = [Route("/templates/{kind}.xlsx", import_template, methods=["GET"])]
