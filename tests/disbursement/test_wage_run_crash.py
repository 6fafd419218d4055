"""A weekly wage run (issue 13) with the worker process killed (SIGKILL) while the run's transfers are
on the wire, then restarted: every worker is paid for the week exactly once (the bank's statement),
the cut-off batch was retried with the same keys (one per worker per week), and the wage bill's
reservation holds exactly what was not drawn. The same harness as test_worker_crash.py: the real
`python worker.py`, the bank simulator, PostgreSQL and Temporal. The run's transfers go to the bank
in one request, which it records whole: the kill comes after it did, before its answer reached the
worker (the answer hangs), so the restarted worker cannot know which of them the bank has."""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from jps.domain.calendar import WIB, local_date
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.domain.wages import WagePolicy, WorkRole, Worksite
from tests.disbursement.conftest import Rig, eventually
from tests.disbursement.test_worker_crash import POLICIES, instruct_attempts, polled, worker_process
from tests.factories import officer, proposal
from tests.workflows.harness import fund

FINANCE, MENTOR = officer(Role.FINANCE), officer(Role.MENTOR)
VERIFIER, TRAINER = officer(Role.VERIFIER), officer(Role.TRAINER)
SITE = Worksite(lat=-6.2, lon=106.85, radius_m=200)


async def test_worker_killed_inside_a_wage_run_pays_each_worker_once_for_the_week(
    rig: Rig, tmp_path: Path
) -> None:
    await fund(rig.pool)
    queue = f"wage-crash-{uuid.uuid4().hex[:8]}"
    h = rig.harness(queue)
    policy = POLICIES[Program.PADAT_KARYA].model_copy(update={"wages": WagePolicy(planned_workdays=20)})
    p = proposal(Program.PADAT_KARYA, size=12, amount=10_000_000, roles={}, worksite=SITE)  # all workers
    log_path = tmp_path / "worker.log"
    with worker_process(rig, queue, log_path) as first:
        await eventually(lambda: polled(rig, queue), within=30)
        handle, state = await h.submit(p, policy=policy)
        day0 = local_date(state.submitted_at)
        await h.act(handle, "verify", VERIFIER, decision="approve")
        await h.act(handle, "schedule-training", TRAINER, starts_on=day0, ends_on=day0, venue="BLK")
        await h.act(handle, "record-attendance", TRAINER, attended_niks=[m.nik for m in p.members])
        gid = handle.id
        await h.act(handle, "approve-disbursement", FINANCE, amount=10_000_000)

        async def reserved() -> bool:
            return bool(
                await rig.pool.fetchval(
                    "SELECT 1 FROM budget_reservations WHERE reservation_id = $1", f"{gid}:0"
                )
            )

        await eventually(reserved, within=30)
        today = local_date(datetime.now(UTC))
        week = today - timedelta(days=today.weekday() + 7)
        days = [week + timedelta(days=d) for d in range(3)]
        for i, day in enumerate(days):
            await rig.pool.execute(
                """INSERT INTO files (file_id, group_id, sha256, size, content_type, purpose, lat, lon,
                                      captured_at, uploaded_by, uploaded_at)
                   VALUES ($1, $2, $3, 100, 'image/jpeg', 'worksite_photo', $4, $5, $6, 'mentor-1', now())""",
                f"F-{i:026d}",
                gid,
                f"{i:064d}",
                SITE.lat,
                SITE.lon,
                datetime.combine(day, time(9), tzinfo=WIB),
            )
        entries = [
            {"nik": m.nik, "date": d.isoformat(), "hours": 8}
            for n, m in enumerate(p.members)
            for d in days[: 1 + n % 3]
        ]
        evidence = [{"date": d.isoformat(), "file_ids": [f"F-{i:026d}"]} for i, d in enumerate(days)]
        await h.act(handle, "submit-muster", MENTOR, week_starts_on=week, entries=entries, evidence=evidence)
        # The bank records the run's batch, then its answer hangs (past the worker's 5 s timeout).
        rig.bank.faults(latency_ms=100, timeout_after_commit_rate=1.0, hang_s=20)
        await h.act(handle, "approve-wages", FINANCE, week_starts_on=week)
        first_tid = f"{gid}-W{week:%Y%m%d}-00"

        async def at_the_bank() -> bool:
            return rig.bank.transfer(first_tid) is not None

        await eventually(at_the_bank, within=30, every=0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    ledger = rig.bank.ledger()
    assert (ledger["transfers"], ledger["batches"]) == (len(p.members), 1)  # recorded whole, unanswered
    pending = await rig.pool.fetchval(
        "SELECT count(*) FROM payments WHERE group_id = $1 AND status = 'pending'", gid
    )
    assert pending == len(p.members)  # to the killed worker, every transfer of the run was in flight

    rig.bank.faults(latency_ms=100)
    with worker_process(rig, queue, log_path):

        async def settled() -> bool:
            return (
                await rig.pool.fetchval(
                    "SELECT status FROM muster_rolls WHERE group_id = $1 AND week_starts_on = $2", gid, week
                )
                == "settled"
            )

        try:
            await eventually(settled, within=90, every=0.25)
        except AssertionError:
            raise AssertionError(
                f"the run never settled; worker log:\n{log_path.read_text()[-3000:]}"
            ) from None
        attempts = await instruct_attempts(handle)
        assert max(attempts) >= 2, attempts  # the cut-off batch was retried by the restarted worker

    statement = [t for t in rig.bank.statement() if t["transfer_id"].startswith(gid)]
    assert all(c == 1 for c in Counter(t["transfer_id"] for t in statement).values())
    paid = {t["transfer_id"]: t["amount"] for t in statement}
    expected = {f"{gid}-W{week:%Y%m%d}-{n:02d}": (1 + n % 3) * 100_000 for n in range(len(p.members))}
    assert paid == expected  # each worker once, days × the worker's rate
    assert all(m.work_role == WorkRole.WORKER for m in p.members)
    assert rig.bank.ledger()["duplicates_suppressed"] > 0
    res = await rig.pool.fetchrow(
        "SELECT amount, drawn, status FROM budget_reservations WHERE reservation_id = $1", f"{gid}:0"
    )
    total = sum(expected.values())
    assert (res["amount"], res["drawn"], res["status"]) == (10_000_000, total, "reserved")
    alloc = await rig.pool.fetchrow(
        "SELECT reserved, spent FROM budget_allocations WHERE program = 'padat_karya' AND region_code = '31'"
    )
    assert (alloc["reserved"], alloc["spent"]) == (10_000_000 - total, total)
