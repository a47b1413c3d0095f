"""Reference data: resident ID numbers, periods and category names parsed and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from zizhu.domain.reference.codes import Category
from zizhu.domain.reference.identity import (
    InvalidIdNumber,
    make_id_number,
    mask_id_number,
    validate_id_number,
)
from zizhu.domain.reference.periods import InvalidPeriod, parse_aid_period, parse_semester, semester_for

ROOT = Path(__file__).resolve().parents[2]


def test_id_numbers():
    good = make_id_number("11010120150101123")
    assert validate_id_number(good.lower()) == good.upper()
    assert validate_id_number(" " + good[:6] + " " + good[6:]) == good
    with pytest.raises(InvalidIdNumber, match="校验位"):
        validate_id_number(good[:17] + ("0" if good[17] != "0" else "1"))
    with pytest.raises(InvalidIdNumber, match="18位"):
        validate_id_number("1234")
    with pytest.raises(InvalidIdNumber, match="出生日期"):
        validate_id_number(make_id_number("11010120151301123"))
    # A retired region code (e.g. 110103 崇文区) is still a valid ID.
    assert validate_id_number(make_id_number("11010320150101123"))
    x = next(
        make_id_number(f"110101201501011{i:02d}")
        for i in range(100)
        if make_id_number(f"110101201501011{i:02d}").endswith("X")
    )
    assert validate_id_number(x.lower()) == x
    assert mask_id_number(good) == good[:6] + "********" + good[14:]


def test_periods():
    s = parse_semester("2023-2024-1")
    assert (s.academic_year, s.term, s.label) == ("2023-2024", 1, "2023-2024学年秋季学期")
    assert [d.isoformat() for d in s.default_dates()] == ["2023-09-01", "2024-02-29"]
    assert parse_aid_period("2023-2024") == "2023-2024"
    for bad in ("2023-2025-1", "2023-2024-3", "2023", ""):
        with pytest.raises(InvalidPeriod):
            parse_aid_period(bad)
    import datetime as dt

    assert semester_for(dt.date(2024, 1, 25)).code == "2023-2024-1"
    assert semester_for(dt.date(2024, 3, 1)).code == "2023-2024-2"


def test_category_parsing_accepts_every_name():
    assert Category.parse("12") is Category.RIGID_EXPENDITURE
    assert Category.parse("支出型困难家庭学生") is Category.RIGID_EXPENDITURE
    assert Category.parse("RIGID_EXPENDITURE") is Category.RIGID_EXPENDITURE
    with pytest.raises(ValueError):
        Category.parse("14")
