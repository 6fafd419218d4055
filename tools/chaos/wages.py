"""The chaos run's officers for a Padat Karya work period paid by muster rolls (issue 13): the mentor
submits each planned week's roll (two workdays, each with a photo of the worksite, written to
`files` as the upload route would), finance releases each run, a supervisor authorizes those above
the weekly threshold, and an owed wage's account is re-entered only when the bank failed every
transfer of it (as `drive.py` does for the lump sum)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from jps.contracts.workflow import GroupState
from jps.domain.calendar import WIB, local_date
from jps.domain.models import Officer, UpdateBankAccountArgs
from jps.domain.muster import DayEvidence, MusterEntry, SubmitMusterArgs
from jps.domain.programs import Program
from jps.domain.roles import NATIONAL, Role
from tools.chaos.plan import ABOVE_THRESHOLD, WORKSITE, ChaosGroup

if TYPE_CHECKING:
    from tools.chaos.drive import Officers

MENTOR = Officer(id="chaos-mentor-1", name="Chaos mentor", roles=[Role.MENTOR], regions=[NATIONAL])
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
WEEKS = 2
DAYS = 2  # Monday and Tuesday of each week


def planned_weeks(today: date) -> list[date]:
    """The Mondays of the weeks worked: the last WEEKS full weeks before this one."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(days=7 * (WEEKS - i)) for i in range(WEEKS)]


def week_in(state: GroupState, status: str) -> date | None:
    wages = state.runtime.wages
    return next((w.week_starts_on for w in wages.weeks if w.status == status), None) if wages else None


def file_id(group_id: str, day: date) -> str:
    digest = hashlib.sha256(f"{group_id}:{day.isoformat()}".encode()).digest()
    return "F-" + "".join(_ALPHABET[b % 32] for b in digest[:26])


async def next_roll(
    officers: Officers, group: ChaosGroup, state: GroupState, deadline: float
) -> SubmitMusterArgs | None:
    """The first planned week without a roll: its photos written, its roll (every member at work in
    a group above the threshold, half of them in the others)."""
    wages = state.runtime.wages
    if wages is None:
        return None
    done = {w.week_starts_on for w in wages.weeks}
    week = next((w for w in planned_weeks(local_date(datetime.now(UTC))) if w not in done), None)
    if week is None:
        return None
    gid, proposal = group.group_id, group.proposal
    days = [week + timedelta(days=d) for d in range(DAYS)]
    rows = [
        (
            file_id(gid, d),
            gid,
            hashlib.sha256(file_id(gid, d).encode()).hexdigest(),
            WORKSITE.lat,
            WORKSITE.lon,
            datetime.combine(d, time(9), tzinfo=WIB),
        )
        for d in days
    ]

    async def photos() -> None:
        await officers.pool.executemany(
            """INSERT INTO files (file_id, group_id, sha256, size, content_type, purpose, lat, lon,
                                  captured_at, uploaded_by, uploaded_at)
               VALUES ($1, $2, $3, 1000, 'image/jpeg', 'worksite_photo', $4, $5, $6, 'chaos-mentor-1', now())
               ON CONFLICT (file_id) DO NOTHING""",
            rows,
        )

    await officers._call(gid, "photos", photos, deadline)
    everyone = proposal.requested_amount >= ABOVE_THRESHOLD[Program.PADAT_KARYA]
    members = proposal.members if everyone else proposal.members[: len(proposal.members) // 2]
    return SubmitMusterArgs(
        week_starts_on=week,
        entries=[MusterEntry(nik=m.nik, date=d, hours=8) for m in members for d in days],
        evidence=[DayEvidence(date=d, file_ids=[file_id(gid, d)]) for d in days],
        officer=MENTOR,
    )


async def account_fix(
    officers: Officers, group: ChaosGroup, state: GroupState, by: Officer
) -> UpdateBankAccountArgs | None:
    """The same account again for a worker whose owed wages' transfers the bank failed, every one."""
    wages = state.runtime.wages
    if wages is None:
        return None
    owed: dict[str, list[str]] = {}
    for run in wages.weeks:
        for line in run.lines:
            if line.status == "failed" and line.transfer_id:
                owed.setdefault(line.nik, []).append(line.transfer_id)
    by_nik = {m.nik: m for m in group.proposal.members}
    for nik, tids in owed.items():
        banks = [await officers._bank_transfer(t) for t in tids]
        account = by_nik[nik].bank_account
        if account is not None and all(b is not None and b["status"] == "failed" for b in banks):
            return UpdateBankAccountArgs(bank_account=account, member_nik=nik, officer=by)
    officers.figures.notes[group.group_id] = f"fix_wage_account open; owed transfers not all failed: {owed}"
    return None
