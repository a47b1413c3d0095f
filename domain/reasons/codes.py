"""The unfunded reason codes as data (未资助原因代码维护): an administrator adds a code or retires one.

The notice gives no list: the seeded codes are zizhu's choice, and a province's history may use
others. A code is never reused: once it exists its label and meaning stay, and a retired code
stays retired. A retired code can no longer be chosen (reports answer VALIDATION) but every reason
that carries it keeps its label. Changes are audited and show in `codeLists` at once, and in the
statistics' byReason of this process at once (another process reads the list again when restarted).
"""

from __future__ import annotations

from dataclasses import dataclass

from zizhu.domain import db, versions
from zizhu.domain.accounts import audit
from zizhu.domain.errors import Conflict, ValidationFailed
from zizhu.domain.models import ReasonCode
from zizhu.domain.statistics import figures

AUDITED = ("label", "needs_detail", "retired")
MAX_LABEL = 100


@dataclass(frozen=True)
class ReasonCodeChange:
    code: str
    label: str | None = None  # required for a new code; for an existing one only its own label
    needs_detail: bool | None = None  # 须填写说明
    retired: bool | None = None


async def set_reason_code(actor: str, change: ReasonCodeChange) -> ReasonCode:
    """Add reason code `code` (two digits) or retire it (the caller has checked the actor is an administrator)."""
    code = (change.code or "").strip()
    if not (len(code) == 2 and code.isascii() and code.isdigit() and code != "00"):
        raise ValidationFailed("未资助原因代码须为两位数字（01–99）", argument="code")
    label = change.label.strip() if change.label is not None else None
    if label is not None and (not label or len(label) > MAX_LABEL or label.startswith(("=", "+", "@", "-"))):
        raise ValidationFailed(f"原因名称须为1至{MAX_LABEL}个字的纯文本", argument="label")
    async with db.transaction() as tx:
        existing = await ReasonCode.select_for_update().using_db(tx).get_or_none(code=code)
        if existing is None:
            if label is None:
                raise ValidationFailed("新增原因代码须填写原因名称", argument="label")
            if change.retired:
                raise ValidationFailed("不能新增已停用的原因代码", argument="retired")
            row = await ReasonCode.create(
                code=code, label=label, needs_detail=bool(change.needs_detail), retired=False, using_db=tx
            )
            before = None
        else:
            if (label is not None and label != existing.label) or (
                change.needs_detail is not None and change.needs_detail != existing.needs_detail
            ):
                raise Conflict(f"原因代码 {code} 已存在，代码不重复使用：其名称和含义不能修改，请新增代码")
            if change.retired is False and existing.retired:
                raise Conflict(f"原因代码 {code} 已停用，代码不重复使用，不能再启用")
            before = audit.snapshot(existing, AUDITED)
            if change.retired and not existing.retired:
                await ReasonCode.filter(code=code).using_db(tx).update(retired=True)
            row = await ReasonCode.get(code=code, using_db=tx)
        await audit.record(
            actor,
            "reason_code.create" if before is None else "reason_code.update",
            "reason_code",
            code,
            before=before,
            after=audit.snapshot(row, AUDITED),
            using_db=tx,
        )
        await versions.bump(tx)
    figures.forget_reason_codes()  # the statistics' byReason lists every code
    return row


async def list_reason_codes() -> list[ReasonCode]:
    return await ReasonCode.all().order_by("code")
