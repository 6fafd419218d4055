"""The chaos run's officers for a Padat Karya work period paid by muster rolls (issue 13): the mentor
submits each planned week's roll (two workdays, each with a photo of the worksite kept as the
upload route keeps it: `tools.work_period`, which the demo seed uses too), finance releases each
run, a supervisor authorizes those above the weekly threshold, and an owed wage's account is
re-entered only when the bank failed every transfer of it (as `drive.py` does for the lump sum)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from jps.contracts.workflow import GroupState
from jps.domain.calendar import local_date
from jps.domain.models import Officer, UpdateBankAccountArgs
from jps.domain.muster import AuthorizeWagesArgs, SubmitMusterArgs
from jps.domain.programs import Program
from jps.domain.roles import NATIONAL, Role
from tools.chaos.plan import ABOVE_THRESHOLD, WORKSITE, ChaosGroup
from tools.work_period import keep_worksite_photos, past_weeks, roll, week_in

if TYPE_CHECKING:
    from tools.chaos.drive import Officers

MENTOR = Officer(id="chaos-mentor-1", name="Chaos mentor", roles=[Role.MENTOR], regions=[NATIONAL])
WEEKS = 2
DAYS = 2  # Monday and Tuesday of each week


async def next_roll(
    officers: Officers, group: ChaosGroup, state: GroupState, deadline: float
) -> SubmitMusterArgs | None:
    """The first planned week without a roll: its photos kept, its roll (every member at work in a
    group above the threshold, half of them in the others)."""
    wages = state.runtime.wages
    if wages is None:
        return None
    done = {w.week_starts_on for w in wages.weeks}
    week = next((w for w in past_weeks(local_date(datetime.now(UTC)), WEEKS) if w not in done), None)
    if week is None:
        return None
    gid, proposal = group.group_id, group.proposal
    days: list[date] = [week + timedelta(days=d) for d in range(DAYS)]

    async def photos() -> dict[date, list[str]]:
        return await keep_worksite_photos(
            officers.pool, officers.store, group_id=gid, site=WORKSITE, days=days, officer=MENTOR
        )

    evidence = await officers._call(gid, "photos", photos, deadline)
    everyone = proposal.requested_amount >= ABOVE_THRESHOLD[Program.PADAT_KARYA]
    members = proposal.members if everyone else proposal.members[: len(proposal.members) // 2]
    return roll(week, {d: [m.nik for m in members] for d in days}, evidence, MENTOR)


def authorization(state: GroupState, by: Officer) -> AuthorizeWagesArgs | None:
    """A supervisor's: a week's run above the weekly threshold, else a worker's new bank details
    holding owed wages above it (patch reauthorize-new-wage-account-v1)."""
    week = week_in(state.wages, "to_authorize")
    if week is not None:
        return AuthorizeWagesArgs(week_starts_on=week, officer=by)
    waiting = state.runtime.wages.new_accounts if state.runtime.wages else []
    return AuthorizeWagesArgs(member_nik=waiting[0].nik, officer=by) if waiting else None


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
