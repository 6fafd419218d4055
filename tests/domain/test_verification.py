"""The post-payment verification's arithmetic: the sample size (n0 = z²p(1−p)/e², finite population
correction, the day's share of the month), the stratified draw, the reply's words and the Wilson
interval against hand-computed values."""

from __future__ import annotations

import math

import pytest

from jps.domain.programs import load_policies
from jps.domain.verification import (
    Unit,
    VerificationPolicy,
    daily_quota,
    draw,
    infinite_sample_size,
    monthly_sample_size,
    normalize_phone,
    parse_reply,
    wilson,
    z_of,
)

POLICY = VerificationPolicy()  # 95 %, ±10 points, p = 0.9
POLICIES = {"tkm": POLICY, "padat_karya": POLICY}


def test_the_policy_travels_in_each_programme_s_policy() -> None:
    for policy in load_policies().values():
        assert policy.verification.confidence == 0.95 and policy.verification.margin == 0.10


def test_sample_size_follows_the_formula_with_the_finite_population_correction() -> None:
    assert z_of(0.95) == pytest.approx(1.959964, abs=1e-6)
    n0 = 1.959964**2 * 0.9 * 0.1 / 0.1**2  # 34.57
    assert infinite_sample_size(POLICY) == pytest.approx(n0, rel=1e-6)
    assert monthly_sample_size(POLICY, 1_000_000) == 35
    assert monthly_sample_size(POLICY, 100) == math.ceil(n0 / (1 + (n0 - 1) / 100)) == 26
    assert monthly_sample_size(POLICY, 10) == 8
    assert monthly_sample_size(POLICY, 2) == 2  # never more than were paid
    assert monthly_sample_size(POLICY, 0) == 0
    # p = 0.5, the cautious choice: the textbook 97 (96.04 rounded up).
    assert monthly_sample_size(VerificationPolicy(expected_rate=0.5), 10**9) == 97


def test_the_day_takes_its_share_of_the_month() -> None:
    # 100 paid this month in the regency, 10 of them today: a tenth of 26, rounded up.
    assert daily_quota(POLICY, day_units=10, month_units=100) == 3
    assert daily_quota(POLICY, day_units=100, month_units=100) == 26
    assert daily_quota(POLICY, day_units=0, month_units=100) == 0
    assert daily_quota(POLICY, day_units=5, month_units=0) == 5  # the month is at least today


def _tkm(transfer: str, region: str, size: int) -> list[Unit]:
    return [Unit(transfer, f"G-{transfer}", "tkm", region, i, is_leader=i == 0) for i in range(size)]


def _pk(group: str, region: str, workers: int) -> list[Unit]:
    return [Unit(f"{group}-T{i:02d}", group, "padat_karya", region, i) for i in range(workers)]


def test_tkm_asks_the_leader_and_two_members_of_every_transfer() -> None:
    units = _tkm("T1", "3171", 12) + _tkm("T2", "3273", 20)
    chosen = draw(units, policies=POLICIES, month_units={}, seed=7)
    by_transfer: dict[str, list[Unit]] = {}
    for unit in chosen:
        by_transfer.setdefault(unit.transfer_id, []).append(unit)
    assert sorted(by_transfer) == ["T1", "T2"]
    for asked in by_transfer.values():
        assert len(asked) == 3 and sum(u.is_leader for u in asked) == 1


def test_padat_karya_asks_one_worker_per_group_then_fills_the_regency_quota() -> None:
    # Two groups in one regency, 40 workers paid today of 400 this month (quota ⌈n(400) × 40/400⌉).
    units = _pk("PK-A", "3171", 30) + _pk("PK-B", "3171", 10) + _pk("PK-C", "3273", 5)
    month = {("padat_karya", "3171"): 400, ("padat_karya", "3273"): 5}
    chosen = draw(units, policies=POLICIES, month_units=month, seed=11)
    jakarta = [u for u in chosen if u.region_code == "3171"]
    assert len(jakarta) == daily_quota(POLICY, day_units=40, month_units=400) == 4
    assert {u.group_id for u in jakarta} == {"PK-A", "PK-B"}
    bandung = [u for u in chosen if u.region_code == "3273"]
    assert len(bandung) == 5  # 5 of 5 this month: the whole stratum
    assert len({(u.transfer_id, u.member_no) for u in chosen}) == len(chosen)


def test_the_draw_is_the_same_for_the_same_seed_whatever_the_order() -> None:
    units = _pk("PK-A", "3171", 30) + _tkm("T1", "3171", 12)
    month = {("padat_karya", "3171"): 300}
    first = draw(units, policies=POLICIES, month_units=month, seed=42)
    again = draw(list(reversed(units)), policies=POLICIES, month_units=month, seed=42)
    assert first == again
    assert draw(units, policies=POLICIES, month_units=month, seed=43) != first


@pytest.mark.parametrize(
    ("text", "answer"),
    [("YA", "yes"), ("ya", "yes"), (" Ya. ", "yes"), ("TIDAK", "no"), ("tidak!", "no"), ("Tidak ", "no")],
)
def test_a_reply_is_ya_or_tidak_in_any_case(text: str, answer: str) -> None:
    assert parse_reply(text) == answer


@pytest.mark.parametrize("text", ["", "Y", "YA TIDAK", "iya", "ADUAN TKM-3171 x", "no"])
def test_anything_else_is_not_a_reply(text: str) -> None:
    assert parse_reply(text) is None


def test_phone_numbers_are_compared_as_the_members_table_keeps_them() -> None:
    assert normalize_phone("081234567890") == "+6281234567890"
    assert normalize_phone("6281234567890") == "+6281234567890"
    assert normalize_phone("+62 812-3456-7890") == "+6281234567890"


def test_wilson_interval_against_hand_computed_values() -> None:
    # 8 of 10: centre (0.8 + z²/20) / (1 + z²/10) = 0.716737, half-width 0.226577.
    eight = wilson(8, 10)
    assert eight.rate == 0.8
    assert eight.low == pytest.approx(0.490160, abs=1e-5)
    assert eight.high == pytest.approx(0.943313, abs=1e-5)
    # 1 of 2: centre 0.5, half-width z√(1/8 + z²/16) / (1 + z²/2) = 0.405470.
    half = wilson(1, 2)
    assert (half.low, half.high) == (pytest.approx(0.094531, abs=1e-5), pytest.approx(0.905469, abs=1e-5))
    # All confirmed: the upper bound is 1, the lower bound z² away: n / (n + z²).
    every = wilson(20, 20)
    assert every.high == pytest.approx(1.0) and every.low == pytest.approx(20 / (20 + 1.959964**2), abs=1e-5)
    assert wilson(0, 0).rate is None
