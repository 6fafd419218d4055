"""The simulated officers' Padat Karya work period (issue 13, docs/wages.md), over the HTTP API:

- mentor (`submit_muster`): for each planned week the group has no roll of yet, a photo of the
  worksite per workday (`POST /groups/{id}/files`, purpose `worksite_photo`, taken that morning at
  the site) and the week's roll (`submit-muster`). Who works which day is the demo seed's crew plan
  (`tools.work_period.CrewPlan`): the foreman and the two skilled workers every day and six of the
  seventeen workers in turn, ten workdays over the two full weeks before today, so the wage bill of
  Rp 10,000,000 is paid in full (20 wage transfers a week, 40 a group);
- finance (`approve_wages`): releases each accepted week's run (`approve-wages`). The bench's runs
  stay under the policy's weekly threshold, so no supervisor authorizes them.

A roll's photos and week are the group's own, so every request is one an officer would make; the
mentor remembers which weeks it submitted and does not come back to a group with none left, while
the roll task stays open until the last week is paid.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from jps.domain.calendar import WIB, local_date
from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.wages import WagePolicy
from tools.work_period import PHOTO_TAKEN_AT, WORKDAYS_PER_WEEK, CrewPlan, roll, worksite_photo

if TYPE_CHECKING:
    from bench.officers import SimulatedOfficer, Team

# The bench's policy file is the built-in policies on a compressed clock (`bench.stack`): their wage
# rule, whose rates no clock changes, over the bench's work period (`BenchConfig.wage_weeks`).
WAGES = DEFAULT_POLICIES[Program.PADAT_KARYA].wages


def wage_policy(weeks: int) -> WagePolicy | None:
    """The built-in wage rule over `weeks` weeks of five workdays (None: no wage rule)."""
    if WAGES is None:
        return None
    return WAGES.model_copy(update={"planned_workdays": weeks * WORKDAYS_PER_WEEK})


def crew_plan(team: Team, group_id: str) -> CrewPlan | None:
    """The group's plan, made once (its days are the weeks before the first roll)."""
    plan = team.crew_plans.get(group_id)
    proposal = team.proposals.get(group_id)
    wages = team.wages or WAGES
    if plan is None and proposal is not None and wages is not None:
        members = [(m.nik, m.work_role) for m in proposal.members]
        today = local_date(datetime.now(UTC))
        budget = proposal.requested_amount  # finance approves the requested amount (bench.officers)
        plan = team.crew_plans[group_id] = CrewPlan.of(
            members, proposal.region_code, wages, today=today, budget=budget
        )
    return plan


def weeks_left(team: Team, group_id: str) -> bool:
    plan = crew_plan(team, group_id)
    return plan is None or any(w not in team.rolls.get(group_id, set()) for w in plan.weeks())


async def submit_rolls(officer: SimulatedOfficer, group_id: str) -> None:
    """The mentor: every planned week without a roll, its photos first."""
    team = officer.team
    plan, proposal = crew_plan(team, group_id), team.proposals.get(group_id)
    if plan is None or proposal is None or proposal.worksite is None:
        team.stats.error(f"submit-muster {group_id}: no crew or worksite known for this group")
        return
    site = proposal.worksite
    done = team.rolls.setdefault(group_id, set())
    for week in plan.weeks():
        if week in done:
            continue
        attendance = plan.attendance(week)
        photos: dict[date, list[str]] = {}
        for day in attendance:
            taken = datetime.combine(day, PHOTO_TAKEN_AT, tzinfo=WIB)
            form = {"purpose": "worksite_photo", "lat": str(site.lat), "lon": str(site.lon)}
            file_id = await officer._upload(
                group_id,
                ("lokasi.jpg", worksite_photo(group_id, day), "image/jpeg"),
                {**form, "captured_at": taken.isoformat()},
                "upload-photo",
            )
            if file_id is None:
                return
            photos[day] = [file_id]
        body = roll(week, attendance, photos, None).model_dump(mode="json", exclude={"officer"})
        resp = await officer._post(f"/groups/{group_id}/actions/submit-muster", body, "submit-muster")
        if resp.status_code != 200:
            return  # the inbox brings the group back; the error is counted
        done.add(week)


async def release_wages(officer: SimulatedOfficer, group_id: str) -> None:
    """Finance: every accepted week's wage run of the group, released."""
    detail = await officer.team.http.get(f"/groups/{group_id}", headers=officer.headers)
    if detail.status_code != 200:
        officer.team.stats.error(f"approve-wages {group_id}: reading the group: {detail.status_code}")
        return
    wages = detail.json().get("wages") or {}
    for week in wages.get("weeks", []):
        if week["status"] == "accepted":
            body = {"week_starts_on": week["week_starts_on"], "notes": "daftar hadir dan foto lokasi sesuai"}
            await officer._post(f"/groups/{group_id}/actions/approve-wages", body, "approve-wages")
