"""The managers' reports (the dashboard's data): the funnel by stage, where groups stall, aid disbursed
against the allocations, where the LPJs stand, the list of groups paid without an accepted LPJ, and
what became of the aid paid (the summary's and the budget ledger's accounts).

Every function reads the read model only (`groups`, `stage_transitions`, `group_tasks`, `payments`,
`budget_allocations`, `budget_reservations`, and the LPJ tables the lifecycle writes: `lpj`,
`lpj_submissions`, `receivables`, `receivable_events`) and keeps to the officer's region scope.
"""

# Over 400 lines on purpose: the dashboard's reports share the scope helpers and the aid accounts'
# CTE; each section below is one report, read by both `/reports/*` and the console's dashboard.

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from api.queries.common import Db, PageParams, Where, region_filter
from api.schemas import Page
from api.schemas.dashboard import (
    AidAccountsOut,
    AllocationReportOut,
    AllocationRowOut,
    FunnelOut,
    FunnelProgramOut,
    FunnelStageOut,
    LedgerRowOut,
    LpjRowOut,
    LpjStatusOut,
    LpjStatusRowOut,
    StallCellOut,
    StallsOut,
)
from jps.domain.calendar import end_of_local_day as cutoff_of
from jps.domain.calendar import local_date
from jps.domain.models import Officer
from jps.domain.nik import PROVINCE_CODES
from jps.domain.programs import PROGRAM_LABELS, Program
from jps.domain.stages import STAGE_ORDER, TASK_STAGE, TERMINAL_STAGES, Stage

# The heatmap's columns: the stages a group waits in (terminal ones end the wait).
STALL_STEPS: tuple[Stage, ...] = tuple(s for s in STAGE_ORDER if s not in TERMINAL_STAGES)
# The LPJ list and its exports stop here (far above the 1,985 TKM groups of the cohort).
LPJ_EXPORT_MAX = 100_000


def _scope(where: Where, officer: Officer, column: str = "g.region_code") -> None:
    scope = region_filter(officer)
    if scope is not None:
        where.add(f"{column} LIKE ANY(?::text[])", scope)


# ---- the funnel ----


async def funnel(db: Db, *, officer: Officer, as_of: date | None = None) -> FunnelOut:
    """Per programme, how many groups were in each stage at the end of `as_of` (WIB; None = now)."""
    where = Where()
    _scope(where, officer)
    if as_of is None:
        stage_of = "SELECT group_id, stage FROM groups"
    else:
        at = where.ref(cutoff_of(as_of))
        stage_of = f"""SELECT DISTINCT ON (group_id) group_id, to_stage AS stage FROM stage_transitions
                        WHERE at < {at} ORDER BY group_id, seq DESC"""
    rows = await db.fetch(
        f"""WITH st AS ({stage_of})
            SELECT g.program, st.stage, count(*) AS groups
              FROM st JOIN groups g USING (group_id)
             WHERE {where.sql}
             GROUP BY g.program, st.stage""",
        *where.params,
    )
    counts = {(r["program"], r["stage"]): r["groups"] for r in rows}
    programs = []
    for program in Program:
        stages = [
            FunnelStageOut(stage=s, groups=counts.get((program.value, s.value), 0)) for s in STAGE_ORDER
        ]
        programs.append(
            FunnelProgramOut(
                program=program,
                label=PROGRAM_LABELS[program],
                groups=sum(s.groups for s in stages),
                stages=stages,
            )
        )
    return FunnelOut(as_of=as_of, regions=officer.regions, programs=programs)


# ---- where groups stall ----


