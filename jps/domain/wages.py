"""Padat Karya wages as the programme is run (upah per HOK): a worker earns a daily rate for each day
worked, by role, recorded weekly on a muster roll (daftar hadir) with photos of the worksite as
evidence. Pure: the policy, the worksite, the geofence and the arithmetic of a week's wages.

A group keeps the policy it was submitted under (it travels in the workflow's input): a policy
without `wages` (every group submitted before the rule existed, and any deployment whose policy file
switches it off with `{"padat_karya": {"wages": null}}`) pays Padat Karya the earlier way, one wage
bill in equal shares. The built-in Padat Karya policy carries the rule.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class WorkRole(StrEnum):
    """A member's role on the worksite; the daily rate depends on it."""

    WORKER = "worker"  # pekerja
    SKILLED = "skilled"  # tukang
    FOREMAN = "foreman"  # mandor


class Worksite(BaseModel):
    """Lokasi pekerjaan: where the facility is built. A photo counts as evidence of a workday only
    when taken within `radius_m` of this point."""

    lat: float = Field(ge=-11.5, le=6.5, description="Latitude (Indonesia spans about 6°N to 11°S)")
    lon: float = Field(ge=94.5, le=141.5, description="Longitude")
    radius_m: int = Field(200, ge=10, le=5000, description="How far from the point a photo may be taken")


def _default_rates() -> dict[WorkRole, int]:
    return {WorkRole.WORKER: 100_000, WorkRole.SKILLED: 125_000, WorkRole.FOREMAN: 150_000}


class WagePolicy(BaseModel):
    """The wage rule of a Padat Karya policy. Defaults (documented in docs/wages.md): 10 planned
    workdays; Rp 100,000 a day for a worker, Rp 125,000 for a skilled worker, Rp 150,000 for a
    foreman; a HOK of 8 hours; at most 10 hours a day; a weekly run above Rp 10,000,000 needs a
    supervisor's authorization; paid by days worked. `province_rates` overrides the rates of a
    province (2-digit code), e.g. `{"31": {"worker": 150000}}`."""

    planned_workdays: int = Field(10, ge=1, le=366, description="Site days of work the facility needs")
    daily_rates: dict[WorkRole, int] = Field(default_factory=_default_rates, description="Rupiah per HOK")
    province_rates: dict[str, dict[WorkRole, int]] = Field(
        default_factory=dict, description="Per-province overrides of daily_rates"
    )
    hours_per_hok: int = Field(8, ge=1, le=24, description="Hours of one worker-day (HOK)")
    max_hours_per_day: int = Field(10, ge=1, le=24, description="Most hours one worker may be recorded a day")
    authorize_weekly_above: int = Field(
        10_000_000, ge=0, description="A weekly wage run above this needs a supervisor's authorization"
    )
    pay_rule: Literal["days", "hours"] = Field(
        "days", description="days: days × rate; hours: hours × rate / hours_per_hok"
    )
    photos_per_day: int = Field(
        1, ge=1, description="Worksite photos needed per workday (per site, not per worker)"
    )
    max_roll_age_days: int = Field(
        42, ge=1, le=366, description="A roll may record days at most this long before it is submitted"
    )

    def rate(self, role: WorkRole, region_code: str) -> int:
        return self.province_rates.get(region_code[:2], {}).get(role, self.daily_rates[role])

    def rates_for(self, region_code: str) -> dict[WorkRole, int]:
        return {role: self.rate(role, region_code) for role in WorkRole}


def wage(policy: WagePolicy, *, days: int, hours: int, rate: int) -> int:
    """One worker's wage for a week, whole rupiah: days × rate, or (pay rule `hours`) the hours'
    share of a HOK, rounded down (a worker is never paid a rupiah not earned)."""
    if policy.pay_rule == "hours":
        return hours * rate // policy.hours_per_hok
    return days * rate


def week_days(week_starts_on: date) -> list[date]:
    return [week_starts_on + timedelta(days=i) for i in range(7)]


EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def within(site: Worksite, lat: float, lon: float) -> bool:
    return distance_m(site.lat, site.lon, lat, lon) <= site.radius_m


# ---- what a group's summary shows of its work period (no NIKs: the read model's JSON holds none) ----

WeekStatus = Literal["in_review", "accepted", "to_authorize", "approved", "paying", "settled"]


class WeekTotals(BaseModel):
    """One week's roll and its wage run, in figures."""

    week_starts_on: date
    status: WeekStatus
    workers: int = Field(0, description="Workers with accepted days this week")
    workdays: int = Field(0, description="Site days of the week with accepted work")
    worker_days: int = Field(0, description="Accepted (worker, day) entries")
    exceptions: int = 0
    struck: int = 0
    total: int = Field(0, description="The week's wage run, whole rupiah")
    paid: int = 0
    owed: int = Field(0, description="Wages whose transfer failed, owed until the account is fixed")
    released: int = Field(0, description="Owed wages a supervisor gave up")


class AccountToAuthorize(BaseModel):
    """A worker's new bank details waiting for a supervisor (owed wages above the weekly threshold),
    named by the member's number in the group and the masked NIK."""

    member_no: int = Field(ge=1)
    nik_masked: str
    amount: int = Field(description="The owed wages that go to the new details once authorized")


class WageTotals(BaseModel):
    """The work period: planned and worked days, the wage bill's reservation and what it paid."""

    planned_workdays: int
    workdays_worked: int = 0
    ceiling: int = Field(0, description="The approved wage bill, reserved once")
    reserved: bool = False
    drawn: int = Field(0, description="Paid from the reservation so far")
    released: int = Field(0, description="Left of the reservation and released at the end")
    weeks: list[WeekTotals] = Field(default_factory=list)
    accounts_to_authorize: list[AccountToAuthorize] = Field(default_factory=list)

    @property
    def owed(self) -> int:
        return sum(w.owed for w in self.weeks)
