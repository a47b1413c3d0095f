"""Imports (数据导入) of the file formats in docs/imports.md."""

from zizhu.domain.imports.reader import ImportRejected, RowError, read_rows
from zizhu.domain.imports.service import ImportResult, run_import

__all__ = ["ImportRejected", "ImportResult", "RowError", "read_rows", "run_import"]
