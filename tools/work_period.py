"""A Padat Karya work period as its officers run it (issue 13, docs/wages.md), for the demo seed, the
chaos run and the bench's officers: which past weeks are worked, the worksite photo of each workday
(a real JPEG; the tools that drive groups without the HTTP API keep it in the file store with its
row and audit row as the upload route does, the bench uploads it), the mentor's roll of a week,
which week waits for finance or a supervisor, and the demo cohort's crew plan that spends a wage
bill to the rupiah.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from api.queries.files import FileRecord, record_upload
from infra.filestore import FileStore
from jps.domain.calendar import WIB
from jps.domain.files import ContentType, EvidencePurpose, new_file_id
from jps.domain.models import Officer
from jps.domain.muster import DayEvidence, MusterEntry, SubmitMusterArgs
from jps.domain.wages import WagePolicy, WageTotals, WeekStatus, WorkRole, Worksite
from tools.evidence_files import jpeg

WORKDAYS_PER_WEEK = 5  # Monday to Friday
PHOTO_TAKEN_AT = time(9)  # WIB, the morning of the workday


def past_weeks(today: date, weeks: int) -> list[date]:
    """The Mondays of the last `weeks` full weeks before this one, the earliest first: a roll never
    records a day in the future, and these are well inside the policy's `max_roll_age_days`."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(days=7 * (weeks - i)) for i in range(weeks)]


def week_in(wages: WageTotals | None, status: WeekStatus) -> date | None:
    """The earliest week whose roll or run is in `status` (`accepted`: for finance to release,
    `to_authorize`: for a supervisor)."""
    if wages is None:
        return None
    return next((w.week_starts_on for w in wages.weeks if w.status == status), None)


# ---- the worksite photos ----


def worksite_photo(group_id: str, day: date) -> bytes:
    """The photo of a group's worksite on a workday: the same bytes whenever it is made, so a tool
    run again finds the upload it made before by its hash."""
    return jpeg(f"lokasi {group_id} {day.isoformat()}")


async def keep_worksite_photos(
    pool: asyncpg.Pool,
    store: FileStore,
    *,
    group_id: str,
    site: Worksite,
    days: Sequence[date],
    officer: Officer,
) -> dict[date, list[str]]:
    """One photo per workday, taken at the worksite that morning: the bytes to the file store, the
    row and its audit row (`file_uploaded`) as `POST /groups/{id}/files` writes them. A day whose
    photo this group already has (a run resumed) keeps that upload. The ids by day."""
    out: dict[date, list[str]] = {}
    for day in days:
        data = worksite_photo(group_id, day)
        sha256 = await store.put(data)
        known = await pool.fetchval(
            """SELECT file_id FROM files WHERE group_id = $1 AND sha256 = $2 AND purpose = $3
               ORDER BY uploaded_at LIMIT 1""",
            group_id,
            sha256,
            EvidencePurpose.WORKSITE_PHOTO.value,
        )
        if known is None:
            known = new_file_id()
            record = FileRecord(
                file_id=known,
                group_id=group_id,
                sha256=sha256,
                size=len(data),
                content_type=ContentType.JPEG.value,
                purpose=EvidencePurpose.WORKSITE_PHOTO,
                lat=site.lat,
                lon=site.lon,
                captured_at=datetime.combine(day, PHOTO_TAKEN_AT, tzinfo=WIB),
            )
            await record_upload(
                pool,
                officer=officer,
                record=record,
                original_name=f"lokasi-{day.isoformat()}.jpg",
                uploaded_at=datetime.now(UTC),
                stage="disbursement",
            )
        out[day] = [known]
    return out


def roll(
    week: date,
    attendance: Mapping[date, Sequence[str]],
    photos: Mapping[date, list[str]],
    officer: Officer | None,
) -> SubmitMusterArgs:
    """The mentor's roll of a week: whose NIK worked each day (a full HOK each), the day's photos."""
    return SubmitMusterArgs(
        week_starts_on=week,
        entries=[MusterEntry(nik=nik, date=d, hours=8) for d, niks in attendance.items() for nik in niks],
        evidence=[DayEvidence(date=d, file_ids=photos[d]) for d in attendance],
        officer=officer,
    )


# ---- the demo cohort's crew: a wage bill spent to the rupiah ----


@dataclass(frozen=True)
class CrewPlan:
    """Every planned site-day the foreman and the skilled workers are on site, with `workers_per_day`
    of the other workers in turn. Every day costs the same (`day_cost`), as many workers as the
    requested amount allows, so the wage bill finance approves (`bill`) is paid in full, to the
    rupiah, when the planned workdays are done."""

    days: list[date]  # the planned site-days: Monday to Friday of past weeks
    crew: list[str]  # NIKs of the foreman and skilled workers: on site every day
    workers: list[str]  # NIKs of the others, in turn
    workers_per_day: int
    day_cost: int

    @classmethod
    def of(
        cls,
        members: Sequence[tuple[str, WorkRole]],
        region_code: str,
        policy: WagePolicy,
        *,
        today: date,
        budget: int,
    ) -> CrewPlan:
        """The plan for members (NIK, role) in a region, under the policy, for at most `budget`."""
        planned = policy.planned_workdays
        weeks = -(-planned // WORKDAYS_PER_WEEK)
        days = [w + timedelta(days=d) for w in past_weeks(today, weeks) for d in range(WORKDAYS_PER_WEEK)]
        crew = [nik for nik, role in members if role != WorkRole.WORKER]
        workers = [nik for nik, role in members if role == WorkRole.WORKER]
        fixed = sum(policy.rate(role, region_code) for _, role in members if role != WorkRole.WORKER)
        rate = policy.rate(WorkRole.WORKER, region_code)
        per_day = min(len(workers), max(0, (budget // planned - fixed) // rate))
        return cls(days[:planned], crew, workers, per_day, fixed + per_day * rate)

    @property
    def bill(self) -> int:
        """The wage bill the plan pays: what finance approves."""
        return len(self.days) * self.day_cost

    def weeks(self) -> list[date]:
        return sorted({d - timedelta(days=d.weekday()) for d in self.days})

    def attendance(self, week: date) -> dict[date, list[str]]:
        """Whose NIK is on site each planned day of the week."""
        out: dict[date, list[str]] = {}
        for i, day in enumerate(self.days):
            if week <= day < week + timedelta(days=7):
                first = i * self.workers_per_day
                turn = [self.workers[(first + k) % len(self.workers)] for k in range(self.workers_per_day)]
                out[day] = [*self.crew, *turn]
        return out
