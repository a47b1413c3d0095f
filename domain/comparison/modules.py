"""Project modules (项目模块): the unfunded list and statistics under one 助困 project of a stage.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

from dataclasses import dataclass

from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.models import AidProject
from zizhu.domain.reference.codes import ProjectKind, Stage


@dataclass(frozen=True)
class Module:
    """What a read of one project's module (or of the stage-wide list) covers."""

    project: str  # the rows' project: '' = the stage-wide list
    stages: list[str]  # the stage codes to read


async def module_for(viewer: Viewer, project: str | None, stage: Stage | None) -> Module:
    """The rows to read for `project` (None: the stage-wide lists of the visible stages).

    A project's module covers its own stage: naming another stage is VALIDATION, a stage the
    viewer does not serve is FORBIDDEN (as for `stage`). An unknown, retired or non-助困 project
    has no module (VALIDATION)."""
    if project is None:
        return Module("", viewer.visible_stages(stage))
    code = project.strip()
    row = await AidProject.get_or_none(code=code) if 0 < len(code) <= 40 else None
    if row is None:
        raise ValidationFailed(f"资助项目“{code[:40]}”不存在")
    if row.kind != ProjectKind.RELIEF.value or row.retired:
        raise ValidationFailed(f"资助项目“{row.name}”不是在用的助困类项目，没有项目模块")
    if stage is not None and stage.value != row.stage:
        raise ValidationFailed(f"资助项目“{row.name}”属于{Stage(row.stage).label}，与所选学段不符")
    stages = viewer.visible_stages(Stage(row.stage))
    siblings = await AidProject.filter(stage=row.stage, kind=ProjectKind.RELIEF.value, retired=False).count()
    return Module(row.code if siblings > 1 else "", stages)
