"""Template batch import of the preschool roster (学前教育政府资助名单模板导入) and the template itself.

Design notes: docs/design/domain-roster.md."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from zizhu.domain import db
from zizhu.domain.accounts import audit
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.imports import ImportRejected, RowError
from zizhu.domain.imports.reader import ReadLimits, in_parser_thread, is_xlsx, read_upload
from zizhu.domain.models import AidRecord
from zizhu.domain.reference.codes import AidStatus, WindowAction
from zizhu.domain.reference.identity import make_id_number, validate_id_number
from zizhu.domain.roster import entries as roster
from zizhu.domain.roster import windows

ID, NAME, AMOUNT = "身份证件号", "姓名", "金额"
HEADERS = (ID, NAME, AMOUNT)
DATA_SHEET, NOTES_SHEET = "资助名单", "填写说明"
TEMPLATE_FILENAME = "preschool-roster.xlsx"
MAX_ROWS = 5000
# Row 1 is the header; blank rows count. The template's own sheet unpacks to well under 1 MB.
UPLOAD_LIMITS = ReadLimits(
    max_rows=MAX_ROWS + 1,
    max_columns=64,
    max_cell_chars=1_000,
    max_unpacked_bytes=20 * 1024**2,
    max_members=200,
    max_seconds=30.0,
)
EXAMPLE = (make_id_number("43010220200101001"), "张小明", "1000.00")


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class _Row:
    row: int
    id_number: str
    name: str
    amount: Decimal


def _parse(rows: list[tuple[int, dict[str, str]]]) -> tuple[list[_Row], list[RowError]]:
    """Rows whose values are well-formed, and an error for every value that is not."""
    good: list[_Row] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for row_no, values in rows:
        bad = len(errors)
        try:
            id_number = validate_id_number(values[ID])
        except ValidationFailed as e:
            errors.append(RowError(row_no, ID, e.message))
            id_number = None
        if id_number and id_number in first_row:
            errors.append(RowError(row_no, ID, f"与第{first_row[id_number]}行重复"))
        elif id_number:
            first_row[id_number] = row_no
        if not values[NAME]:
            errors.append(RowError(row_no, NAME, "姓名不能为空"))
        try:
            amount = roster.check_amount(values[AMOUNT])
        except ValidationFailed as e:
            errors.append(RowError(row_no, AMOUNT, e.message))
        if len(errors) == bad and id_number is not None:  # no error: the number is valid
            good.append(_Row(row_no, id_number, values[NAME], amount))
    if not good and not errors:
        raise ImportRejected([RowError(2, "", "文件中没有数据行")])
    return good, errors


async def _read(source: bytes | BinaryIO | Path, filename: str | None) -> list[tuple[int, dict[str, str]]]:
    """The file's rows, read within UPLOAD_LIMITS in a parser process."""
    name = filename or "upload.csv"
    if not (is_xlsx(name) or name.lower().endswith(".csv")):
        raise ImportRejected([RowError(1, "", "仅支持 .xlsx 或 CSV（UTF-8）文件，请使用下载的模板")])
    if isinstance(source, Path):
        source = await in_parser_thread(source.read_bytes)
    try:
        return await read_upload(source, HEADERS, name, UPLOAD_LIMITS)
    except ImportRejected:
        raise
    except Exception:
        raise ImportRejected([RowError(1, "", "文件无法读取，请使用下载的 .xlsx 模板或 UTF-8 CSV")]) from None


