"""The grievance rules that need no server: the SMS keyword, the text rule, phones, the policy file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from jps.domain.grievances import (
    GrievanceCategory,
    SmsParseError,
    load_grievance_policy,
    mask_phone,
    normalize_phone,
    parse_sms_grievance,
    phone_digest,
    text_problem,
)
from jps.domain.roles import Role

NIK = "3171014507900001"


def test_the_keyword_message_parses_with_or_without_a_group() -> None:
    got = parse_sms_grievance(f"aduan TKM-3171-AB2CD3EF4G {NIK} belumterima uang  belum masuk")
    assert got is not None
    assert (got.group_id, got.nik, got.category) == (
        "TKM-3171-AB2CD3EF4G",
        NIK,
        GrievanceCategory.PAYMENT_NOT_RECEIVED,
    )
    assert got.text == "uang  belum masuk"
    none = parse_sms_grievance(f"ADUAN - {NIK} PUNGLI diminta uang")
    assert none is not None and none.group_id is None and none.category == GrievanceCategory.MISCONDUCT
    assert parse_sms_grievance("YA") is None and parse_sms_grievance("") is None


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("ADUAN", "format"),
        (f"ADUAN XYZ {NIK} LAINNYA halo", "group id"),
        (f"ADUAN - {NIK} SOMETHING halo", "category"),
        ("ADUAN - 12345 LAINNYA halo", "NIK"),
        (f"ADUAN - {NIK} LAINNYA a\x07b", "control"),
    ],
)
def test_a_malformed_keyword_message_names_its_part(text: str, part: str) -> None:
    with pytest.raises(SmsParseError, match=part):
        parse_sms_grievance(text)


def test_text_phone_and_policy_rules(tmp_path: Path) -> None:
    assert text_problem("ok") is None
    assert text_problem(" ") == "must not be empty"
    assert text_problem("x" * 2001) == "at most 2000 characters"
    assert normalize_phone("081234567890") == normalize_phone("6281234567890") == "+6281234567890"
    assert mask_phone("+6281234567890") == "+62812*****890"
    assert phone_digest("+6281234567890", "k1") != phone_digest("+6281234567890", "k2")
    policy_file = tmp_path / "grievances.json"
    policy_file.write_text(
        json.dumps({"categories": {"misconduct": {"acknowledge_within": 3600}}, "reopen_within": 60})
    )
    policy = load_grievance_policy(policy_file)
    assert policy.rule(GrievanceCategory.MISCONDUCT).acknowledge_within == timedelta(hours=1)
    assert policy.rule(GrievanceCategory.MISCONDUCT).handler == Role.SUPERVISOR
    assert policy.reopen_within == timedelta(seconds=60)
    assert policy.rule(GrievanceCategory.OTHER).resolve_within == timedelta(days=21)
