"""File downloads: the preschool roster import template (学前教育政府资助名单导入模板), built once."""
from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zizhu.domain.roster.importer import TEMPLATE_FILENAME, template

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOAD_NAME = "学前教育政府资助名单导入模板.xlsx"


async def preschool_roster_template(request: Request) -> Response:
    """The blank template; it holds no personal data, so no sign-in is needed."""
    disposition = f"attachment; filename={TEMPLATE_FILENAME}; filename*=UTF-8''{quote(DOWNLOAD_NAME)}"
    return Response(await template(), media_type=XLSX, headers={"Content-Disposition": disposition})


ROUTES = [Route(f"/templates/{TEMPLATE_FILENAME}", preschool_roster_template, methods=["GET"])]