async def stalls(
    db: Db, *, officer: Officer, as_of: date | None = None, program: Program | None = None
) -> StallsOut:
    """Provinces × stages: the median days a stay in the stage lasted (a current stay until the end of
    `as_of`), and the open tasks of the stage due before then.

    The read model keeps open tasks only: for a past `as_of`, `overdue` counts the tasks still open
    today that were opened by then and due before its end (a task closed since is not counted)."""
    cutoff = cutoff_of(as_of) if as_of is not None else datetime.now(UTC)
    where = Where()
    at = where.ref(cutoff)
    _scope(where, officer)
    if program is not None:
        where.add("g.program = ?", program.value)
    where.add("s.stage = ANY(?::text[])", [s.value for s in STALL_STEPS])
    stays = await db.fetch(
        f"""WITH s AS (
                SELECT group_id, to_stage AS stage, at AS entered,
                       lead(at) OVER (PARTITION BY group_id ORDER BY seq) AS left_at
                  FROM stage_transitions WHERE at < {at})
            SELECT left(g.region_code, 2) AS province, s.stage, count(*) AS stays,
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM coalesce(s.left_at, {at}) - s.entered) / 86400.0
                   ) AS median_days
              FROM s JOIN groups g USING (group_id)
             WHERE {where.sql}
             GROUP BY 1, 2""",
        *where.params,
    )
    where = Where()
    at = where.ref(cutoff)
    _scope(where, officer)
    if program is not None:
        where.add("g.program = ?", program.value)
    late = await db.fetch(
        f"""SELECT left(g.region_code, 2) AS province, t.kind, count(*) AS overdue
              FROM group_tasks t JOIN groups g USING (group_id)
             WHERE t.opened_at < {at} AND t.due_at < {at} AND {where.sql}
             GROUP BY 1, 2""",
        *where.params,
    )
    cells: dict[tuple[str, Stage], dict[str, Any]] = {}
    for r in stays:
        cells[(r["province"], Stage(r["stage"]))] = {
            "stays": r["stays"],
            "median_days": round(float(r["median_days"]), 2),
            "overdue": 0,
        }
    stage_of_kind = {kind.value: stage for kind, stage in TASK_STAGE.items()}
    for r in late:
        stage = stage_of_kind.get(r["kind"])
        if stage is None or stage not in STALL_STEPS:
            continue
        cell = cells.setdefault((r["province"], stage), {"stays": 0, "median_days": None, "overdue": 0})
        cell["overdue"] += r["overdue"]
    order = {s: i for i, s in enumerate(STALL_STEPS)}
    keys = sorted(cells, key=lambda k: (k[0], order[k[1]]))
    provinces = sorted({k[0] for k in keys})
    return StallsOut(
        as_of=as_of,
        program=program,
        regions=officer.regions,
        steps=list(STALL_STEPS),
        provinces=[{"code": p, "name": PROVINCE_CODES.get(p, p)} for p in provinces],
        cells=[StallCellOut(province=k[0], step=k[1], **cells[k]) for k in keys],
    )


# ---- aid disbursed against the allocations ----


def _allocation_scope(where: Where, officer: Officer) -> None:
    """A province's allocation concerns the officer of a regency in it, and vice versa (as the budget
    endpoints have it)."""
    scope = region_filter(officer)
    if scope is not None:
        where.add(
            "(a.region_code LIKE ANY(?::text[])"
            " OR EXISTS (SELECT 1 FROM unnest(?::text[]) s WHERE s LIKE a.region_code || '%'))",
            scope,
            officer.regions,
        )


async def allocation(db: Db, *, officer: Officer) -> AllocationReportOut:
    where = Where()
    _allocation_scope(where, officer)
    rows = await db.fetch(
        f"""SELECT a.program, a.region_code, a.amount, a.reserved, a.spent,
                   a.amount - a.reserved - a.spent AS available
              FROM budget_allocations a WHERE {where.sql}
             ORDER BY a.program, a.region_code""",
        *where.params,
    )
    return AllocationReportOut(
        regions=officer.regions, items=[AllocationRowOut.model_validate(dict(r)) for r in rows]
    )


# ---- what became of the aid: per group, then summed ----


