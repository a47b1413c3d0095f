"""File downloads: the import template of every import kind (导入模板), `GET /templates/{kind}.xlsx`."""
from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zizhu.api.downloads import attachment, error_response
from zizhu.domain.errors import DomainError
from zizhu.domain.exports.templates import template_bytes, template_filename, template_label
from zizhu.domain.exports.tabular import XLSX_TYPE


async def import_template(request: Request) -> Response:
    """A blank template; it holds no personal data, so no sign-in is needed."""
    kind = request.path_params["kind"]
    try:
        content = await asyncio.to_thread(template_bytes, kind)
    except DomainError as e:
        return error_response(e)
    disposition = attachment(template_filename(kind), f"{template_label(kind)}.xlsx")
    return Response(content, media_type=XLSX_TYPE, headers={"Content-Disposition": disposition})


ROUTES = [Route("/templates/{kind}.xlsx", import_template, methods=["GET"])]
