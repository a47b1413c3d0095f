"""`run_import`: stream a file, validate every row, stage and merge it in ONE transaction.

A file imports whole or not at all: rows are validated and staged in batches while reading;
any bad row rejects the file (every error listed) and the transaction rolls back. Reading and
validating run on the parser threads, one batch at a time; only staging runs on the event loop.
An upload (`import_self_collected`) is read whole in a parser process first (`read_upload`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from prometheus_client import Counter

from zizhu.domain import db, versions
from zizhu.domain.accounts import audit
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.imports.kinds import KINDS, Kind, Refs, load_refs, local_special_groups
from zizhu.domain.imports.reader import (
    BULK_LIMITS,
    ImportRejected,
    ReadLimits,
    RowError,
    estimate_rows,
    in_parser_thread,
    is_xlsx,
    read_rows,
    read_upload,
)
from zizhu.domain.imports.staging import Staging
from zizhu.domain.imports.values import Cells, Errors
from zizhu.domain.reference.codes import Role
from zizhu.domain.reference.periods import parse_semester

BATCH_ROWS = 10_000
LIMITS = BULK_LIMITS
# An authority's upload (自采集名单 through the API): a county's list, read within these bounds.
UPLOAD_MAX_ROWS = 200_000
UPLOAD_LIMITS = ReadLimits(
    max_rows=UPLOAD_MAX_ROWS + 1,
    max_cell_chars=1_000,
    max_unpacked_bytes=200 * 1024**2,
    max_members=200,
    max_seconds=120.0,
)

Progress = Callable[..., None]  # progress(rows done, label, total=estimated rows or None)

IMPORTED_ROWS = Counter("zizhu_imported_rows", "Rows imported from files, by kind", ["kind"])


@dataclass(frozen=True)
class ImportResult:
    """导入结果: data rows read; keys inserted, updated, unchanged (a duplicated key counts once)."""

    rows: int
    inserted: int
    updated: int
    unchanged: int
    removed: int = 0  # records the file replaced (an authority's upload of its own list)


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

    def __init__(
        self,
        spec: Kind,
        refs: Refs,
        rows: Iterable[tuple[int, dict[str, str]]],
    ) -> None:
        self.spec, self.refs = spec, refs
        self.errors = Errors()
        self.rows = self.last_row = 0
        self._rows = iter(rows)

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
    refs = await load_refs(spec)
    total = await asyncio.to_thread(estimate_rows, path) if progress else None
    reader = _ValidatedRows(
        spec, refs, read_rows(path, spec.headers, path.name, LIMITS, encoding, optional=spec.optional)
    )
    return await _import_rows(spec, reader, actor, path.name, progress=progress, total=total)


# Called inside the import's transaction once every row is valid and staged (staging table name):
# removes what the file replaces, returns how many records it removed.
Replace = Callable[[object, str], Awaitable[int]]


async def _import_rows(
    spec: Kind,
    reader: _ValidatedRows,
    actor: str,
    name: str,
    *,
    progress: Progress | None = None,
    total: int | None = None,
    replace: Replace | None = None,
    audit_key: str | None = None,
) -> ImportResult:
    """Stage the validated rows and merge them, in one transaction; audited as `import.<kind>`."""
    label = f"导入{spec.label}"
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
        await _ensure_periods(reader.refs.semesters, tx)
        moved = await _moved_provinces(spec, staging.name, tx)
        removed = await replace(tx, staging.name) if replace else 0
        counts = await staging.merge(reader.rows)
        result = ImportResult(
            reader.rows,
            counts.inserted,
            counts.updated,
            counts.distinct - counts.inserted - counts.updated,
            removed,
        )
        after = {"rows": result.rows, "inserted": result.inserted, "updated": result.updated}
        after |= {"unchanged": result.unchanged} | ({"removed": removed} if replace else {})
        await audit.record(actor, f"import.{spec.name}", "import", audit_key or name, after=after, using_db=tx)
        if result.inserted or result.updated or removed:  # the cached answers that read these rows
            await versions.bump_areas(tx, moved)
    IMPORTED_ROWS.labels(spec.name).inc(result.rows)
    return result


async def _moved_provinces(spec: Kind, staged: str, tx) -> list[str] | None:
    """The provinces whose cached answers the staged rows may change (None: every area)."""
    if spec.moves is None:
        return None
    if not spec.moves:
        return []
    return [r["p"] for r in await db.fetch(spec.moves.replace("{staged}", staged), client=tx)]


async def import_self_collected(viewer: Viewer, period: str, source: BinaryIO, filename: str | None) -> ImportResult:
    """An authority uploads its own self-collected special-group list (自采集名单) of `period`: the
    file replaces the records of the period that this region uploaded before — all or nothing —
    and leaves other regions' and the national records as they are. ADMIN loads lists with
    `zizhu import special-groups`; school accounts are refused."""
    viewer.require_role(Role.AUTHORITY_OPERATOR)
    region = await viewer.region(None)
    period = parse_semester(period).code
    name = filename or "upload.csv"
    if not (is_xlsx(name) or name.lower().endswith(".csv")):
        raise ImportRejected([RowError(1, "", "仅支持 .xlsx 或 CSV 文件，请使用特殊群体名单模板")])
    spec = local_special_groups(region.code, period)
    refs = Refs(semesters={period})
    reader = _ValidatedRows(spec, refs, await read_upload(source, spec.headers, name, UPLOAD_LIMITS, spec.optional))

    async def replace(tx, staged: str) -> int:
        return await db.execute(
            f"""DELETE FROM special_group_record
                 WHERE period = :period AND source = 'SELF' AND collected_by = :region AND NOT EXISTS (
                       SELECT 1 FROM {staged} s WHERE s.id_number = special_group_record.id_number
                          AND s.category = special_group_record.category)""",
            {"period": period, "region": region.code},
            client=tx,
        )

    result = await _import_rows(
        spec, reader, viewer.username, name, replace=replace, audit_key=f"{region.code}/{period}"
    )
    if result.rows == 0:  # nothing was staged, so nothing changed: an empty file is a mistake
        raise ImportRejected([RowError(2, "", "文件中没有数据行")])
    return result
