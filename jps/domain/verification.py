"""Post-payment verification (verifikasi pasca-pembayaran): after a payment settles, a random sample of
the people it was meant for are asked by SMS whether they received it ("YA" / "TIDAK").

Pure: the policy, the sample size, the stratified draw, the reply's words and the Wilson interval.
The draw runs in an activity with a seed chosen by the workflow (`workflow.random()`), so a retried
draw picks the same people; the scheduled workflow is `workflows/verification.py`.

Sample size, per regency (the stratum) and month: a proportion p estimated to a margin e at
confidence z needs n0 = z² p (1 − p) / e² answers from an infinite population; from N people paid in
the month, n = n0 / (1 + (n0 − 1) / N) (finite population correction). A day's draw takes that
month's share in proportion to the day's payments: q = ⌈n × N_day / N_month⌉, where N_month counts
the regency's units over the last `days_per_month` days (today's included), so a month of daily draws
adds up to about n. Every group paid that day is asked at least once, whatever q says.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist
from typing import Literal

from pydantic import BaseModel, Field

DAY = timedelta(days=1)

Answer = Literal["yes", "no"]
SampleStatus = Literal["drawn", "asked", "reminded", "confirmed", "denied", "no_answer"]
AWAITING: tuple[SampleStatus, ...] = ("asked", "reminded")


class VerificationPolicy(BaseModel):
    """How many people are asked after a payment, and how long they have to answer."""

    confidence: float = Field(
        0.95, gt=0, lt=1, description="Confidence level of each regency's monthly estimate"
    )
    margin: float = Field(0.10, gt=0, lt=1, description="Margin of error of that estimate (±)")
    expected_rate: float = Field(
        0.9,
        gt=0,
        lt=1,
        description="Expected confirmation rate p in n0 = z²p(1−p)/e² (0.5 is the most cautious)",
    )
    days_per_month: int = Field(30, ge=1, le=31, description="The month a regency's estimate covers, in days")
    tkm_asked: int = Field(
        3, ge=1, le=10, description="TKM: people asked per sampled group (the leader first)"
    )
    reminder_after: timedelta = Field(2 * DAY, description="No answer by then: one reminder")
    answer_within: timedelta = Field(2 * DAY, description="After the reminder: then counted as no answer")


def z_of(confidence: float) -> float:
    """The two-sided normal quantile: 1.959964 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def infinite_sample_size(policy: VerificationPolicy) -> float:
    """n0 = z² p (1 − p) / e²."""
    p = policy.expected_rate
    return z_of(policy.confidence) ** 2 * p * (1 - p) / policy.margin**2


def monthly_sample_size(policy: VerificationPolicy, population: int) -> int:
    """n = n0 / (1 + (n0 − 1) / N), rounded up; never more than N."""
    if population <= 0:
        return 0
    n0 = infinite_sample_size(policy)
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


def daily_quota(policy: VerificationPolicy, *, day_units: int, month_units: int) -> int:
    """The day's share of the month's sample: ⌈n × N_day / N_month⌉ (N_month at least N_day)."""
    if day_units <= 0:
        return 0
    month = max(month_units, day_units)
    return min(day_units, math.ceil(monthly_sample_size(policy, month) * day_units / month))


@dataclass(frozen=True)
class Unit:
    """One person who may be asked about one settled transfer. TKM: a member of a paid group about the
    group's transfer (the leader first); Padat Karya: a worker about their own wage."""

    transfer_id: str
    group_id: str
    program: str
    region_code: str
    member_no: int
    is_leader: bool = False


Stratum = tuple[str, str]  # (programme, regency)


def draw(
    units: Sequence[Unit],
    *,
    policies: dict[str, VerificationPolicy],
    month_units: dict[Stratum, int],
    seed: int,
) -> list[Unit]:
    """The day's sample, stratified by programme and regency (`region_code`), each stratum sized by its
    programme's policy. TKM: every paid transfer's leader and `tkm_asked − 1` other members drawn at
    random (the group's transfer is one payment: nobody else is asked about it). Padat Karya: one
    worker per group at random, then more at random among the stratum's other workers until its quota
    (`daily_quota`) is reached. `month_units`: each stratum's units over the month, today's included.
    Deterministic for a seed: the units are sorted first, so the order they came in does not matter."""
    rng = random.Random(seed)
    strata: dict[Stratum, list[Unit]] = {}
    for unit in sorted(units, key=lambda u: (u.program, u.region_code, u.transfer_id, u.member_no)):
        strata.setdefault((unit.program, unit.region_code), []).append(unit)
    chosen: list[Unit] = []
    for stratum, pool in sorted(strata.items()):
        program = stratum[0]
        policy = policies[program]
        taken: list[Unit] = []
        rest: list[Unit] = []
        if program == "tkm":
            for members in _by(pool, lambda u: u.transfer_id):
                leaders = [u for u in members if u.is_leader]
                others = [u for u in members if not u.is_leader]
                rng.shuffle(others)
                taken += (leaders + others)[: policy.tkm_asked]
        else:
            for members in _by(pool, lambda u: u.group_id):
                rng.shuffle(members)
                taken.append(members[0])
                rest += members[1:]
            quota = daily_quota(policy, day_units=len(pool), month_units=month_units.get(stratum, len(pool)))
            rng.shuffle(rest)
            taken += rest[: max(0, quota - len(taken))]
        chosen += sorted(taken, key=lambda u: (u.transfer_id, u.member_no))
    return chosen


def _by(units: Iterable[Unit], key: Callable[[Unit], str]) -> list[list[Unit]]:
    out: dict[str, list[Unit]] = {}
    for unit in units:
        out.setdefault(key(unit), []).append(unit)
    return [out[k] for k in sorted(out)]


def parse_reply(text: str) -> Answer | None:
    """ "YA" or "TIDAK" (any case, surrounding spaces and a final full stop ignored); anything else None."""
    word = text.strip().rstrip(".!").strip().upper()
    if word == "YA":
        return "yes"
    if word == "TIDAK":
        return "no"
    return None


def normalize_phone(raw: str) -> str:
    """An Indonesian mobile number as the members table keeps it (`+628…`), from `08…`, `628…` or
    `+62 8…` with spaces or dashes."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return "+" + digits


@dataclass(frozen=True)
class Interval:
    rate: float | None
    low: float | None
    high: float | None


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval of a proportion: centre (p̂ + z²/2n) / (1 + z²/n), half-width
    z √(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n). None for n = 0."""
    if n <= 0:
        return Interval(None, None, None)
    z = z_of(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def rupiah(amount: int) -> str:
    return f"Rp {amount:,}".replace(",", ".")


def question_text(
    *, program: str, group_name: str, amount: int, paid_on: date, reminder: bool = False
) -> str:
    """The SMS that asks (Bahasa Indonesia, one message: at most 2 SMS segments)."""
    what = (
        f"bantuan kelompok {group_name[:40]} sebesar {rupiah(amount)}"
        if program == "tkm"
        else f"upah Padat Karya Anda sebesar {rupiah(amount)}"
    )
    lead = "Pengingat JPS Kemnaker" if reminder else "JPS Kemnaker"
    return (
        f"{lead}: apakah {what} yang dibayarkan {paid_on:%d/%m/%Y} sudah diterima? "
        "Balas YA atau TIDAK. Petugas tidak pernah meminta uang, PIN atau kode OTP."
    )
