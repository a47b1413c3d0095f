"""Import templates of every kind: GET /templates/{kind}.xlsx and `zizhu template`; an untouched
template imports as an empty file, and each example row imports cleanly in import order."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from tests.support.roster import KG, open_windows
from tests.test_roster_import import imported
from zizhu.api.cli import main as cli
from zizhu.domain.exports.templates import DATA_SHEET, EXAMPLES, NOTES_SHEET, RULES, TEMPLATE_KINDS
from zizhu.domain.imports import run_import
from zizhu.domain.imports.kinds import KINDS
from zizhu.domain.models import AidRecord, Enrolment, LegacyPovertyReason, Region, School, SpecialGroupRecord
from zizhu.domain.roster.importer import EXAMPLE as ROSTER_EXAMPLE

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_ORDER = ("regions", "schools", "students", "aid", "special-groups", "legacy-reasons")


async def template(gql, kind: str):
    r = await gql.http.get(f"/templates/{kind}.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"].startswith(f"attachment; filename={kind}.xlsx")
    return load_workbook(io.BytesIO(r.content))


def example_of(wb) -> list[str]:
    """The example row on the notes sheet: the row after the repeated header row."""
    notes = [list(r) for r in wb[NOTES_SHEET].iter_rows(values_only=True)]
    headers = [c.value for c in wb.worksheets[0][1]]
    index = next(i for i, r in enumerate(notes) if r[: len(headers)] == headers)
    return ["" if v is None else v for v in notes[index + 1][: len(headers)]]


def save(wb, path: Path) -> Path:
    wb.save(path)
    return path


def text_column(ws, index: int) -> bool:
    """Whether the column's own style (not only some cells') is text: every row of it, row 5,000
    included, takes what is typed as text."""
    letter = get_column_letter(index)
    dims = [d for d in ws.column_dimensions.values() if d.min is not None and d.min <= index <= d.max]
    text = (
        bool(dims) and all(d.number_format == "@" for d in dims) and ws.column_dimensions[letter].number_format == "@"
    )
    # no cell below the header overrides it up to row 5,000 (the roster's row limit)
    overridden = [
        c.coordinate
        for row in ws.iter_rows(min_row=2, max_row=5001, min_col=index, max_col=index)
        for c in row
        if c.has_style and c.number_format != "@"
    ]
    return text and not overridden


async def test_every_kind_has_a_template_with_headers_notes_and_example(gql):
    assert set(TEMPLATE_KINDS) == set(KINDS) | {"preschool-roster"}
    for kind in KINDS:
        wb = await template(gql, kind)
        assert wb.sheetnames == [DATA_SHEET, NOTES_SHEET]
        data = wb.worksheets[0]
        assert tuple(c.value for c in data[1]) == KINDS[kind].headers
        assert all(
            c.value is None for row in data.iter_rows(min_row=2) for c in row
        )  # no data: nothing to import by mistake
        assert data.freeze_panes == "A2"
        notes = [r[0] for r in wb[NOTES_SHEET].iter_rows(values_only=True)]
        assert all(h in notes for h in KINDS[kind].headers)  # every column is explained
        assert example_of(wb) == list(EXAMPLES[kind])
        id_columns = [
            i for i, h in enumerate(KINDS[kind].headers, 1) if h in ("身份证件号", "学校标识码", "行政区划代码")
        ]
        assert id_columns and all(text_column(data, i) for i in id_columns), kind
        free = [i for i, h in enumerate(KINDS[kind].headers, 1) if not RULES[kind][h].text]
        assert not any(text_column(data, i) for i in free), kind
    wb = await template(gql, "preschool-roster")
    assert [c.value for c in wb.worksheets[0][1]] == ["身份证件号", "姓名", "金额"]
    assert text_column(wb.worksheets[0], 1) and not text_column(wb.worksheets[0], 2)
    r = await gql.http.get("/templates/teachers.xlsx")
    assert r.status_code == 404 and r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_value_lists_name_every_category_and_reason(gql):
    notes = [r for r in (await template(gql, "special-groups"))[NOTES_SHEET].iter_rows(values_only=True)]
    assert ("01", "脱贫家庭学生") in [r[:2] for r in notes] and ("13", "其他低收入家庭学生") in [r[:2] for r in notes]
    notes = [r for r in (await template(gql, "legacy-reasons"))[NOTES_SHEET].iter_rows(values_only=True)]
    assert ("99", "其他（须填写说明）") in [r[:2] for r in notes]
    notes = [r for r in (await template(gql, "aid"))[NOTES_SHEET].iter_rows(values_only=True)]
    assert "HE_GRANT" in [r[0] for r in notes]


async def test_untouched_templates_import_empty_and_the_examples_import_in_order(gql, tmp_path):
    for kind in IMPORT_ORDER:
        wb = await template(gql, kind)
        untouched = await run_import(kind, save(wb, tmp_path / f"{kind}-blank.xlsx"), actor="tester")
        assert (untouched.rows, untouched.inserted) == (0, 0)
        wb.worksheets[0].append(example_of(wb))
        result = await run_import(kind, save(wb, tmp_path / f"{kind}.xlsx"), actor="tester")
        assert (result.rows, result.inserted) == (1, 1), kind
    assert await Region.exists(code="430000", name="湖南省")
    assert await School.exists(code="4143000001", region_code="430000")
    assert await Enrolment.exists(school_code="4143000001", stage="HIGHER", status="ENROLLED")
    assert await AidRecord.exists(project_code="HE_GRANT", period="2023-2024", status="APPROVED")
    assert await SpecialGroupRecord.exists(category="01", source="CENTRAL", period="2023-2024-1")
    assert await LegacyPovertyReason.exists(reason_code="01", stage="HIGHER")


async def test_the_roster_example_imports(world, gql):
    await open_windows("ENTRY")
    await Enrolment.create(
        id_number=ROSTER_EXAMPLE[0],
        name=ROSTER_EXAMPLE[1],
        school_code=KG,
        stage="PRESCHOOL",
        status="ENROLLED",
        province="43",
    )
    wb = await template(gql, "preschool-roster")
    notes = [list(r) for r in wb["填写说明"].iter_rows(values_only=True)]
    example = notes[notes.index(["身份证件号", "姓名", "金额"]) + 1][:3]
    assert tuple(example) == ROSTER_EXAMPLE
    wb.worksheets[0].append(example)
    out = io.BytesIO()
    wb.save(out)
    result = await imported(gql.http, await gql.token_for("kg_op"), out.getvalue(), "roster.xlsx")
    assert result["created"] == 1


@pytest.mark.parametrize("kind", ["aid", "preschool-roster"])
def test_the_command_writes_the_same_template(kind, tmp_path, capsys):
    path = tmp_path / f"{kind}.xlsx"
    assert cli(["template", kind, "-o", str(path)]) == 0
    wb = load_workbook(path)
    expected = list(KINDS[kind].headers) if kind in KINDS else ["身份证件号", "姓名", "金额"]
    assert [c.value for c in wb.worksheets[0][1]] == expected
    assert str(path) in capsys.readouterr().out
