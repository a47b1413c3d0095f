"""Resident ID numbers (身份证件号, GB 11643) and school identifiers (学校标识码).

The check character is ISO 7064 MOD 11-2 as GB 11643 defines it (`check_character`: a weighted
sum of the 17 digits, ten written X). No birth-place check: an ID keeps the region code of first
registration even after that code is retired. The birth date is checked as a calendar date.
Imports validate millions of IDs, so the check is a few integer operations.
"""

from __future__ import annotations

import re
from datetime import date

from zizhu.domain.errors import ValidationFailed

_SCHOOL_CODE = re.compile(r"[0-9]{10}")  # ASCII digits only (\d would take ２ or ٢)
_REGION_CODE = re.compile(r"[0-9]{6}")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
# ISO 7064 MOD 11-2: the digit at position i (from the left, 0-16) weighs 2^(17-i) mod 11
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_DIGIT = {str(d): d for d in range(10)}


def check_character(first17: str) -> str:
    """The check character of 17 ASCII digits: (12 − Σ digit × weight mod 11) mod 11, 10 as X."""
    value = (12 - sum(_DIGIT[d] * w for d, w in zip(first17, _WEIGHTS)) % 11) % 11
    return "X" if value == 10 else str(value)


class NumberCell(str):
    """The text of a spreadsheet cell that held a number, not text. An ID number typed into a
    number cell has already lost its last digits (Excel keeps 15), so it is refused as such."""

    __slots__ = ()


NUMBER_CELL_MESSAGE = (
    "身份证件号列须为文本格式：此单元格是数字，Excel 只保留15位有效数字；请将该列设为“文本”后重新输入号码"
)


class InvalidIdNumber(ValidationFailed, ValueError):
    """Raised with a Chinese message saying what is wrong with an ID number (code VALIDATION)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, argument="idNumber")


def normalise_id_number(raw: str) -> str:
    """Strip white space and upper-case the check character, without validating."""
    return "".join((raw or "").split()).upper()


def validate_id_number(raw: str) -> str:
    """Return the normalised 18-character ID number or raise InvalidIdNumber."""
    if isinstance(raw, NumberCell):
        raise InvalidIdNumber(NUMBER_CELL_MESSAGE)
    number = normalise_id_number(raw)
    if len(number) != 18:
        raise InvalidIdNumber(f"身份证件号应为18位，实为{len(number)}位")
    if not _ID_NUMBER.fullmatch(number):
        raise InvalidIdNumber("身份证件号格式错误（前17位须为数字，末位为数字或X）")
    if check_character(number[:17]) != number[17]:
        raise InvalidIdNumber("身份证件号校验位错误")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber("身份证件号出生日期无效") from None
    return number


def make_id_number(first17: str) -> str:
    """Append the check digit to 17 digits (used by the demo and the benchmarks)."""
    return first17 + check_character(first17)


def mask_id_number(number: str) -> str:
    """Mask an ID number for viewers outside the student's school: 110101********1234."""
    if len(number) != 18:
        return "*" * len(number)
    return number[:6] + "*" * 8 + number[14:]


def is_school_code(code: str) -> bool:
    return bool(_SCHOOL_CODE.fullmatch(code or ""))


def is_region_code(code: str) -> bool:
    return bool(_REGION_CODE.fullmatch(code or ""))


def province_of_school(school_code: str) -> str:
    """The 2-digit province inside a school identifier (AABBCCCCCC → BB)."""
    return school_code[2:4]


def region_prefix(region_code: str) -> str:
    """Code prefix of a region's subtree: '' nation, 2 digits province, 4 city, 6 county."""
    if region_code == "000000":
        return ""
    if region_code.endswith("0000"):
        return region_code[:2]
    if region_code.endswith("00"):
        return region_code[:4]
    return region_code


def region_level(region_code: str) -> str:
    return {0: "NATION", 2: "PROVINCE", 4: "CITY", 6: "COUNTY"}[len(region_prefix(region_code))]
