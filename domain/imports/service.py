"""`run_import`: stream a file, validate every row, stage and merge it in ONE transaction.

A file imports whole or not at all: rows are validated and staged in batches while reading;
any bad row rejects the file (every error listed) and the transaction rolls back.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from zizhu.domain.accounts import audit
from zizhu.domain import db
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.imports.kinds import KINDS, load_refs
from zizhu.domain.imports.reader import ImportRejected, estimate_rows, read_rows
from zizhu.domain.imports.staging import Staging
from zizhu.domain.imports.values import Cells, Errors
from zizhu.domain.operations.metrics import IMPORTED_ROWS
from zizhu.domain.reference.periods import parse_semester

BATCH_ROWS = 10_000

Progress = Callable[..., None]  # progress(rows done, label, total=estimated rows or None)


@dataclass(frozen=True)
class ImportResult:
    """导入结果: data rows read; keys inserted, updated, unchanged (a duplicated key counts once)."""

    rows: int
    inserted: int
    updated: int
    unchanged: int


async def _ensure_periods(codes: set[str], tx) -> None:
    """Every semester a file refers to gets a period row with the default dates."""
    rows = []
    for code in sorted(codes):
        sem = parse_semester(code)
        start, end = sem.default_dates()
        rows.append({"code": sem.code, "year": sem.academic_year, "term": sem.term, "start": start, "end": end,
                     "forced": False})
    await db.execute_many(
        "INSERT INTO period (code, academic_year, term, start_date, end_date, force_active) "
        "VALUES (:code, :year, :term, :start, :end, :forced) ON CONFLICT (code) DO NOTHING",
        rows, client=tx,
    )


async def run_import(
    kind: str, path: Path, actor: str, progress: Progress | None = None, encoding: str | None = None
) -> ImportResult:
    """Import a CSV/.xlsx file of `kind`; raises ImportRejected listing every bad row.

    `encoding` names a CSV's encoding (default: detected, UTF-8 or GB18030)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationFailed(f"未知的导入类型“{kind}”，可选：{'、'.join(KINDS)}")
    path = Path(path)
    label = f"导入{spec.label}"
    total = await asyncio.to_thread(estimate_rows, path) if progress else None
    refs = await load_refs(spec)
    errors = Errors()
    rows = last_row = 0
    async with db.transaction() as tx:
        staging = Staging(spec, tx)
        await staging.create()
        batch: list[tuple] = []
        for row_no, values in read_rows(path, spec.headers, path.name, encoding):
            rows, last_row = rows + 1, row_no
            record = spec.validate(Cells(row_no, values, errors), refs)
            if record is not None and not errors.total:
                batch.append((row_no, *record))
            if len(batch) >= BATCH_ROWS:
                await staging.add(batch)
                batch = []
            if progress and rows % BATCH_ROWS == 0:
                progress(rows, label, total)
        if errors.total:
            raise ImportRejected(errors.finish(last_row))
        await staging.add(batch)
        if progress:
            progress(rows, label, rows)
        await _ensure_periods(refs.semesters, tx)
        counts = await staging.merge(rows)
        result = ImportResult(rows, counts.inserted, counts.updated, counts.distinct - counts.inserted - counts.updated)
        await audit.record(actor, f"import.{kind}", "import", path.name,
                           after={"rows": result.rows, "inserted": result.inserted, "updated": result.updated,
                                  "unchanged": result.unchanged}, using_db=tx)
    IMPORTED_ROWS.labels(kind).inc(result.rows)
    return result