def _accounts_cte(where: Where, cutoff: datetime | None) -> str:
    """`acct`: one row per group with aid paid (by the end of `cutoff`; None = now): paid, and its parts.

    Now, the LPJ's and the receivable's own totals; at a past cutoff, the last LPJ accepted by then and
    the receivable's repayments and write-offs recorded by then. A group without an `lpj` row owes none
    (Padat Karya; TKM submitted before the LPJ rule): its aid is `no_lpj_owed`."""
    if cutoff is None:
        paid_until = lpj_until = opened_until = "TRUE"
        accounted = "l.accounted"
        recovered, written_off = "r.recovered", "r.written_off"
    else:
        at = where.ref(cutoff)
        paid_until = f"coalesce(p.settled_at, p.instructed_at) < {at}"
        lpj_until = f"l.paid_at < {at}"
        opened_until = f"r.opened_at < {at}"
        accounted = f"""coalesce((SELECT s.total FROM lpj_submissions s
                          WHERE s.group_id = l.group_id AND s.decision = 'accept' AND s.reviewed_at < {at}
                          ORDER BY s.version DESC LIMIT 1), 0)"""

        def moved(kind: str) -> str:
            return f"""coalesce((SELECT sum(e.amount) FROM receivable_events e
                         WHERE e.group_id = r.group_id AND e.kind = '{kind}' AND e.at < {at}), 0)"""

        recovered, written_off = moved("repayment"), moved("write_off")
    return f"""paid AS (
                 SELECT p.group_id, sum(p.amount) AS paid FROM payments p
                  WHERE p.status = 'paid' AND {paid_until} GROUP BY p.group_id),
             owed AS (
                 SELECT l.group_id, l.paid AS owed, {accounted} AS accounted
                   FROM lpj l WHERE {lpj_until}),
             rec AS (
                 SELECT r.group_id, r.amount, {recovered} AS recovered, {written_off} AS written_off
                   FROM receivables r WHERE {opened_until}),
             acct AS (
                 SELECT paid.group_id, paid.paid,
                        CASE WHEN owed.group_id IS NULL THEN paid.paid ELSE 0 END AS no_lpj_owed,
                        coalesce(owed.accounted, 0) AS accounted,
                        CASE WHEN owed.group_id IS NULL THEN 0
                             ELSE owed.owed - owed.accounted - coalesce(rec.amount, 0) END AS awaiting_lpj,
                        coalesce(rec.amount - rec.recovered - rec.written_off, 0) AS under_recovery,
                        coalesce(rec.recovered, 0) AS recovered,
                        coalesce(rec.written_off, 0) AS written_off
                   FROM paid LEFT JOIN owed USING (group_id) LEFT JOIN rec USING (group_id))"""


_ACCOUNT_SUMS = """sum(acct.paid) AS paid, sum(acct.no_lpj_owed) AS no_lpj_owed,
                   sum(acct.accounted) AS accounted, sum(acct.awaiting_lpj) AS awaiting_lpj,
                   sum(acct.under_recovery) AS under_recovery, sum(acct.recovered) AS recovered,
                   sum(acct.written_off) AS written_off"""
_ACCOUNT_FIELDS = (
    "paid",
    "no_lpj_owed",
    "accounted",
    "awaiting_lpj",
    "under_recovery",
    "recovered",
    "written_off",
)


def _accounts_of(r: Any, region_code: str) -> AidAccountsOut:
    return AidAccountsOut(
        program=r["program"],
        region_code=region_code,
        **{f: int(r[f] or 0) for f in _ACCOUNT_FIELDS},
    )


async def aid_accounts(db: Db, *, officer: Officer, as_of: date | None = None) -> list[AidAccountsOut]:
    """Per programme and province, in the officer's scope: aid paid and what became of it."""
    where = Where()
    cte = _accounts_cte(where, cutoff_of(as_of) if as_of is not None else None)
    _scope(where, officer)
    rows = await db.fetch(
        f"""WITH {cte}
            SELECT g.program, left(g.region_code, 2) AS province, {_ACCOUNT_SUMS}
              FROM acct JOIN groups g USING (group_id)
             WHERE {where.sql}
             GROUP BY 1, 2 ORDER BY 1, 2""",
        *where.params,
    )
    return [_accounts_of(r, r["province"]) for r in rows]


async def ledger(db: Db, *, officer: Officer) -> list[LedgerRowOut]:
    """The budget ledger: each allocation in the officer's scope, and what became of the aid it paid
    (the groups whose settled reservations drew on it)."""
    where = Where()
    cte = _accounts_cte(where, None)
    _allocation_scope(where, officer)
    rows = await db.fetch(
        f"""WITH {cte},
                 drew AS (SELECT DISTINCT group_id, program, region_code FROM budget_reservations
                           WHERE status = 'settled'),
                 per_allocation AS (
                     SELECT drew.program, drew.region_code, {_ACCOUNT_SUMS}
                       FROM acct JOIN drew USING (group_id) GROUP BY 1, 2)
            SELECT a.program, a.region_code, a.amount, a.reserved, a.spent,
                   a.amount - a.reserved - a.spent AS available,
                   pa.paid, pa.no_lpj_owed, pa.accounted, pa.awaiting_lpj, pa.under_recovery,
                   pa.recovered, pa.written_off
              FROM budget_allocations a
              LEFT JOIN per_allocation pa USING (program, region_code)
             WHERE {where.sql}
             ORDER BY a.program, a.region_code""",
        *where.params,
    )
    return [
        LedgerRowOut(
            program=r["program"],
            region_code=r["region_code"],
            amount=r["amount"],
            reserved=r["reserved"],
            spent=r["spent"],
            available=r["available"],
            accounts=_accounts_of(r, r["region_code"]),
        )
        for r in rows
    ]


