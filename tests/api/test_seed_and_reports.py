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
from jps.domain.programs import Program
from jps.domain.roles import Role
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

    # running the seed again creates nothing new: every group resumes where it stands
    code, out = await run_cli(stack, "seed-demo", "--scale", str(scale))
    assert code == 0, out
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 6
    assert await stack.pool.fetchval("SELECT count(*) FROM payments WHERE status = 'paid'") == 4 + 2 * 20


async def test_summary_rejects_a_bad_date(stack: Stack, http: httpx.AsyncClient) -> None:
    resp = await http.get("/reports/summary?as_of=2020-13-01", headers=stack.auth(Role.AUDITOR))
    assert resp.status_code == 422
