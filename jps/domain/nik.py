"""NIK (Nomor Induk Kependudukan), the 16-digit national ID number.

Layout: 2 province + 2 regency + 2 district digits, birth date DDMMYY (DD + 40 for women),
4-digit serial. A NIK never reaches a log or a listing in clear: use `mask_nik`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any


class Gender(StrEnum):
    MALE = "L"  # laki-laki
    FEMALE = "P"  # perempuan


# Kode provinsi (Kemendagri), including the Papua provinces created in 2022.
PROVINCE_CODES: dict[str, str] = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "DI Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}


class NikError(ValueError):
    """A NIK that breaks a structural rule; the message says which."""


@dataclass(frozen=True)
class ParsedNik:
    province: str
    regency: str  # 4 digits: province + regency
    district: str  # 6 digits
    birth_day: int
    birth_month: int
    birth_yy: int
    gender: Gender
    serial: str

    def birth_date_matches(self, birth_date: date) -> bool:
        return (
            birth_date.day == self.birth_day
            and birth_date.month == self.birth_month
            and birth_date.year % 100 == self.birth_yy
        )


def _valid_in_some_century(day: int, month: int, yy: int) -> bool:
    for century in (1900, 2000):
        try:
            date(century + yy, month, day)
            return True
        except ValueError:
            continue
    return False


def parse_nik(nik: str) -> ParsedNik:
    if len(nik) != 16 or not nik.isdigit() or not nik.isascii():
        raise NikError("NIK must be exactly 16 digits")
    province = nik[:2]
    if province not in PROVINCE_CODES:
        raise NikError(f"NIK province code {province} is not a real province")
    if nik[2:4] == "00" or nik[4:6] == "00":
        raise NikError("NIK regency and district codes must not be 00")
    dd, mm, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    gender = Gender.MALE
    if dd > 40:
        gender, dd = Gender.FEMALE, dd - 40
    if not (1 <= mm <= 12) or not (1 <= dd <= 31) or not _valid_in_some_century(dd, mm, yy):
        raise NikError("NIK birth date part (DDMMYY, DD+40 for women) is not a valid date")
    serial = nik[12:]
    if serial == "0000":
        raise NikError("NIK serial must not be 0000")
    return ParsedNik(province, nik[:4], nik[:6], dd, mm, yy, gender, serial)


def check_nik_consistency(nik: str, birth_date: date | None, gender: Gender | None) -> ParsedNik:
    parsed = parse_nik(nik)
    if birth_date is not None and not parsed.birth_date_matches(birth_date):
        raise NikError("NIK birth date part does not match birth_date")
    if gender is not None and parsed.gender != gender:
        raise NikError("NIK gender (DD+40 for women) does not match gender")
    return parsed


def make_nik(regency: str, district: str, birth_date: date, gender: Gender, serial: int) -> str:
    """Build a structurally valid NIK (for synthetic demo people and tests)."""
    day = birth_date.day + (40 if gender == Gender.FEMALE else 0)
    nik = f"{regency}{district}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"
    parse_nik(nik)
    return nik


def mask_nik(nik: str) -> str:
    """`3171********0001`: region prefix and serial stay readable, the birth date never shows."""
    if len(nik) < 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


# Any 16-digit run that is not part of a longer number is NIK-shaped.
_NIK_IN_TEXT = re.compile(r"(?<!\d)\d{16}(?!\d)")


def mask_niks_in(value: Any) -> Any:
    """Mask every NIK-shaped run in free-form data (notes, reasons, details, whole pages), recursively."""
    if isinstance(value, str):
        return _NIK_IN_TEXT.sub(lambda m: mask_nik(m.group(0)), value)
    if isinstance(value, list):
        return [mask_niks_in(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_niks_in(v) for k, v in value.items()}
    return value
