"""The aid project catalogue as data (资助项目目录维护): an administrator adds a project (a
province's own 助困 project, say), changes its name, kind or cycle, retires it or brings it back.

A project's stage is fixed once it exists (its records belong to that stage). Changes are audited,
take effect at the next comparison (the runs read the catalogue) and show in `codeLists` at once.
A retired project accepts no new aid records and has no project module; the records it already
has keep counting as they did (history is not rewritten).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zizhu.domain import db, versions
from zizhu.domain.accounts import audit
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.models import AidProject
from zizhu.domain.reference.codes import Cycle, ProjectKind, Stage

CODE = re.compile(r"[A-Z][A-Z0-9_]{1,39}")
AUDITED = ("name", "stage", "kind", "cycle", "retired")
MAX_NAME = 100


@dataclass(frozen=True)
class ProjectChange:
    """What to set on project `code`; None leaves a value as it is (all but `retired` are
    required for a new project)."""

    code: str
    name: str | None = None
    stage: Stage | None = None
    kind: ProjectKind | None = None
    cycle: Cycle | None = None
    retired: bool | None = None


def _check(change: ProjectChange) -> str:
    code = (change.code or "").strip()
    if not CODE.fullmatch(code):
        raise ValidationFailed("资助项目代码须为2至40位大写字母、数字或下划线，以字母开头", argument="code")
    if change.name is not None:
        name = change.name.strip()
        if not name or len(name) > MAX_NAME or name.startswith(("=", "+", "@", "-")):
            raise ValidationFailed(f"项目名称须为1至{MAX_NAME}个字的纯文本", argument="name")
    return code


async def set_project(actor: str, change: ProjectChange) -> AidProject:
    """Add project `code` or change it (the caller has checked the actor is an administrator)."""
    code = _check(change)
    given = {
        "name": change.name.strip() if change.name is not None else None,
        "stage": change.stage.value if change.stage else None,
        "kind": change.kind.value if change.kind else None,
        "cycle": change.cycle.value if change.cycle else None,
        "retired": change.retired,
    }
    async with db.transaction() as tx:
        existing = await AidProject.select_for_update().using_db(tx).get_or_none(code=code)
        if existing is None:
            missing = [k for k in ("name", "stage", "kind", "cycle") if given[k] is None]
            if missing:
                raise ValidationFailed(f"新增资助项目须填写 {', '.join(missing)}", argument=missing[0])
            values = {k: v for k, v in given.items() if v is not None}
            values.setdefault("retired", False)
            row = await AidProject.create(code=code, **values, using_db=tx)
            before = None
        else:
            if given["stage"] is not None and given["stage"] != existing.stage:
                raise ValidationFailed("资助项目的学段不能修改（其资助记录属于原学段）；请新增项目", argument="stage")
            before = audit.snapshot(existing, AUDITED)
            values = {k: v for k, v in given.items() if v is not None and k != "stage"}
            if values:
                await AidProject.filter(code=code).using_db(tx).update(**values)
            row = await AidProject.get(code=code, using_db=tx)
        await audit.record(
            actor,
            "project.create" if before is None else "project.update",
            "aid_project",
            code,
            before=before,
            after=audit.snapshot(row, AUDITED),
            using_db=tx,
        )
        await versions.bump(tx)  # project modules and their statistics read the catalogue
    return row


async def list_projects() -> list[AidProject]:
    return await AidProject.all().order_by("stage", "code")
