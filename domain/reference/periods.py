"""Funding periods (资助周期): `2023-2024-1` autumn semester, `2023-2024-2` spring, `2023-2024` year."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from zizhu.domain.errors import ValidationFailed

# ASCII digits only: \d would also take full-width (２０２３) and Arabic-Indic (٢٠٢٣) digits.
_SEMESTER = re.compile(r"([0-9]{4})-([0-9]{4})-([12])")
_YEAR = re.compile(r"([0-9]{4})-([0-9]{4})")
FIRST_YEAR, LAST_YEAR = 2000, 2099  # academic years a period may start in


class InvalidPeriod(ValidationFailed, ValueError):
    """A malformed period code: a VALIDATION error naming the `period` argument."""

    def __init__(self, message: str) -> None:
        super().__init__(message, argument="period")


@dataclass(frozen=True)
class Semester:
    code: str
    academic_year: str
    term: int  # 1 autumn 秋季, 2 spring 春季

    @property
    def label(self) -> str:
        return f"{self.academic_year}学年{'秋季' if self.term == 1 else '春季'}学期"

    def default_dates(self) -> tuple[date, date]:
        """Autumn 09-01 to the end of February; spring 03-01 to 08-31."""
        first, second = (int(y) for y in self.academic_year.split("-"))
        if self.term == 1:
            return date(first, 9, 1), date(second, 2, calendar.monthrange(second, 2)[1])
        return date(second, 3, 1), date(second, 8, 31)


def _shown(text: str) -> str:
    """A period as quoted in a message: never more than a short prefix of what was sent."""
    text = str(text)
    return text if len(text) <= 20 else text[:20] + "…"


def _check_years(first: str, second: str, text: str) -> None:
    if int(second) != int(first) + 1:
        raise InvalidPeriod(f"资助周期“{text}”的学年应为连续两年")
    if not FIRST_YEAR <= int(first) <= LAST_YEAR:
        raise InvalidPeriod(f"资助周期“{text}”的学年须在 {FIRST_YEAR} 到 {LAST_YEAR} 年之间开始")


@lru_cache(maxsize=256)
def parse_semester(text: str) -> Semester:
    """Parse a semester period code or raise InvalidPeriod (a valid code is parsed once: a rollup
    asks for each of its ~140 regions)."""
    m = _SEMESTER.fullmatch((text or "").strip())
    if not m:
        raise InvalidPeriod(f"资助周期“{_shown(text)}”格式错误，应如 2023-2024-1")
    _check_years(m[1], m[2], text)
    return Semester(code=m[0], academic_year=f"{m[1]}-{m[2]}", term=int(m[3]))


def parse_aid_period(text: str) -> str:
    """An aid record's period: a semester code, or an academic year for year-cycle projects."""
    t = (text or "").strip()
    m = _YEAR.fullmatch(t)
    if m:
        _check_years(m[1], m[2], t)
        return t
    return parse_semester(t).code


def semester_for(day: date) -> Semester:
    """The semester whose default dates contain `day`."""
    if day.month >= 9:
        return parse_semester(f"{day.year}-{day.year + 1}-1")
    if day.month <= 2:
        return parse_semester(f"{day.year - 1}-{day.year}-1")
    return parse_semester(f"{day.year - 1}-{day.year}-2")
