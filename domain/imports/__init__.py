"""Imports (数据导入) of the DESIGN.md §5 file formats."""
from domain.imports.reader import ImportRejected, RowError, read_rows

__all__ = ["ImportRejected", "RowError", "read_rows"]
