"""Shared helpers of the export tests: ask for a link, download it, open the file."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from zizhu.domain.exports.tabular import CSV_TYPE, XLSX_TYPE


async def link(gql, token: str, mutation: str, variables: dict) -> dict:
    """The ExportLink of an export mutation (the document's only field)."""
    (value,) = (await gql.data(mutation, variables, token=token)).values()
    return value


async def download(gql, url: str, headers: dict | None = None):
    """GET a download link (absolute, as the API returns it) through the app."""
    return await gql.http.get(url, headers=headers or {})


def workbook(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_TYPE
    assert response.headers["content-disposition"].startswith("attachment")
    return load_workbook(io.BytesIO(response.content))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CSV_TYPE
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def sheet_rows(wb) -> list[list]:
    """Every data row of every sheet (header rows dropped), in order."""
    rows = []
    for ws in wb.worksheets:
        rows += [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    return rows
