"""Property-based tests (hypothesis) of the ID-number validator and the period parser: any text
either parses to a well-formed value or raises the coded VALIDATION error; never another crash."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from zizhu.domain.errors import ValidationFailed
from zizhu.domain.reference.identity import (
    InvalidIdNumber,
    check_character,
    make_id_number,
    mask_id_number,
    validate_id_number,
)
from zizhu.domain.reference.periods import FIRST_YEAR, LAST_YEAR, InvalidPeriod, parse_aid_period, parse_semester

ASCII_DIGITS = "0123456789"
# Characters that look like digits but are not ASCII: full-width, Arabic-Indic, Devanagari, superscripts.
LOOKALIKE_DIGITS = "０１２３４５６７８９٠١٢٣٤٥٦٧٨٩०१२३४५६७८९²³¹"

birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
regions = st.text(ASCII_DIGITS, min_size=6, max_size=6)
serials = st.text(ASCII_DIGITS, min_size=3, max_size=3)


# The examples of GB 11643-1999 itself (the standard that defines the number and its check character).
KNOWN_VALID = ("11010519491231002X", "440524188001010014")


def mod_11_2_holds(number: str) -> bool:
    """ISO 7064 MOD 11-2 in its checking form, written independently of the code under test: over all
    18 characters (X = 10), Σ a_i × 2^(17−i) ≡ 1 (mod 11)."""
    values = [10 if c == "X" else int(c) for c in number]
    return sum(v * 2 ** (17 - i) for i, v in enumerate(values)) % 11 == 1


def test_known_valid_id_numbers_validate_and_their_check_characters_are_computed():
    # beside the standard's examples, one number for each of the eleven check characters, found by
    # the checking form alone (serials 000-999 of one person's birth date)
    found = {}
    for serial in range(1000):
        first17 = f"11010519900307{serial:03d}"
        for c in "0123456789X":
            if mod_11_2_holds(first17 + c):
                found.setdefault(c, first17 + c)
    assert set(found) == set("0123456789X")
    for number in (*KNOWN_VALID, *found.values()):
        assert mod_11_2_holds(number), number
        assert validate_id_number(number) == number
        assert check_character(number[:17]) == number[17] and make_id_number(number[:17]) == number


@settings(max_examples=500)
@given(st.text(ASCII_DIGITS, min_size=17, max_size=17))
def test_the_check_character_is_iso_7064_mod_11_2(first17):
    number = first17 + check_character(first17)
    assert mod_11_2_holds(number)
    # and it is the only character that makes it hold
    assert [c for c in "0123456789X" if mod_11_2_holds(first17 + c)] == [number[17]]


@st.composite
def valid_id_numbers(draw) -> str:
    return make_id_number(draw(regions) + draw(birth_dates).strftime("%Y%m%d") + draw(serials))


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_text_is_an_id_number_or_a_validation_error(text):
    try:
        number = validate_id_number(text)
    except InvalidIdNumber as e:
        assert e.code == "VALIDATION" and e.extensions["argument"] == "idNumber" and e.message
        return
    assert len(number) == 18 and number.isascii()
    assert number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")
    assert mod_11_2_holds(number)
    dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


@given(valid_id_numbers(), st.sampled_from(["", " ", "\t", "\u3000"]), st.booleans())
def test_valid_id_numbers_survive_spacing_and_case(number, space, lower):
    text = space + (number.lower() if lower else number) + space
    assert validate_id_number(text) == number
    assert mask_id_number(number) == number[:6] + "********" + number[14:]


@given(valid_id_numbers(), st.integers(0, 16), st.sampled_from(LOOKALIKE_DIGITS))
def test_non_ascii_digits_never_validate(number, position, lookalike):
    mangled = number[:position] + lookalike + number[position + 1 :]
    try:
        validate_id_number(mangled)
    except InvalidIdNumber:
        return
    raise AssertionError(f"{mangled!r} validated")


@given(valid_id_numbers(), st.integers(0, 17))
def test_one_changed_character_is_caught(number, position):
    replacement = "0" if number[position] != "0" else "1"
    mangled = number[:position] + replacement + number[position + 1 :]
    try:
        validate_id_number(mangled)
    except InvalidIdNumber:
        return
    raise AssertionError(f"{mangled!r} validated")  # MOD 11-2 detects every single substitution


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_any_text_is_a_period_or_a_validation_error(text):
    for parse in (parse_semester, parse_aid_period):
        try:
            value = parse(text)
        except InvalidPeriod as e:
            assert isinstance(e, ValidationFailed) and e.extensions["argument"] == "period"
            assert len(e.message) < 80  # the value is never echoed at length
            continue
        code = value.code if hasattr(value, "code") else value
        assert code.isascii() and code == text.strip()


@given(st.integers(FIRST_YEAR, LAST_YEAR), st.sampled_from([1, 2]))
def test_well_formed_semesters_round_trip(year, term):
    code = f"{year}-{year + 1}-{term}"
    semester = parse_semester(code)
    assert (semester.code, semester.term, semester.academic_year) == (code, term, f"{year}-{year + 1}")
    start, end = semester.default_dates()
    assert start < end and start.year in (year, year + 1)


@given(st.integers(0, 9998).filter(lambda y: not FIRST_YEAR <= y <= LAST_YEAR), st.sampled_from([1, 2]))
def test_years_outside_the_range_are_refused(year, term):
    try:
        parse_semester(f"{year:04d}-{year + 1:04d}-{term}")
    except InvalidPeriod:
        return
    raise AssertionError(year)


@given(st.integers(FIRST_YEAR, LAST_YEAR), st.integers(0, 8), st.sampled_from(LOOKALIKE_DIGITS))
def test_periods_with_lookalike_digits_are_refused(year, position, lookalike):
    code = f"{year}-{year + 1}-1"
    position = position if position < 4 else position + 1  # a digit, not the dash
    mangled = code[:position] + lookalike + code[position + 1 :]
    try:
        parse_semester(mangled)
    except InvalidPeriod:
        return
    raise AssertionError(mangled)
