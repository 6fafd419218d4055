"""The muster-roll work period across the Temporal boundary: what the workflow keeps of each week
(`WageRuntime`, in its runtime: NIKs in clear, never in the read model's JSON), what the roll's
activity is asked and answers, and what a recorded step hands the read model of a week.

Rolls themselves (every entry, every photo) stay in PostgreSQL; the workflow keeps per-worker
totals, the exceptions and the wage lines, so its payloads stay small.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from jps.domain.muster import DayEvidence, MusterEntry
from jps.domain.wages import WeekStatus, WeekTotals, WorkRole, Worksite

ExceptionKind = Literal["no_evidence", "outside_radius", "not_member"]
LineStatus = Literal["due", "pending", "paid", "failed", "released"]


class WorkerWeek(BaseModel):
    """A worker's accepted work in a week: days and hours."""

    nik: str
    days: int = 0
    hours: int = 0


class MusterException(BaseModel):
    """An entry the roll's checks did not accept on their own: a supervisor accepts or strikes it."""

    nik: str
    date: date
    hours: int
    kind: ExceptionKind
    decision: Literal["accepted", "struck"] | None = None
    reason: str = ""
    decided_by: str | None = None


class WageLine(BaseModel):
    """One worker's wage for one week, and the transfer that pays it."""

    nik: str
    member_no: int = Field(description="The member's place in the proposal (transfer ids carry it)")
    role: WorkRole
    days: int
    hours: int
    rate: int
    amount: int
    status: LineStatus = "due"
    transfer_id: str | None = None
    tries: int = Field(0, description="Transfers made for this line so far")
    reason: str = ""


class WeekRun(BaseModel):
    """One week: its roll (as totals), its exceptions, then its wage run."""

    week_starts_on: date
    status: WeekStatus
    submitted_by: str
    submitted_at: datetime
    worked: list[WorkerWeek] = Field(default_factory=list, description="Clean entries, per worker")
    clean_days: list[date] = Field(default_factory=list, description="Days with clean entries")
    exceptions: list[MusterException] = Field(default_factory=list)
    lines: list[WageLine] = Field(default_factory=list)
    approved_by: str | None = None
    authorized_by: str | None = None

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    def accepted_days(self) -> set[date]:
        return set(self.clean_days) | {e.date for e in self.exceptions if e.decision == "accepted"}


class NewAccountToAuthorize(BaseModel):
    """A worker's new bank details, entered while wages are owed above the weekly threshold: the owed
    wages stay failed (owed) until a supervisor who did not enter the details authorizes them."""

    nik: str
    changed_by: list[str] = Field(default_factory=list, description="The officers who entered new details")
    amount: int = Field(description="The wages owed to the worker, to go to the new details")


class WageRuntime(BaseModel):
    """The work period's runtime: the reservation, the weeks, and the batch being paid."""

    reservation_id: str | None = None
    weeks: list[WeekRun] = Field(default_factory=list)
    batch: list[str] = Field(default_factory=list, description="Transfer ids of the batch in flight")
    batch_id: str | None = None
    finished: bool = Field(False, description="The work period is over and the rest released")
    released: int = Field(0, description="What was left of the reservation at the end, released")
    new_accounts: list[NewAccountToAuthorize] = Field(
        default_factory=list, description="New bank details waiting for a supervisor's authorization"
    )


# ---- the roll's activity ----


class MusterRequest(BaseModel):
    """Check a roll against the files and the other rolls, and write it (or nothing)."""

    group_id: str
    program: str
    region_code: str
    week_starts_on: date
    roll_key: str = Field(description="The same on every retry of this submission")
    submitted_by: str
    submitted_at: datetime
    worksite: Worksite
    members: list[str] = Field(description="NIKs of the group's members")
    entries: list[MusterEntry]
    evidence: list[DayEvidence]
    photos_per_day: int = 1


class MusterResult(BaseModel):
    """The roll written, with what the checks found; or `refusal` (the field, why) and nothing written."""

    refusal: str = ""
    conflict: bool = Field(False, description="The refusal is a worker's day on another roll (409)")
    worked: list[WorkerWeek] = Field(default_factory=list)
    clean_days: list[date] = Field(default_factory=list)
    exceptions: list[MusterException] = Field(default_factory=list)


# ---- what a recorded step writes of a week (record_transition) ----


class WageWeekRecord(BaseModel):
    """A week's roll status, decisions and wage lines, for the read model (migrations/009_muster.sql)."""

    week_starts_on: date
    totals: WeekTotals
    exceptions: list[MusterException] = Field(default_factory=list)
    lines: list[WageLine] = Field(default_factory=list)
    approved_by: str | None = None
    authorized_by: str | None = None


class BudgetDraw(BaseModel):
    """Move what a wage batch paid from the wage bill's reservation to spent, once per draw id."""

    reservation_id: str
    draw_id: str
    amount: int = Field(ge=0)
