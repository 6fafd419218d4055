"""What the public status lookup shows a member (cek status bantuan), and the post-payment
verification's report (laporan verifikasi pembayaran). A member's answer carries nothing about other
members: no names, no NIKs, account numbers cut to their last four digits."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.schemas.common import example_config
from jps.domain.programs import Program


class PublicPaymentOut(BaseModel):
    model_config = example_config(
        amount=1_050_000,
        status="paid",
        paid_at="2020-10-09T03:00:05+00:00",
        account_masked="******0042",
        week_starts_on="2020-10-05",
    )

    amount: int = Field(description="Whole rupiah")
    status: str = Field(description="pending, paid or failed")
    paid_at: datetime | None = Field(description="When the bank confirmed it; null until paid")
    account_masked: str | None = Field(description="The receiving account, last four digits only")
    week_starts_on: date | None = Field(None, description="Padat Karya weekly wages: the week it pays")


class PublicStatusOut(BaseModel):
    model_config = example_config(
        group_id="TKM-3171-AB12CD34EF",
        group_name="Kelompok Usaha Maju Jaya",
        program="tkm",
        program_text="Tenaga Kerja Mandiri (TKM)",
        stage="mentoring",
        stage_text="Bantuan sudah dibayar; tahap pendampingan",
        next_step="Kunjungan pendampingan berikutnya",
        next_step_code="report_visit",
        due_at="2020-11-02T17:00:00+00:00",
        payments=[
            {
                "amount": 10_000_000,
                "status": "paid",
                "paid_at": "2020-10-02T03:00:05+00:00",
                "account_masked": "******7890",
                "week_starts_on": None,
            }
        ],
    )

    group_id: str
    group_name: str
    program: Program
    program_text: str = Field(description="The programme's name in Bahasa Indonesia")
    stage: str = Field(description="The stage's code")
    stage_text: str = Field(description="The stage in plain words, Bahasa Indonesia")
    next_step: str = Field(description="What happens next, in plain words (Bahasa Indonesia)")
    next_step_code: str | None = Field(description="The open task behind it; null when none is open")
    due_at: datetime | None = Field(description="When the next step is due; null when nothing waits")
    payments: list[PublicPaymentOut] = Field(
        description="TKM: the group's transfer(s); Padat Karya: this member's own wages, week by week"
    )


class VerificationRowOut(BaseModel):
    model_config = example_config(
        region_code="3171",
        program="padat_karya",
        sampled=40,
        confirmed=36,
        denied=1,
        no_answer=3,
        awaiting=0,
        rate=0.973,
        rate_low=0.8618,
        rate_high=0.9952,
    )

    region_code: str = Field(description="The regency (4 digits)")
    program: Program
    sampled: int = Field(description="People asked")
    confirmed: int = Field(description='Answered "YA"')
    denied: int = Field(description='Answered "TIDAK": each opened a grievance and flagged the transfer')
    no_answer: int = Field(description="Reminded once, then counted as no answer")
    awaiting: int = Field(description="Asked, not answered yet, still within the time to answer")
    rate: float | None = Field(description="confirmed / (confirmed + denied); null before any answer")
    rate_low: float | None = Field(description="Wilson score interval, 95 %: lower bound")
    rate_high: float | None = Field(description="Wilson score interval, 95 %: upper bound")


class VerificationReportOut(BaseModel):
    model_config = example_config(
        date_from="2020-10-01",
        date_to="2020-10-31",
        items=[
            {
                "region_code": "3171",
                "program": "tkm",
                "sampled": 30,
                "confirmed": 25,
                "denied": 1,
                "no_answer": 4,
                "awaiting": 0,
                "rate": 0.9615,
                "rate_low": 0.8111,
                "rate_high": 0.9932,
            }
        ],
        totals=[
            {
                "region_code": "*",
                "program": "tkm",
                "sampled": 30,
                "confirmed": 25,
                "denied": 1,
                "no_answer": 4,
                "awaiting": 0,
                "rate": 0.9615,
                "rate_low": 0.8111,
                "rate_high": 0.9932,
            }
        ],
    )

    date_from: date | None = Field(description="First day of payments sampled (WIB); null: from the start")
    date_to: date | None = Field(description="Last day of payments sampled (WIB); null: up to now")
    items: list[VerificationRowOut] = Field(description="One row per regency and programme in my scope")
    totals: list[VerificationRowOut] = Field(description="One row per programme over the rows shown")
