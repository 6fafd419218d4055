"""Reports (laporan): per programme and stage, how many groups and people, and how much money."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from api.queries import dashboard
from api.queries.common import Db, Where, region_filter
from api.schemas import ProgramSummaryOut, StageSummaryOut, SummaryOut
from api.schemas.dashboard import AidAccountsOut
from jps.domain.models import Officer
from jps.domain.programs import PROGRAM_LABELS, Program
from jps.domain.stages import STAGE_ORDER

# The ministry reports in Jakarta time (WIB): "as of 2 October" means until the end of that day there.
REPORT_TZ = ZoneInfo("Asia/Jakarta")


def cutoff_of(as_of: date) -> datetime:
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=REPORT_TZ)


async def _summary_rows(db: Db, scope: list[str] | None, cutoff: datetime | None) -> list[asyncpg.Record]:
    """One row per (programme, stage): groups, people, requested, approved, paid (as of `cutoff`)."""
    where = Where()
    if scope is not None:
        where.add("g.region_code LIKE ANY(?::text[])", scope)
    if cutoff is None:
        stage_of = "SELECT group_id, stage FROM groups"
        paid_until = "TRUE"
    else:
        # The stage each group was in at the cutoff: its last transition before it.
        at = where.ref(cutoff)
        stage_of = f"""SELECT DISTINCT ON (group_id) group_id, to_stage AS stage FROM stage_transitions
                        WHERE at < {at} ORDER BY group_id, seq DESC"""
        paid_until = f"coalesce(settled_at, instructed_at) < {at}"
    return await db.fetch(
        f"""WITH st AS ({stage_of}),
                 paid AS (SELECT group_id, sum(amount) AS amount FROM payments
                           WHERE status = 'paid' AND {paid_until} GROUP BY group_id)
            SELECT g.program, st.stage, count(*) AS groups, sum(g.member_count) AS people,
                   sum(g.requested_amount) AS requested_amount,
                   sum(coalesce(g.approved_amount, 0)) AS approved_amount,
                   coalesce(sum(paid.amount), 0) AS paid_amount,
                   count(paid.group_id) AS disbursed_groups,
                   coalesce(sum(g.member_count) FILTER (WHERE paid.group_id IS NOT NULL),
                       0) AS disbursed_people
              FROM st JOIN groups g USING (group_id) LEFT JOIN paid USING (group_id)
             WHERE {where.sql}
             GROUP BY g.program, st.stage""",
        *where.params,
    )


async def summary(db: Db, *, officer: Officer, as_of: date | None = None) -> SummaryOut:
    """Per programme and stage, in the officer's scope; `as_of` a day (its end in WIB), None = now.
    With it, per programme and province, what became of the aid paid (`dashboard.aid_accounts`)."""
    rows = await _summary_rows(db, region_filter(officer), cutoff_of(as_of) if as_of else None)
    accounts = await dashboard.aid_accounts(db, officer=officer, as_of=as_of)
    by_key = {(r["program"], r["stage"]): r for r in rows}
    programs: list[ProgramSummaryOut] = []
    for program in Program:
        stages = []
        for stage in STAGE_ORDER:
            r = by_key.get((program.value, stage.value))
            stages.append(
                StageSummaryOut(
                    stage=stage,
                    groups=r["groups"] if r else 0,
                    people=r["people"] if r else 0,
                    requested_amount=r["requested_amount"] if r else 0,
                    approved_amount=r["approved_amount"] if r else 0,
                    paid_amount=r["paid_amount"] if r else 0,
                )
            )
        mine = [r for r in rows if r["program"] == program.value]
        programs.append(
            ProgramSummaryOut(
                program=program,
                label=PROGRAM_LABELS[program],
                groups=sum(s.groups for s in stages),
                people=sum(s.people for s in stages),
                disbursed_groups=sum(r["disbursed_groups"] for r in mine),
                disbursed_people=sum(r["disbursed_people"] for r in mine),
                requested_amount=sum(s.requested_amount for s in stages),
                approved_amount=sum(s.approved_amount for s in stages),
                paid_amount=sum(s.paid_amount for s in stages),
                stages=stages,
                accounts=_total(program, [a for a in accounts if a.program == program]),
            )
        )
    return SummaryOut(as_of=as_of, regions=officer.regions, programs=programs, accounts=accounts)


def _total(program: Program, rows: list[AidAccountsOut]) -> AidAccountsOut:
    fields = (
        "paid",
        "no_lpj_owed",
        "accounted",
        "awaiting_lpj",
        "under_recovery",
        "recovered",
        "written_off",
    )
    return AidAccountsOut(
        program=program, region_code="*", **{f: sum(getattr(r, f) for r in rows) for f in fields}
    )
