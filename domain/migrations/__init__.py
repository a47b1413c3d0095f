"""Versioned migrations (数据库迁移), the same files for SQLite and PostgreSQL.

The package's path is its real folder: under the strict editable install the files are linked
into build/, and `tortoise makemigrations` writes a new migration into the package's first path
folder — here, this folder of the repository.
"""

from pathlib import Path

__path__ = [str(Path(__file__).resolve().parent)]
