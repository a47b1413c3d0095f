"""Files a Chinese office produces: CSV saved by Excel on Chinese Windows (GBK/GB18030), a workbook
renamed .csv, and an old .xls workbook (refused with what to do)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from zizhu.domain.imports import ImportRejected, run_import
from zizhu.domain.models import Region

HEADER = ["行政区划代码", "名称", "上级代码"]
ROWS = [["430300", "湘潭市", "430000"], ["430302", "雨湖区", "430300"]]
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def csv_file(tmp_path: Path, encoding: str, rows=ROWS, name: str = "regions.csv") -> Path:
    text = "\r\n".join(",".join(r) for r in [HEADER, *rows]) + "\r\n"
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def names(*codes: str) -> list[str]:
    return [r.name for r in await Region.filter(code__in=codes).order_by("code")]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
async def test_csv_encoding_is_detected(world, tmp_path, encoding):
    result = await run_import("regions", csv_file(tmp_path, encoding), actor="t")
    assert result.rows == 2
    assert await names("430300", "430302") == ["湘潭市", "雨湖区"]


async def test_gb18030_beyond_gbk(world, tmp_path):
    rows = [["430300", "湘潭市㐀", "430000"]]  # U+3400 exists in GB18030, not in GBK
    await run_import("regions", csv_file(tmp_path, "gb18030", rows), actor="t")
    assert await names("430300") == ["湘潭市㐀"]


async def test_named_encoding_wins(world, tmp_path):
    path = csv_file(tmp_path, "gbk")
    with pytest.raises(ImportRejected) as rejected:
        await run_import("regions", path, actor="t", encoding="utf-8")
    assert "utf-8" in rejected.value.errors[0].message and "--encoding" in rejected.value.errors[0].message
    await run_import("regions", path, actor="t", encoding="GBK")
    assert await names("430300") == ["湘潭市"]


async def test_workbook_renamed_csv_is_read_as_a_workbook(world, tmp_path):
    wb = Workbook()
    for row in [HEADER, *ROWS]:
        wb.active.append(row)
    path = tmp_path / "regions.csv"
    wb.save(path)
    assert (await run_import("regions", path, actor="t")).rows == 2
    assert await names("430302") == ["雨湖区"]


@pytest.mark.parametrize("name", ["regions.xls", "regions.csv", "regions.xlsx"])
async def test_old_xls_is_refused_with_what_to_do(world, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(OLE2)
    with pytest.raises(ImportRejected) as rejected:
        await run_import("regions", path, actor="t")
    (error,) = rejected.value.errors
    assert error.row == 1 and ".xls" in error.message and "另存为" in error.message


async def test_text_named_xlsx_says_it_is_no_workbook(world, tmp_path):
    path = csv_file(tmp_path, "utf-8", name="regions.xlsx")
    with pytest.raises(ImportRejected) as rejected:
        await run_import("regions", path, actor="t")
    assert "不是 Excel 工作簿" in rejected.value.errors[0].message
