"""Imports (数据导入) of the file formats in docs/imports.md."""

from zizhu.domain.imports.reader import ImportRejected, RowError, read_rows
from zizhu.domain.imports.service import ImportResult, import_self_collected, run_import

__all__ = ["ImportRejected", "ImportResult", "RowError", "import_self_collected", "read_rows", "run_import"]
