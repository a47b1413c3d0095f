"""Cell parsers for imports (导入校验): each bad cell becomes a RowError with a Chinese message.

A `Cells` wraps one data row; its parsers return the clean value, or None after recording the
problem, so one pass over a row collects every error in it. `Errors` is the file's error list.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from zizhu.domain.imports.reader import RowError
from zizhu.domain.reference.codes import UNFUNDED_REASONS, LabelledEnum
from zizhu.domain.reference.identity import InvalidIdNumber, is_school_code, validate_id_number
from zizhu.domain.reference.periods import InvalidPeriod, parse_aid_period, parse_semester
from zizhu.domain.settings import SHANGHAI

MAX_LISTED_ERRORS = 100_000
FORMULA_STARTS = ("=", "+", "@")  # a spreadsheet would run such text as a formula when the data is exported
_MAX_AMOUNT = Decimal("9999999999.99")
_CENT = Decimal("0.01")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)


class Errors(list):
    """The rejected rows of one file; past MAX_LISTED_ERRORS only the count grows."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def add(self, row: int, column: str, message: str) -> None:
        self.total += 1
        if len(self) < MAX_LISTED_ERRORS:
            self.append(RowError(row, column, message))

    def finish(self, last_row: int) -> list[RowError]:
        if self.total > len(self):
            return [*self, RowError(last_row, "", f"错误过多，另有 {self.total - len(self)} 处未列出")]
        return list(self)


@lru_cache(maxsize=4096)
def _enum(cls: type[LabelledEnum], text: str):
    for candidate in (text, text.zfill(2) if text.isdigit() else text):
        try:
            return cls.parse(candidate)
        except ValueError:
            continue
    return None


@lru_cache(maxsize=1024)
def _semester(text: str) -> str | None:
    try:
        return parse_semester(text).code
    except InvalidPeriod:
        return None


@lru_cache(maxsize=1024)
def _aid_period(text: str) -> str | None:
    try:
        return parse_aid_period(text)
    except InvalidPeriod:
        return None


_REASONS_BY_TEXT = {**{c: c for c in UNFUNDED_REASONS}, **{label: c for c, label in UNFUNDED_REASONS.items()}}


class Cells:
    """One data row: row number, {header: text}, and the file's error list."""

    __slots__ = ("_start", "errors", "row", "values")

    def __init__(self, row: int, values: dict[str, str], errors: Errors) -> None:
        self.row = row
        self.values = values
        self.errors = errors
        self._start = errors.total

    def bad(self, column: str, message: str) -> None:
        self.errors.add(self.row, column, message)

    @property
    def ok(self) -> bool:
        return self.errors.total == self._start

    def result(self, record: tuple) -> tuple | None:
        """The row's clean record, or None when any cell of it was bad."""
        return record if self.ok else None

    def text(self, column: str, max_len: int, required: bool = True) -> str | None:
        value = self.values[column]
        if not value:
            if required:
                self.bad(column, f"{column}不能为空")
                return None
            return ""
        if len(value) > max_len:
            self.bad(column, f"{column}过长（最多{max_len}个字）")
            return None
        if value.startswith(FORMULA_STARTS):
            self.bad(column, f"{column}不能以“{value[0]}”开头（疑似公式，请填写纯文本）")
            return None
        return value

    def id_number(self, column: str) -> str | None:
        try:
            return validate_id_number(self.values[column])
        except InvalidIdNumber as e:
            self.bad(column, str(e))
            return None

    def code(self, column: str, digits: int, what: str) -> str | None:
        value = self.values[column]
        if not (len(value) == digits and value.isascii() and value.isdigit()):
            self.bad(column, f"{what}“{value}”应为{digits}位数字")
            return None
        return value

    def school(self, column: str, schools: set[str]) -> str | None:
        value = self.values[column]
        if not is_school_code(value):
            self.bad(column, f"学校标识码“{value}”应为10位数字")
            return None
        if value not in schools:
            self.bad(column, f"学校“{value}”不存在")
            return None
        return value

    def enum(self, column: str, cls: type[LabelledEnum], what: str):
        member = _enum(cls, self.values[column])
        if member is None:
            self.bad(column, f"未知的{what}“{self.values[column]}”")
        return member

    def reason(self, column: str, known: dict[str, str] | None = None) -> str | None:
        """A reason by code or label: of `known` (text → code, e.g. the reason_code table) when given."""
        value = self.values[column]
        code = (known if known is not None else _REASONS_BY_TEXT).get(value.zfill(2) if value.isdigit() else value)
        if code is None:
            self.bad(column, f"未知的未资助原因“{value}”")
        return code

    def semester(self, column: str) -> str | None:
        code = _semester(self.values[column])
        if code is None:
            self.bad(column, f"资助周期“{self.values[column]}”格式错误，应为学期代码（如 2023-2024-1）")
        return code

    def aid_period(self, column: str) -> str | None:
        code = _aid_period(self.values[column])
        if code is None:
            self.bad(column, f"资助周期“{self.values[column]}”格式错误，应如 2023-2024-1 或 2023-2024")
        return code

    def amount(self, column: str) -> Decimal | None:
        text = self.values[column]
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            self.bad(column, f"金额“{text}”不是有效数字")
            return None
        if value < 0:
            self.bad(column, f"金额“{text}”不能为负数")
            return None
        if value != value.quantize(_CENT):
            self.bad(column, f"金额“{text}”最多保留两位小数")
            return None
        if value > _MAX_AMOUNT:
            self.bad(column, f"金额“{text}”过大")
            return None
        return value.quantize(_CENT)

    def moment(self, column: str) -> dt.datetime | None:
        """An optional date-time in Beijing time (blank → None)."""
        text = self.values[column]
        if not text:
            return None
        text = re.sub(r"\.\d+$", "", text.replace("T", " "))
        for fmt in _DATETIME_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI)
            except ValueError:
                continue
        self.bad(column, f"时间“{self.values[column]}”格式错误，应如 2024-01-15 10:30:00")
        return None
