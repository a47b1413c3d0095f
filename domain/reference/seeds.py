"""Seed the code lists and the project catalogue (idempotent: run at every `zizhu migrate`)."""
from __future__ import annotations

from zizhu.domain.reference.codes import (
    PROJECT_CATALOGUE,
    REASON_NEEDS_DETAIL,
    UNFUNDED_REASONS,
    Category,
    Stage,
)
from zizhu.domain.models import AidProject, CategoryCode, Region, ReasonCode, StageCode


async def seed_code_lists() -> None:
    for sort, stage in enumerate(Stage):
        await StageCode.update_or_create(code=stage.value, defaults={"label": stage.label, "sort": sort})
    for cat in Category:
        await CategoryCode.update_or_create(
            code=cat.value, defaults={"number": cat.number, "label": cat.label}
        )
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
