"""Installing and upgrading a database (安装与升级): the migrations, then the code lists, the project
catalogue and the upgrade's roster windows. Idempotent: run at every `zizhu migrate`."""

from __future__ import annotations

from zizhu.domain import db
from zizhu.domain.models import AidProject, CategoryCode, ReasonCode, Region, StageCode
from zizhu.domain.reference.codes import (
    PROJECT_CATALOGUE,
    REASON_NEEDS_DETAIL,
    UNFUNDED_REASONS,
    Category,
    Stage,
)
from zizhu.domain.roster.upgrade_windows import seed_upgrade_windows


async def seed_code_lists() -> None:
    for sort, stage in enumerate(Stage):
        await StageCode.update_or_create(code=stage.value, defaults={"label": stage.label, "sort": sort})
    for cat in Category:
        await CategoryCode.update_or_create(code=cat.value, defaults={"number": cat.number, "label": cat.label})
    for code, label in UNFUNDED_REASONS.items():
        await ReasonCode.update_or_create(
            code=code, defaults={"label": label, "needs_detail": code == REASON_NEEDS_DETAIL}
        )
    for code, (name, stage, kind, cycle) in PROJECT_CATALOGUE.items():
        # Only create: the catalogue is editable by an admin afterwards.
        await AidProject.get_or_create(
            code=code,
            defaults={"name": name, "stage": stage.value, "kind": kind.value, "cycle": cycle.value},
        )
    await Region.get_or_create(code="000000", defaults={"name": "全国", "parent_code": None, "level": "NATION"})


async def migrate(database_url: str | None = None) -> None:
    """Apply the versioned migrations, then (re)seed the code lists and the upgrade's roster
    windows. Safe to run repeatedly."""
    await db.apply_migrations(database_url)
    await db.init(database_url)
    try:
        await seed_code_lists()
        await seed_upgrade_windows()
    finally:
        await db.close()
