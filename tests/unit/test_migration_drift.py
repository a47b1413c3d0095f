"""The models and the migration chain agree (迁移一致性): tortoise's own autodetector — what
`tortoise makemigrations` runs — finds nothing to migrate. A model changed without a migration
fails here. The migrations are self-contained: they import nothing of the live code."""

from __future__ import annotations

import ast
from pathlib import Path

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from zizhu.domain import db

MIGRATIONS = Path(db.__file__).resolve().parent / "migrations"


async def _pending(extra_models: tuple[str, ...] = ()) -> list[str]:
    """The operations `tortoise makemigrations` would write (the chain read from disk, no database)."""
    config = db.tortoise_config("sqlite://:memory:")
    config["apps"]["models"]["models"] = [db.MODELS_MODULE, *extra_models]
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    return [f"{w.name}: {op.describe() if hasattr(op, 'describe') else op!r}" for w in writers for op in w.operations]


async def test_the_models_and_the_migrations_agree():
    pending = await _pending()
    assert pending == [], f"models changed without a migration (make migration NAME=…): {pending}"


async def test_a_model_without_a_migration_is_found():
    pending = await _pending(("tests.unit.scratch_models",))
    assert len(pending) == 1 and "DriftProbe" in pending[0], pending


def test_migrations_import_no_live_code():
    files = sorted(MIGRATIONS.glob("0*.py"))
    assert len(files) >= 8
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] in {"tortoise", "json", "functools"}, f"{path.name} imports {module}"
