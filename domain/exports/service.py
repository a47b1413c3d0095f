"""One entry point for every export: which kinds and formats exist, their checks, their files.

`check` validates the filters and the viewer's scope without producing anything (the API calls
it before handing out a link); `open_export` produces the file: the statistics table as bytes,
a list as a stream of chunks. Each download is recorded in the audit log (who exported what),
since the files carry personal data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from zizhu.domain.accounts import audit
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.modules import module_for
from zizhu.domain.errors import NotFound, ValidationFailed
from zizhu.domain.exports import lists, statistics_table
from zizhu.domain.exports.tabular import CSV_TYPE, XLSX_TYPE, csv_stream, xlsx_stream
from zizhu.domain.reference.codes import Stage
from zizhu.domain.reference.periods import parse_semester

STATISTICS = "unfunded-statistics"
XLSX, CSV = "xlsx", "csv"
FORMATS: dict[str, tuple[str, ...]] = {
    STATISTICS: (XLSX,),
    lists.UNFUNDED: (XLSX, CSV),
    lists.LEGACY: (XLSX, CSV),
    lists.ROSTER: (XLSX, CSV),
    lists.ROSTER_OVERVIEW: (XLSX,),
    lists.UNMATCHED: (XLSX, CSV),
    lists.DUPLICATES: (XLSX, CSV),
}
STATISTICS_FILTERS = ("period", "regionCode", "stage", "rows", "project")


@dataclass(frozen=True)
class Download:
    filename: str  # ASCII name
    title: str  # Chinese name, without extension
    media_type: str
    body: bytes | AsyncIterator[bytes]


def check_kind(kind: str, fmt: str) -> None:
    if fmt not in FORMATS.get(kind, ()):
        raise NotFound(f"没有“{kind}.{fmt}”这种导出")


def _statistics_filters(given: Mapping[str, str | None]) -> dict:
    unknown = sorted(set(given) - set(STATISTICS_FILTERS))
    if unknown:
        raise ValidationFailed(f"导出不支持参数 {', '.join(unknown)}", argument=unknown[0])
    stage = given.get("stage") or None
    try:
        stage = Stage(stage) if stage else None
    except ValueError:
        raise ValidationFailed(f"无效的取值“{stage}”", argument="stage") from None
    return {
        "period": parse_semester(given.get("period") or "").code,
        "region_code": given.get("regionCode") or None,
        "stage": stage,
        "rows": given.get("rows") or statistics_table.REGIONS,
        "project": given.get("project") or None,
    }


async def check(kind: str, fmt: str, viewer: Viewer, given: Mapping[str, str | None]) -> None:
    """VALIDATION, FORBIDDEN or NOT_FOUND now rather than at download time."""
    check_kind(kind, fmt)
    if kind == STATISTICS:
        f = _statistics_filters(given)
        statistics_table.check_rows(f["rows"])
        await viewer.region(f["region_code"])
        await module_for(viewer, f["project"], f["stage"])
    else:
        await lists.check(kind, viewer, given)


async def open_export(kind: str, fmt: str, viewer: Viewer, given: Mapping[str, str | None]) -> Download:
    """The file of an export, in the viewer's scope; errors are raised before any byte is made."""
    check_kind(kind, fmt)
    if kind == STATISTICS and (given.get("rows") or "") == statistics_table.SUBTREE_SCHOOLS:
        f = _statistics_filters(given)
        subtree = await statistics_table.subtree_schools(
            viewer, f["period"], f["region_code"], f["stage"], project=f["project"]
        )
        stream = xlsx_stream(subtree.title, subtree.columns, subtree.pages)
        download = Download(subtree.filename, subtree.title, XLSX_TYPE, stream)
    elif kind == STATISTICS:
        f = _statistics_filters(given)
        table = await statistics_table.statistics_table(
            viewer, f["period"], f["region_code"], f["stage"], f["rows"], project=f["project"]
        )
        body = await statistics_table.workbook_file(table, f["rows"])
        download = Download(table.filename, table.title, XLSX_TYPE, body)
    else:
        export = await lists.open_list(kind, viewer, given)
        stream = (
            xlsx_stream(export.title, export.columns, export.pages)
            if fmt == XLSX
            else csv_stream(export.columns, export.pages)
        )
        download = Download(f"{kind}.{fmt}", export.title, XLSX_TYPE if fmt == XLSX else CSV_TYPE, stream)
    await audit.record(
        viewer.username,
        f"export.{kind}",
        "export",
        download.filename,
        after={"format": fmt, **{k: v for k, v in given.items() if v}},
    )
    return download
