"""Audit log (操作日志): every write records who, what, before/after and when."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from zizhu.domain.models import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The audited fields of a model instance, JSON-ready."""
    return _plain({f: getattr(obj, f) for f in fields})


async def record(
    actor: str,
    action: str,
    entity: str,
    key: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    using_db=None,
) -> None:
    await AuditEntry.create(
        actor=actor,
        action=action,
        entity=entity,
        entity_key=key,
        before=_plain(before),
        after=_plain(after),
        using_db=using_db,
    )
