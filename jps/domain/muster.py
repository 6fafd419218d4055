"""The muster roll (daftar hadir) and the weekly wage run of a Padat Karya group: what the officers
send. Each model checks what needs no outside facts (a week starts on a Monday, every day inside
it, no day counted twice) and names the field that breaks a rule; the workflow adds the checks that
depend on today, the policy and the group, and the roll's activity those that depend on the files.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from pydantic import Field, model_validator

from jps.domain.models import ActionBase, Notes, OfficerDate, _Input
from jps.domain.wages import WorkRole

NIK_PATTERN = r"^[0-9]{16}$"  # ASCII digits: \d would take any script's
EVIDENCE_FILE_PATTERN = r"^F-[A-Za-z0-9]{8,40}$"
MAX_ENTRIES = 7 * 60  # a week of the largest group, with room


class MusterEntry(_Input):
    """One worker's day: who, which day, how many hours."""

    nik: str = Field(min_length=16, max_length=16, pattern=NIK_PATTERN)
    date: OfficerDate
    hours: int = Field(ge=1, le=24)


class DayEvidence(_Input):
    """The worksite's photos of one workday (per site, not per worker): files uploaded to the group
    with purpose `worksite_photo`, each with its capture time and location."""

    date: OfficerDate
    file_ids: list[str] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _ids(self) -> DayEvidence:
        for i, fid in enumerate(self.file_ids):
            if not re.match(EVIDENCE_FILE_PATTERN, fid):
                raise ValueError(f"file_ids.{i}: not a file id (F-…)")
        return self


def _in_week(week: date, day: date) -> bool:
    return week <= day < week + timedelta(days=7)


class SubmitMusterArgs(ActionBase):
    """The week's muster roll, by the group's mentor."""

    week_starts_on: OfficerDate = Field(description="The Monday the week starts on")
    entries: list[MusterEntry] = Field(min_length=1, max_length=MAX_ENTRIES)
    evidence: list[DayEvidence] = Field(default_factory=list, max_length=7)
    notes: Notes = ""

    @model_validator(mode="after")
    def _week(self) -> SubmitMusterArgs:
        if self.week_starts_on.weekday() != 0:
            raise ValueError("week_starts_on: a week starts on a Monday")
        seen: set[tuple[str, date]] = set()
        for i, e in enumerate(self.entries):
            if not _in_week(self.week_starts_on, e.date):
                raise ValueError(
                    f"entries.{i}.date: not in the week starting {self.week_starts_on.isoformat()}"
                )
            if (e.nik, e.date) in seen:
                raise ValueError(f"entries.{i}.date: the same worker's day is counted twice")
            seen.add((e.nik, e.date))
        days: set[date] = set()
        for i, ev in enumerate(self.evidence):
            if not _in_week(self.week_starts_on, ev.date):
                raise ValueError(
                    f"evidence.{i}.date: not in the week starting {self.week_starts_on.isoformat()}"
                )
            if ev.date in days:
                raise ValueError(f"evidence.{i}.date: the day's evidence is given twice")
            days.add(ev.date)
        return self


class MusterDecision(_Input):
    """A supervisor's word on one exception: accept the day (it is paid) or strike it (with why)."""

    nik: str = Field(min_length=16, max_length=16, pattern=NIK_PATTERN)
    date: OfficerDate
    accept: bool
    reason: Notes = Field(min_length=3)


class ReviewMusterArgs(ActionBase):
    week_starts_on: OfficerDate | None = Field(
        None, description="Which roll; omitted = the earliest in review"
    )
    decisions: list[MusterDecision] = Field(min_length=1, max_length=MAX_ENTRIES)


class ApproveWagesArgs(ActionBase):
    """Finance releases the week's wage run, which the system computed (never typed by an officer).
    `rates`, when given, must be the policy's: a check that the officer read the same figures."""

    week_starts_on: OfficerDate
    notes: Notes = ""
    rates: dict[WorkRole, int] | None = Field(None, description="Optional: the daily rates finance expects")


class AuthorizeWagesArgs(ActionBase):
    """A supervisor authorizes either a week's wage run above the weekly threshold (`week_starts_on`)
    or a worker's owed wages going to new bank details above it (`member_nik`): one of the two."""

    week_starts_on: OfficerDate | None = Field(None, description="The wage run's week")
    member_nik: str | None = Field(
        None, min_length=16, max_length=16, pattern=NIK_PATTERN, description="Whose new bank details"
    )
    notes: Notes = ""

    @model_validator(mode="after")
    def _one(self) -> AuthorizeWagesArgs:
        if (self.week_starts_on is None) == (self.member_nik is None):
            raise ValueError("week_starts_on: name the week of a wage run, or member_nik, not both")
        return self
