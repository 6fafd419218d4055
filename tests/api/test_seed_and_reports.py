"""`jps seed-demo` (a small `--scale`) through the real stack, then the summary report over HTTP and
`jps report`; the cohort's shape at full scale."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from jps.domain.calendar import local_date
from jps.domain.programs import DEFAULT_POLICIES, Program
from jps.domain.roles import Role
from jps.domain.wages import WorkRole
from tests.api.conftest import JWT_SECRET, Stack
from tools.seed import COHORT, GROUP_SIZE, cohort, group_counts

JPS = str(Path(sys.executable).parent / "jps")


def cli_env(stack: Stack) -> dict[str, str]:
    s = stack.settings
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": s.temporal_address,
        "TEMPORAL_NAMESPACE": s.temporal_namespace,
        "TEMPORAL_TASK_QUEUE": s.temporal_task_queue,
        "DATABASE_URL": s.database_url,
        "JPS_JWT_SECRET": JWT_SECRET,
        "JPS_API_BASE_URL": stack.url,
        "JPS_LOG_LEVEL": "WARNING",
        "JPS_FILES_DIR": str(s.files_path),  # the worksite photos: the test's store, never .data's
    }


async def run_cli(stack: Stack, *args: str) -> tuple[int, str]:
    """The real `jps` executable in its own process; the test's loop keeps the worker running meanwhile."""
    proc = await asyncio.create_subprocess_exec(
        JPS, *args, env=cli_env(stack), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def test_full_cohort_matches_the_article() -> None:
    counts = group_counts(1.0)
    assert counts == {Program.TKM: 1_985, Program.PADAT_KARYA: 1_091}
    people: dict[Program, int] = dict.fromkeys(Program, 0)
    niks: set[str] = set()
    phones: set[str] = set()
    for _, proposal in cohort(1.0):
        people[proposal.program] += len(proposal.members)
        niks.update(m.nik for m in proposal.members)
        phones.update(m.phone for m in proposal.members)
    assert people == {
        Program.TKM: COHORT[Program.TKM][1],
        Program.PADAT_KARYA: COHORT[Program.PADAT_KARYA][1],
    }
    assert len(niks) == len(phones) == 61_520 == 3_076 * GROUP_SIZE


async def test_summary_after_seed_demo(stack: Stack, http: httpx.AsyncClient) -> None:
    scale = 0.002  # 4 TKM groups, 2 Padat Karya groups
    code, out = await run_cli(stack, "seed-demo", "--scale", str(scale), "--concurrency", "8")
    assert code == 0, out
    assert "Tenaga Kerja Mandiri: aid disbursed to 4 groups / 80 people" in out

    national = stack.auth(Role.AUDITOR, regions=["*"])
    summary = (await http.get("/reports/summary", headers=national)).json()
    by_program = {p["program"]: p for p in summary["programs"]}
    tkm, pk = by_program["tkm"], by_program["padat_karya"]
    assert (tkm["groups"], tkm["people"], tkm["disbursed_groups"], tkm["disbursed_people"]) == (4, 80, 4, 80)
    assert (pk["groups"], pk["people"], pk["disbursed_groups"], pk["disbursed_people"]) == (2, 40, 2, 40)
    assert tkm["paid_amount"] == 4 * 10_000_000 and pk["paid_amount"] == 2 * 10_000_000
    mentoring = next(s for s in tkm["stages"] if s["stage"] == "mentoring")
    assert mentoring["groups"] == 4 and mentoring["people"] == 80

    # as of yesterday none of it existed; as of today all of it did
    today = local_date(datetime.now(UTC))  # as_of is a WIB calendar day
    yesterday = (today - timedelta(days=1)).isoformat()
    earlier = (await http.get(f"/reports/summary?as_of={yesterday}", headers=national)).json()
    assert all(p["groups"] == 0 for p in earlier["programs"])
    tomorrow = (today + timedelta(days=1)).isoformat()
    later = (await http.get(f"/reports/summary?as_of={tomorrow}", headers=national)).json()
    assert [p["groups"] for p in later["programs"]] == [4, 2]
    assert [p["disbursed_groups"] for p in later["programs"]] == [4, 2]

    # an officer sees the figures of their own scope only (the cohort starts in Aceh, 11xx)
    aceh = (await http.get("/reports/summary", headers=stack.auth(Role.VERIFIER, regions=["11"]))).json()
    assert 0 < sum(p["groups"] for p in aceh["programs"]) < 6

    code, out = await run_cli(stack, "report")
    assert code == 0, out
    assert "Tenaga Kerja Mandiri" in out and "Padat Karya" in out and "mentoring" in out

    # Padat Karya went the weekly way (docs/wages.md): two weeks' rolls with a photo a workday, each
    # released by finance, every worker paid that week's days × the rate of their role, the whole
    # wage bill drawn, and the group in mentoring
    pk_paid = await weekly_wages_paid(stack, http)
    assert pk_paid == 2 * 10_000_000

    # running the seed again creates nothing new: every group resumes where it stands
    code, out = await run_cli(stack, "seed-demo", "--scale", str(scale))
    assert code == 0, out
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 6
    transfers = await stack.pool.fetchval(
        "SELECT count(*) FROM payments JOIN groups USING (group_id)"
        " WHERE payments.status = 'paid' AND groups.program = 'padat_karya'"
    )
    assert await stack.pool.fetchval("SELECT count(*) FROM payments WHERE status = 'paid'") == 4 + transfers
    assert await stack.pool.fetchval("SELECT count(*) FROM muster_rolls") == 2 * 2
    assert await stack.pool.fetchval("SELECT count(*) FROM files") == 2 * PLANNED_DAYS
    assert await weekly_wages_paid(stack, http) == pk_paid


WAGES = DEFAULT_POLICIES[Program.PADAT_KARYA].wages  # the seed runs under the built-in policy
PLANNED_DAYS = WAGES.planned_workdays if WAGES else 0


async def weekly_wages_paid(stack: Stack, http: httpx.AsyncClient) -> int:
    """Each Padat Karya group's rolls and wage runs, read over HTTP: a week's roll per planned week,
    every workday with its worksite photo counted, the run released by finance and paid, each
    worker's line days × the rate of their role, every transfer paid at the bank's word. The wages
    the groups were paid."""
    assert WAGES is not None
    auditor = stack.auth(Role.AUDITOR, regions=["*"])
    groups = (await http.get("/groups", params={"program": "padat_karya"}, headers=auditor)).json()
    assert groups["total"] == 2
    paid = 0
    for g in groups["items"]:
        gid = g["group_id"]
        detail = (await http.get(f"/groups/{gid}", headers=auditor)).json()
        assert detail["stage"] == "mentoring", detail
        assert detail["wages"]["workdays_worked"] == PLANNED_DAYS, detail["wages"]
        runs = (await http.get(f"/groups/{gid}/wage-runs", headers=auditor)).json()["items"]
        rolls = (await http.get(f"/groups/{gid}/rolls", headers=auditor)).json()["items"]
        assert len(runs) == len(rolls) == -(-PLANNED_DAYS // 5)  # Monday to Friday of past weeks
        assert sum(r["workdays"] for r in rolls) == PLANNED_DAYS
        for roll in rolls:
            assert roll["exceptions"] == 0 and roll["evidence"], roll["week_starts_on"]
            assert all(e["verdict"] == "counted" for e in roll["evidence"])
        for run in runs:
            assert run["status"] == "settled" and run["approved_by"] == "seed-finance", run
            assert run["lines"] and run["total"] == run["paid"] == sum(ln["amount"] for ln in run["lines"])
            for line in run["lines"]:
                rate = WAGES.rate(WorkRole(line["role"]), detail["region_code"])
                assert (line["rate"], line["amount"], line["status"]) == (rate, line["days"] * rate, "paid")
            paid += run["paid"]
        transfers = {ln["transfer_id"] for run in runs for ln in run["lines"]}
        statuses = {p["transfer_id"]: p["status"] for p in detail["payments"]}
        assert all(statuses.get(t) == "paid" for t in transfers), statuses
    return paid


async def test_summary_rejects_a_bad_date(stack: Stack, http: httpx.AsyncClient) -> None:
    resp = await http.get("/reports/summary?as_of=2020-13-01", headers=stack.auth(Role.AUDITOR))
    assert resp.status_code == 422
