"""NIK rules, property-based: every NIK built from valid parts parses back to them; every broken
part is refused with a reason; masking never shows the birth date."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jps.domain.nik import (
    PROVINCE_CODES,
    Gender,
    NikError,
    check_nik_consistency,
    make_nik,
    mask_nik,
    parse_nik,
)

provinces = st.sampled_from(sorted(PROVINCE_CODES))
regency_part = st.integers(1, 99).map(lambda n: f"{n:02d}")
district_part = st.integers(1, 99).map(lambda n: f"{n:02d}")
birth_dates = st.dates(min_value=date(1940, 1, 1), max_value=date(2009, 12, 31))
genders = st.sampled_from(list(Gender))
serials = st.integers(1, 9999)


@given(provinces, regency_part, district_part, birth_dates, genders, serials)
def test_valid_parts_round_trip(
    province: str, regency: str, district: str, born: date, gender: Gender, serial: int
) -> None:
    nik = make_nik(province + regency, district, born, gender, serial)
    parsed = parse_nik(nik)
    assert (parsed.province, parsed.regency, parsed.gender, int(parsed.serial)) == (
        province,
        province + regency,
        gender,
        serial,
    )
    assert parsed.birth_date_matches(born)
    assert check_nik_consistency(nik, born, gender) == parsed


@given(provinces, birth_dates, serials)
def test_women_have_day_plus_forty(province: str, born: date, serial: int) -> None:
    nik = make_nik(province + "01", "01", born, Gender.FEMALE, serial)
    assert int(nik[6:8]) == born.day + 40
    with pytest.raises(NikError, match="gender"):
        check_nik_consistency(nik, born, Gender.MALE)


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_any_16_digits_either_parse_or_say_why(nik: str) -> None:
    try:
        parsed = parse_nik(nik)
    except NikError as err:
        assert str(err)
    else:
        assert parsed.province in PROVINCE_CODES and parsed.serial != "0000" and 1 <= parsed.birth_day <= 31


@pytest.mark.parametrize(
    ("nik", "why"),
    [
        ("317101010190000", "16 digits"),
        ("31710101019000011", "16 digits"),
        ("3171010101A90001", "16 digits"),
        ("9971010101900001", "province"),
        ("3171013202900001", "birth date"),  # 32 February... as a man's day 32
        ("3171017202900001", "birth date"),  # woman, day 32
        ("3171010113900001", "birth date"),  # month 13
        ("3171012902010001", "birth date"),  # 29 Feb 2001 / 1901: no leap year
        ("3171010101900000", "serial"),
        ("3100010101900001", "regency"),
    ],
)
def test_broken_niks_are_refused_with_a_reason(nik: str, why: str) -> None:
    with pytest.raises(NikError, match=why):
        parse_nik(nik)


def test_leap_day_valid_when_some_century_allows_it() -> None:
    assert parse_nik("3171012902000001").birth_day == 29  # 29 Feb 2000


def test_birth_date_must_match() -> None:
    nik = make_nik("3171", "01", date(1990, 5, 17), Gender.MALE, 1)
    with pytest.raises(NikError, match="birth_date"):
        check_nik_consistency(nik, date(1990, 5, 18), None)


@given(provinces, birth_dates, genders, serials)
def test_mask_hides_the_birth_date(province: str, born: date, gender: Gender, serial: int) -> None:
    nik = make_nik(province + "71", "01", born, gender, serial)
    masked = mask_nik(nik)
    assert masked[:4] == nik[:4] and masked[-4:] == nik[-4:] and masked[4:12] == "*" * 8
    assert mask_nik(masked) == masked
