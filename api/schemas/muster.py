"""Padat Karya muster rolls and weekly wage runs as officers read them (NIKs masked)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.schemas.common import example_config

_NIK = "3171********0001"


class MusterEntryOut(BaseModel):
    model_config = example_config(
        nik_masked=_NIK,
        work_date="2020-10-05",
        hours=8,
        exception=None,
        decision=None,
        reason="",
        claims=True,
    )
    nik_masked: str
    work_date: date
    hours: int
    exception: str | None = Field(None, description="no_evidence, outside_radius or not_member")
    decision: str | None = Field(None, description="A supervisor's word on an exception: accepted or struck")
    reason: str = ""
    claims: bool = Field(description="Holds the worker's day (no other roll may count it)")


class EvidenceOut(BaseModel):
    model_config = example_config(
        work_date="2020-10-05",
        file_id="F-0123456789ABCDEFGHJKMNPQRS",
        sha256="0" * 64,
        lat=-6.2,
        lon=106.85,
        captured_at="2020-10-05T09:30:00+07:00",
        verdict="counted",
        distance_m=12,
    )
    work_date: date
    file_id: str
    sha256: str
    lat: float | None
    lon: float | None
    captured_at: datetime | None
    verdict: str = Field(description="counted, outside_radius, other_day or no_location")
    distance_m: int | None


class WageLineOut(BaseModel):
    model_config = example_config(
        nik_masked=_NIK,
        role="worker",
        days=3,
        hours=24,
        rate=100_000,
        amount=300_000,
        status="paid",
        transfer_id="PK-3171-ABCDEFGHIJ-W20201005-03",
        reason="",
    )
    nik_masked: str
    role: str
    days: int
    hours: int
    rate: int
    amount: int
    status: str = Field(description="due, pending, paid, failed (owed) or released")
    transfer_id: str | None
    reason: str = ""


class WeekOut(BaseModel):
    """One week: the roll and the wage run it became."""

    model_config = example_config(
        week_starts_on="2020-10-05",
        status="settled",
        submitted_by="mentor-1",
        submitted_at="2020-10-10T08:00:00Z",
        workers=18,
        workdays=5,
        worker_days=84,
        exceptions=2,
        struck=1,
        total=8_400_000,
        paid=8_300_000,
        owed=100_000,
        released=0,
        approved_by="finance-1",
        authorized_by=None,
        entries=[],
        evidence=[],
        lines=[],
    )
    week_starts_on: date
    status: str
    submitted_by: str
    submitted_at: datetime
    workers: int
    workdays: int
    worker_days: int
    exceptions: int
    struck: int
    total: int
    paid: int
    owed: int
    released: int
    approved_by: str | None
    authorized_by: str | None
    entries: list[MusterEntryOut] = Field(default_factory=list)
    evidence: list[EvidenceOut] = Field(default_factory=list)
    lines: list[WageLineOut] = Field(default_factory=list)


class WeeksOut(BaseModel):
    model_config = example_config(group_id="PK-3171-ABCDEFGHIJ", items=[], total=0)
    group_id: str
    items: list[WeekOut]
    total: int


class WageReportRowOut(BaseModel):
    model_config = example_config(
        group_id="PK-3171-ABCDEFGHIJ",
        name="Kelompok Irigasi Sejahtera",
        region_code="3171",
        stage="disbursement",
        planned_workdays=10,
        workdays_worked=6,
        wages_paid=8_300_000,
        wages_owed=100_000,
        exceptions=2,
        exceptions_struck=1,
    )
    group_id: str
    name: str
    region_code: str
    stage: str
    planned_workdays: int
    workdays_worked: int
    wages_paid: int
    wages_owed: int = Field(description="Wages whose transfer failed, owed until the account is fixed")
    exceptions: int
    exceptions_struck: int


class WageRegionOut(BaseModel):
    model_config = example_config(
        region_code="3171",
        groups=12,
        planned_workdays=120,
        workdays_worked=80,
        wages_paid=96_000_000,
        wages_owed=200_000,
        exceptions=14,
        exceptions_struck=5,
    )
    region_code: str
    groups: int
    planned_workdays: int
    workdays_worked: int
    wages_paid: int
    wages_owed: int
    exceptions: int
    exceptions_struck: int


class WageReportOut(BaseModel):
    model_config = example_config(groups=[], regions=[])
    groups: list[WageReportRowOut]
    regions: list[WageRegionOut]
