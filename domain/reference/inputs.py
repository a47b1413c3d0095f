"""Bounds on what a caller may send (输入校验): lengths, formats, list sizes, row ids.

Every argument of the API is checked here by its name before a service runs, so a malformed or
oversized value is answered VALIDATION naming the argument, never INTERNAL from the database
(NUL bytes, values longer than a column, integers beyond 64 bits, lists beyond a driver's
parameter limit). The services still check the meaning (does the school exist, is it in scope).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sized
from dataclasses import dataclass

from zizhu.domain.errors import ValidationFailed
from zizhu.domain.reference.identity import is_region_code, is_school_code
from zizhu.domain.reference.periods import parse_semester

MAX_ROW_ID = 2**63 - 1
MAX_BATCH = 500  # items in one list argument (ids, batch reports)
MAX_PAGE = 500  # `first` of a page
MAX_TEXT = 200  # any string argument without a bound of its own


@dataclass(frozen=True)
class Bound:
    """A string argument: its longest value and an optional check of its form."""

    max_length: int
    check: Callable[[str, str], None] | None = None


def _shown(value: str) -> str:
    return value if len(value) <= 20 else value[:20] + "…"


def _period(value: str, argument: str) -> None:
    try:
        parse_semester(value)
    except ValidationFailed as e:
        raise ValidationFailed(e.message, argument=argument) from None


def _region(value: str, argument: str) -> None:
    if not is_region_code(value):
        raise ValidationFailed(f"行政区划代码“{_shown(value)}”应为6位数字", argument=argument)


def _school(value: str, argument: str) -> None:
    if not is_school_code(value):
        raise ValidationFailed(f"学校标识码“{_shown(value)}”应为10位数字", argument=argument)


def _pattern(regex: str, what: str) -> Callable[[str, str], None]:
    compiled = re.compile(regex)

    def check(value: str, argument: str) -> None:
        if not compiled.fullmatch(value):
            raise ValidationFailed(f"{what}“{_shown(value)}”格式错误", argument=argument)

    return check


def row_id(value, argument: str) -> int:
    """A row id sent as text: ASCII digits, at most 64 bits."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_ROW_ID:
        raise ValidationFailed(f"编号“{_shown(text)}”无效", argument=argument)
    return int(text)


def _object_id(value: str, argument: str) -> None:
    """A bare row id, or a global ID: base64 of "TypeName:key" (the resolver then looks it up)."""
    if value.isascii() and value.isdigit():
        row_id(value, argument)
        return
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("ascii")
    except (ValueError, UnicodeError):
        decoded = ""
    kind, _, key = decoded.partition(":")
    if not (kind.isidentifier() and key):
        raise ValidationFailed(f"编号“{_shown(value)}”无效", argument=argument)


_ID = Bound(200, _object_id)

# By argument name (as the API spells it); "field.argument" overrides the name for one field.
BOUNDS: dict[str, Bound] = {
    "period": Bound(16, _period),
    "regionCode": Bound(6, _region),
    "provinceCode": Bound(6, _pattern(r"[0-9]{2}|[0-9]{6}", "省级行政区划代码")),
    "region.code": Bound(6, _region),
    "setPeriod.code": Bound(16, _period),
    "schoolCode": Bound(10, _school),
    "school.code": Bound(10, _school),
    "idNumber": Bound(40),
    "reasonCode": Bound(4, _pattern(r"[0-9]{2}", "未资助原因代码")),
    "projectCode": Bound(40, _pattern(r"[A-Z][A-Z0-9_]*", "资助项目代码")),
    "project": Bound(40),  # a project module ('' on the legacy history: the rows with no project)
    "search": Bound(50),  # an ID number or the start of a name
    "label": Bound(100),
    "setProject.code": Bound(40, _pattern(r"[A-Z][A-Z0-9_]*", "资助项目代码")),
    "setReasonCode.code": Bound(4, _pattern(r"[0-9]{2}", "未资助原因代码")),
    "username": Bound(64),
    "password": Bound(256),
    "name": Bound(64),
    "detail": Bound(500),
    "comment": Bound(500),
    "after": Bound(64),
    "id": _ID,
    "ids": _ID,
}


def check_text(field: str, name: str, value: str, path: str) -> None:
    """One string argument (or list item): no NUL byte, within its length, in its form."""
    bound = BOUNDS.get(f"{field}.{name}") or BOUNDS.get(name) or Bound(MAX_TEXT)
    if "\x00" in value:
        raise ValidationFailed(f"参数 {path} 含有空字符（NUL）", argument=path)
    if len(value) > bound.max_length:
        raise ValidationFailed(f"参数 {path} 过长（不能超过 {bound.max_length} 个字符）", argument=path)
    if bound.check is not None:
        bound.check(value, path)


def check_list(name: str, items: Sized, path: str) -> None:
    if len(items) > MAX_BATCH:
        raise ValidationFailed(
            f"参数 {path} 一次最多 {MAX_BATCH} 项，实为 {len(items)} 项", argument=path, max=MAX_BATCH
        )


def check_int(name: str, value: int, path: str) -> None:
    if name == "first" and not 1 <= value <= MAX_PAGE:
        raise ValidationFailed(f"参数 {path} 须在 1 到 {MAX_PAGE} 之间", argument=path, min=1, max=MAX_PAGE)


def reject_duplicates(keys: list, path: str) -> None:
    """A batch names each key once: a repeated key is a mistake, not a second change."""
    seen: set = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise ValidationFailed(f"参数 {path} 第 {index + 1} 项与前面的项重复", argument=f"{path}[{index}]")
        seen.add(key)