# ---- the LPJs ----


def today_wib() -> date:
    return local_date(datetime.now(UTC))


async def lpj_status(db: Db, *, officer: Officer) -> LpjStatusOut:
    """Per programme and province: each group owing an LPJ counted once, in the first of under
    recovery (a receivable still owed), settled (its receivable repaid or written off), accepted,
    overdue (due or sent back for revision, past the due date, or marked overdue), on time."""
    today = today_wib()
    where = Where()
    day = where.ref(today)
    _scope(where, officer)
    rows = await db.fetch(
        f"""WITH c AS (
                SELECT l.program, left(l.region_code, 2) AS province,
                       CASE WHEN r.group_id IS NOT NULL AND r.settled_at IS NULL THEN 'under_recovery'
                            WHEN r.group_id IS NOT NULL THEN 'settled'
                            WHEN l.status = 'accepted' THEN 'accepted'
                            WHEN l.status IN ('overdue', 'rejected')
                              OR (l.status IN ('due', 'revise') AND l.due_on < {day}) THEN 'overdue'
                            ELSE 'on_time' END AS bucket,
                       CASE WHEN r.group_id IS NOT NULL AND r.settled_at IS NULL
                                 THEN r.amount - r.recovered - r.written_off
                            WHEN r.group_id IS NOT NULL THEN r.recovered + r.written_off
                            WHEN l.status = 'accepted' THEN l.accounted
                            ELSE l.paid - l.accounted END AS amount
                  FROM lpj l JOIN groups g USING (group_id) LEFT JOIN receivables r USING (group_id)
                 WHERE {where.sql})
            SELECT program, province, bucket, count(*) AS groups, sum(amount) AS amount
              FROM c GROUP BY 1, 2, 3""",
        *where.params,
    )
    table: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        row = table.setdefault((r["program"], r["province"]), {})
        row[f"{r['bucket']}_groups"] = r["groups"]
        row[f"{r['bucket']}_amount"] = int(r["amount"] or 0)
    buckets = ("on_time", "overdue", "under_recovery", "accepted", "settled")
    items = [
        LpjStatusRowOut(
            program=Program(program),
            region_code=province,
            **{
                f"{b}_{x}": table[(program, province)].get(f"{b}_{x}", 0)
                for b in buckets
                for x in ("groups", "amount")
            },
        )
        for program, province in sorted(table)
    ]
    return LpjStatusOut(as_of=today, regions=officer.regions, items=items)


async def lpj_outstanding(db: Db, *, officer: Officer, paging: PageParams | None = None) -> Page[LpjRowOut]:
    """TKM groups paid without an accepted LPJ, the longest overdue first. `paging` None: all of them
    (up to `LPJ_EXPORT_MAX`), for the exports."""
    today = today_wib()
    where = Where()
    where.add("l.status <> 'accepted'")
    _scope(where, officer)
    total = await db.fetchval(
        f"SELECT count(*) FROM lpj l JOIN groups g USING (group_id) WHERE {where.sql}", *where.params
    )
    day = where.ref(today)
    size = paging.size if paging else LPJ_EXPORT_MAX
    offset = paging.offset if paging else 0
    limit, skip = where.ref(size), where.ref(offset)
    rows = await db.fetch(
        f"""SELECT l.group_id, g.name, g.region_code, l.status, l.paid, l.paid_at, l.due_on,
                   greatest({day}::date - l.due_on, 0) AS days_overdue, l.accounted,
                   l.paid - l.accounted - coalesce(r.amount, 0) AS awaiting,
                   coalesce(r.amount - r.recovered - r.written_off, 0) AS under_recovery,
                   coalesce(r.recovered, 0) AS recovered, coalesce(r.written_off, 0) AS written_off,
                   l.escalation_level
              FROM lpj l JOIN groups g USING (group_id) LEFT JOIN receivables r USING (group_id)
             WHERE {where.sql}
             ORDER BY days_overdue DESC, l.due_on, l.group_id
             LIMIT {limit} OFFSET {skip}""",
        *where.params,
    )
    return Page[LpjRowOut](
        items=[LpjRowOut.model_validate(dict(r)) for r in rows],
        total=total,
        page=paging.page if paging else 1,
        size=size,
    )
