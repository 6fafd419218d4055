"""What crosses the Temporal boundary for the post-payment verification (verifikasi pasca-pembayaran):
the daily draw's workflow and activities, and each sampled person's own workflow (one per sample: a
short history, an SMS, a reminder, an answer)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from jps.domain.verification import Answer

Outcome = Literal["confirmed", "denied", "no_answer"]


class VerificationDayInput(BaseModel):
    """DailyVerificationWorkflow's input; the schedule gives none: yesterday (WIB)."""

    day: date | None = Field(None, description="The WIB day whose settled payments are sampled")


class DrawRequest(BaseModel):
    day: date
    seed: int = Field(description="From workflow.random(): a retried draw picks the same people")


class DrawnSample(BaseModel):
    sample_id: str
    reminder_after: timedelta
    answer_within: timedelta


class DrawResult(BaseModel):
    day: date
    units: int = Field(description="People who could have been asked")
    samples: list[DrawnSample]
    already_drawn: bool = Field(False, description="The day was drawn before: the same samples")


class PaymentCheckInput(BaseModel):
    """PaymentCheckWorkflow's input (workflow id = sample id)."""

    sample_id: str
    reminder_after: timedelta
    answer_within: timedelta


class AskRequest(BaseModel):
    sample_id: str
    reminder: bool = False


class PaymentAnswer(BaseModel):
    """The `payment_answer` signal: a reply from the number that was asked."""

    answer: Answer
    message_id: str
    received_at: datetime


class AnswerRecord(BaseModel):
    sample_id: str
    answer: Answer
    message_id: str
    received_at: datetime


class PaymentCheckResult(BaseModel):
    sample_id: str
    outcome: Outcome
    grievance_id: str | None = None