async def import_roster(
    viewer: Viewer,
    period: str,
    source: bytes | BinaryIO | Path,
    filename: str | None,
    now: roster.Now,
    school_code: str | None = None,
) -> ImportResult:
    """Import a filled template into the school's roster as DRAFT entries, all or nothing."""
    school = await roster.entry_school(viewer, school_code)
    period = roster.check_period(period)
    rows, errors = await in_parser_thread(_parse, await _read(source, filename))
    created = updated = 0
    async with db.transaction() as tx:
        ids = [r.id_number for r in rows]
        enrolled = await roster.enrolled_names(school.code, ids, tx)
        existing = await roster.existing_entries(period, ids, tx)
        for r in rows:
            for column, message in roster.child_problems(
                r.id_number, r.name, enrolled, existing.get(r.id_number), school.code, allow_editable=True
            ):
                errors.append(RowError(r.row, column, message))
        if errors:
            raise ImportRejected(
                sorted(errors, key=lambda e: (e.row, HEADERS.index(e.column) if e.column in HEADERS else -1))
            )
        for r in rows:
            entry = existing.get(r.id_number)
            if entry is None:
                entry = await AidRecord.create(
                    id_number=r.id_number,
                    name=enrolled[r.id_number],
                    school_code=school.code,
                    project_code=roster.PROJECT,
                    period=period,
                    amount=r.amount,
                    status=AidStatus.DRAFT.value,
                    province=school.province,
                    using_db=tx,
                )
                await audit.record(
                    viewer.username,
                    "roster.import",
                    "aid_record",
                    str(entry.id),
                    None,
                    audit.snapshot(entry, roster.AUDITED),
                    using_db=tx,
                )
                created += 1
            elif entry.amount != r.amount:
                before = audit.snapshot(entry, roster.AUDITED)
                entry.amount = r.amount
                await entry.save(using_db=tx)
                await audit.record(
                    viewer.username,
                    "roster.import",
                    "aid_record",
                    str(entry.id),
                    before,
                    audit.snapshot(entry, roster.AUDITED),
                    using_db=tx,
                )
                updated += 1
        # The window that matters is the one at commit, not the one when the upload or the writes began.
        await windows.require_open(period, roster.PROJECT, WindowAction.ENTRY, school.province, now(), using_db=tx)
    return ImportResult(rows=len(rows), created=created, updated=updated, unchanged=len(rows) - created - updated)


_template_lock = threading.Lock()
_template: bytes | None = None


def template_bytes() -> bytes:
    """The blank template, built on the first call and kept: it never changes while the process runs."""
    global _template
    with _template_lock:
        if _template is None:
            _template = _build_template()
    return _template


async def template() -> bytes:
    """The template for a caller on the event loop: the first build runs on the parser threads."""
    return _template if _template is not None else await in_parser_thread(template_bytes)


def _build_template() -> bytes:
    """The blank roster template (.xlsx): data sheet first, then the notes with an example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = DATA_SHEET
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for column, width in zip("ABC", (24, 14, 12)):
        ws.column_dimensions[column].width = width
    # Text format for the whole column keeps an 18-digit ID number from turning into a rounded number in Excel.
    ws.column_dimensions["A"].number_format = "@"
    amounts = DataValidation(
        type="decimal",
        operator="greaterThan",
        formula1="0",
        error="金额须为大于0的数字，最多两位小数",
        errorTitle="金额无效",
    )
    ws.add_data_validation(amounts)
    amounts.add("C2:C5001")
    ws.freeze_panes = "A2"

    notes = wb.create_sheet(NOTES_SHEET)
    notes.append(["列名", "是否必填", "填写要求（有效值）"])
    notes.append([ID, "必填", "18位居民身份证号码，末位可为X；须为本园学前教育在读幼儿；同一文件内不得重复"])
    notes.append([NAME, "必填", "与学籍系统中的姓名一致"])
    notes.append([AMOUNT, "必填", "资助金额（元），大于0，最多两位小数"])
    notes.append([])
    notes.append(
        ["说明", "", f"只导入第一张表「{DATA_SHEET}」，从第2行开始，每行一名幼儿，最多{MAX_ROWS}行；本表不会被导入"]
    )
    notes.append(["", "", "资助周期在导入时选择（如 2023-2024-1 表示 2023-2024学年秋季学期）"])
    notes.append(
        ["", "", "导入的记录状态为“录入”；已录入或被退回的幼儿再次导入时按文件更新金额；任一行有误则整个文件不导入"]
    )
    notes.append(["", "", "只能在名单录入时间范围内导入"])
    notes.append([])
    notes.append(["示例（请在「资助名单」表中按此格式填写）"])
    notes.append(list(HEADERS))
    notes.append(list(EXAMPLE))
    notes.append([])
    notes.append(["审核状态", "", "、".join(s.label for s in AidStatus)])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABC", (24, 14, 90)):
        notes.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
