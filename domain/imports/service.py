"""`run_import`: stream a file, validate every row, stage and merge it in ONE transaction.

A file imports whole or not at all: rows are validated and staged in batches while reading;
any bad row rejects the file (every error listed) and the transaction rolls back. Reading and
validating run on the parser threads, one batch at a time; only staging runs on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter

from zizhu.domain import db, versions
from zizhu.domain.accounts import audit
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.imports.kinds import KINDS, Kind, Refs, load_refs
from zizhu.domain.imports.reader import BULK_LIMITS, ImportRejected, estimate_rows, in_parser_thread, read_rows
from zizhu.domain.imports.staging import Staging
from zizhu.domain.imports.values import Cells, Errors
from zizhu.domain.reference.periods import parse_semester

BATCH_ROWS = 10_000
LIMITS = BULK_LIMITS

Progress = Callable[..., None]  # progress(rows done, label, total=estimated rows or None)

IMPORTED_ROWS = Counter("zizhu_imported_rows", "Rows imported from files, by kind", ["kind"])


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
        rows.append(
            {"code": sem.code, "year": sem.academic_year, "term": sem.term, "start": start, "end": end, "forced": False}
        )
    await db.execute_many(
        "INSERT INTO period (code, academic_year, term, start_date, end_date, force_active) "
        "VALUES (:code, :year, :term, :start, :end, :forced) ON CONFLICT (code) DO NOTHING",
        rows,
        client=tx,
    )


class _ValidatedRows:
    """A file's rows read and validated in batches; records are kept only while no row was bad."""

    def __init__(self, spec: Kind, refs: Refs, path: Path, encoding: str | None = None) -> None:
        self.spec, self.refs = spec, refs
        self.errors = Errors()
        self.rows = self.last_row = 0
        self._rows = read_rows(path, spec.headers, path.name, LIMITS, encoding, optional=spec.optional)

    def take(self, size: int) -> tuple[list[tuple], bool]:
        """Up to `size` more rows: (their clean records, whether the file may have more)."""
        batch: list[tuple] = []
        for row_no, values in self._rows:
            self.rows, self.last_row = self.rows + 1, row_no
            record = self.spec.validate(Cells(row_no, values, self.errors), self.refs)
            if record is not None and not self.errors.total:
                batch.append((row_no, *record))
            if self.rows % size == 0:
                return batch, True
        return batch, False


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
    refs = await load_refs(spec)
    total = await asyncio.to_thread(estimate_rows, path) if progress else None
    reader = _ValidatedRows(spec, refs, path, encoding)
    async with db.transaction() as tx:
        staging = Staging(spec, tx)
        await staging.create()
        more = True
        while more:
            batch, more = await in_parser_thread(reader.take, BATCH_ROWS)
            await staging.add(batch)
            if progress and more:
                progress(reader.rows, label, total)
        if reader.errors.total:
            raise ImportRejected(reader.errors.finish(reader.last_row))
        if progress:
            progress(reader.rows, label, reader.rows)
        await _ensure_periods(refs.semesters, tx)
        counts = await staging.merge(reader.rows)
        result = ImportResult(
            reader.rows, counts.inserted, counts.updated, counts.distinct - counts.inserted - counts.updated
        )
        await audit.record(
            actor,
            f"import.{kind}",
            "import",
            path.name,
            after={
                "rows": result.rows,
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
            using_db=tx,
        )
        if result.inserted or result.updated:
            await versions.bump(tx)  # regions, schools and enrolments shape what the read caches serve
    IMPORTED_ROWS.labels(kind).inc(result.rows)
    return result
