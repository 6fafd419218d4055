"""Reconciliation someone reads (issue 10, scenario 11), against the real stack: the bank simulator over
HTTP, PostgreSQL, ReconciliationWorkflow on the disbursement rig's dev server and the API over HTTP.

- Each run starts from where the last completed run's statement ended (the watermark), reading
  neither the whole statement nor every payment, and still finds a transfer paid long after it was
  instructed; a mismatch already open is not recorded again.
- Finance in the group's region resolves a mismatch (the officer and the reason in the audit log);
  auditors read the list; others are refused. A resolved mismatch stays resolved through the next
  runs unless its facts change.
- A long run heartbeats its progress, under the workflow's heartbeat timeout.

Before this change every run read every payment, recorded every mismatch again under its own run
id, and nothing listed or resolved them (no route, no watermark, no heartbeat)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from activities.bank_client import BankClient
from activities.notify_client import NotifyClient
from jps.contracts.activities import ReconcileInput, ReconcileResult, TransferSpec
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests.disbursement.conftest import Rig, eventually, worker_on
from tests.disbursement.test_reconciliation import found, paid_group, reconcile
from tests.factories import proposal
from tests.workflows.harness import fund
from worker import WORKFLOWS, build_activities
from workflows.maintenance import RECONCILE_HEARTBEAT


async def at_bank(bank: BankClient, tid: str, amount: int) -> None:
    spec = TransferSpec(
        transfer_id=tid,
        batch_id="B",
        beneficiary="Siti",
        bank_code="002",
        account_no="1234567",
        amount=amount,
    )
    await bank.create_transfer(spec)


async def ours(rig: Rig, rows: list[tuple[str, str, int, datetime]]) -> None:
    """Our payments rows as the workflow leaves them: (transfer, status, amount, instructed_at)."""
    await rig.pool.executemany(
        """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                 bank_code, account_no, amount, status, instructed_at)
           VALUES ($1, $1, 'G-manual', 'B', 1, 'Siti', '002', '1234567', $3, $2, $4)""",
        rows,
    )


REASON = "Bank corrected its statement, ref 117"


def run_id(name: str) -> str:
    return f"recon-{name}-{uuid.uuid4().hex[:6]}"


async def test_each_run_starts_where_the_last_ended_and_records_an_open_mismatch_once(rig: Rig) -> None:
    now = datetime.now(UTC)
    async with BankClient(rig.sims.bank_url) as bank, worker_on(rig):
        old = [f"old-{n:02d}" for n in range(20)]
        for tid in old:
            await at_bank(bank, tid, 1_000_000)
        for tid in old:
            rig.bank.wait_settled(tid)
        await ours(rig, [(tid, "paid", 1_000_000, now) for tid in old])

        first = await reconcile(rig, run_id("first"))
        assert first.mode == "full" and (first.compared, first.bank_paid) == (20, 20)
        assert first.mismatches == [] and first.statement_until is not None

        # A transfer instructed 40 days ago that the bank pays only today, which we recorded failed
        # (we might pay it again); and one paid today whose amount we recorded differently.
        await ours(rig, [("late", "failed", 2_000_000, now - timedelta(days=40))])
        await at_bank(bank, "late", 2_000_000)
        await at_bank(bank, "new", 3_000_000)
        await ours(rig, [("new", "paid", 3_100_000, now)])
        for tid in ("late", "new"):
            rig.bank.wait_settled(tid)

        second = await reconcile(rig, run_id("second"))
        assert second.mode == "incremental" and second.statement_from == first.statement_until
        # The statement from the watermark on (its last line read again, inclusively) and our rows for
        # those transfers: not the 22 of each.
        assert second.bank_paid <= 3 and second.compared <= 3
        assert found(second) == {("paid_not_recorded", "late"), ("amount_differs", "new")}
        assert second.recorded("opened") == 2 and second.open_total == 2

        # The next run starts after them: nothing new; what it reads again is already open.
        third = await reconcile(rig, run_id("third"))
        assert third.statement_from == second.statement_until and third.recorded("opened") == 0
        assert {m.recorded_as for m in third.mismatches} <= {"already_open"}
        # A full run reads everything again and still records nothing twice.
        full = await reconcile(rig, run_id("full"), ReconcileInput(full=True))
        assert full.mode == "full" and full.bank_paid == 22
        assert found(full) == found(second) and full.recorded("already_open") == 2
        rows = await rig.pool.fetch(
            "SELECT transfer_id, kind, run_id, last_run_id FROM reconciliation_mismatches ORDER BY 1"
        )
        assert [(r["transfer_id"], r["kind"]) for r in rows] == [
            ("late", "paid_not_recorded"),
            ("new", "amount_differs"),
        ]
        assert {r["run_id"] for r in rows} == {second.run_id} and {r["last_run_id"] for r in rows} == {
            full.run_id
        }
        # `--days` is a window of its own: it leaves the watermark where it was.
        window = await reconcile(rig, run_id("window"), ReconcileInput(since_days=1))
        assert window.mode == "window" and found(window) == found(second)
        after = await reconcile(rig, run_id("after"))
        assert after.statement_from == full.statement_until


async def test_finance_resolves_auditors_read_and_a_resolution_stays_until_the_facts_change(rig: Rig) -> None:
    await fund(rig.pool)
    async with worker_on(rig) as h:
        central, east = await asyncio.gather(
            paid_group(h, proposal(Program.TKM, size=10, region="3171")),
            paid_group(h, proposal(Program.TKM, size=10, region="3174")),
        )
        rig.bank.plant("amount_differs", transfer_id=central[0], amount=10_002_000)
        rig.bank.plant("amount_differs", transfer_id=east[0], amount=9_000_000)
        stray = rig.bank.plant("paid_not_recorded", amount=500_000)["transfer_id"]
        first = await reconcile(rig, run_id("api"), ReconcileInput(full=True))
        assert first.recorded("opened") == 3

        async def listing(role: Role, regions: list[str], **params: Any) -> Any:
            headers = rig.auth(role, regions=regions)
            resp = await rig.http.get("/reconciliation/mismatches", params=params, headers=headers)
            assert resp.status_code == 200, resp.text
            return resp.json()

        everything = await listing(Role.AUDITOR, ["*"])
        assert everything["total"] == 3 and {m["status"] for m in everything["items"]} == {"open"}
        by_transfer = {m["transfer_id"]: m for m in everything["items"]}
        mine = by_transfer[central[0]]
        assert (mine["kind"], mine["region_code"], mine["program"]) == ("amount_differs", "3171", "tkm")
        assert mine["ours"]["amount"] == 10_000_000 and mine["bank"]["amount"] == 10_002_000
        assert by_transfer[stray]["group_id"] is None and by_transfer[stray]["region_code"] is None
        # Region scope: a regency's finance officer sees that regency's groups only; nobody regional
        # sees a transfer without a group.
        regional = await listing(Role.FINANCE, ["3171"])
        assert [m["transfer_id"] for m in regional["items"]] == [central[0]] and regional["total"] == 1
        assert (await listing(Role.FINANCE, ["31"]))["total"] == 2
        # Filters and pages.
        assert (await listing(Role.AUDITOR, ["*"], kind="paid_not_recorded"))["total"] == 1
        assert (await listing(Role.AUDITOR, ["*"], region="3174"))["items"][0]["transfer_id"] == east[0]
        assert (await listing(Role.AUDITOR, ["*"], status="resolved"))["total"] == 0
        page = await listing(Role.AUDITOR, ["*"], size=2, page=2)
        assert (len(page["items"]), page["total"], page["page"]) == (1, 3, 2)
        refused = await rig.http.get(
            "/reconciliation/mismatches", headers=rig.auth(Role.REGISTRAR, regions=["*"])
        )
        assert refused.status_code == 403

        async def resolve(mid: int, role: Role, regions: list[str], **body: Any) -> Any:
            return await rig.http.post(
                f"/reconciliation/mismatches/{mid}/resolve",
                json={
                    "resolution": "bank_corrected",
                    "reason": REASON,
                    **body,
                },
                headers=rig.auth(role, officer=f"{role.value}-{regions[0]}", regions=regions),
            )

        assert (await resolve(mine["id"], Role.FINANCE, ["3174"])).status_code == 403  # another regency
        assert (await resolve(mine["id"], Role.AUDITOR, ["*"])).status_code == 403  # reads, never changes
        assert (await resolve(mine["id"], Role.FINANCE, ["3171"], reason="ok")).status_code == 422
        assert (await resolve(mine["id"], Role.FINANCE, ["3171"], resolution="ignored")).status_code == 422
        assert (await resolve(999_999, Role.FINANCE, ["*"])).status_code == 404
        done = await resolve(mine["id"], Role.FINANCE, ["3171"])
        assert done.status_code == 200, done.text
        body = done.json()
        assert (body["status"], body["resolution"], body["resolved_by"]) == (
            "resolved",
            "bank_corrected",
            "finance-3171",
        )
        assert (await resolve(mine["id"], Role.FINANCE, ["3171"])).status_code == 409
        assert (await resolve(by_transfer[stray]["id"], Role.FINANCE, ["31"])).status_code == 403
        national = await resolve(by_transfer[stray]["id"], Role.FINANCE, ["*"], resolution="recovered")
        assert national.status_code == 200, national.text

        audit = await rig.http.get(
            "/audit",
            params={"event": "reconciliation_mismatch_resolved"},
            headers=rig.auth(Role.AUDITOR, regions=["*"]),
        )
        rows = {r["details"]["transfer_id"]: r for r in audit.json()["items"]}
        assert set(rows) == {central[0], stray}
        row = rows[central[0]]
        assert (row["actor"], row["reason"], row["group_id"]) == (
            "finance-3171",
            REASON,
            mine["group_id"],
        )
        assert (
            row["details"]["resolution"] == "bank_corrected"
            and row["details"]["bank"]["amount"] == 10_002_000
        )
        refusals = await rig.http.get(
            "/audit", params={"event": "action_refused"}, headers=rig.auth(Role.AUDITOR, regions=["*"])
        )
        assert any(r["details"]["action"] == "resolve-mismatch" for r in refusals.json()["items"])
        verify = await rig.http.get("/audit/verify", headers=rig.auth(Role.AUDITOR, regions=["*"]))
        assert verify.json()["valid"] is True

        # The next runs leave the resolved ones resolved: same facts.
        again = await reconcile(rig, run_id("again"), ReconcileInput(full=True))
        recorded = {m.transfer_id: m.recorded_as for m in again.mismatches}
        assert recorded == {central[0]: "kept_resolved", stray: "kept_resolved", east[0]: "already_open"}
        assert again.open_total == 1
        assert await rig.pool.fetchval("SELECT count(*) FROM reconciliation_mismatches") == 3

        # The facts change (the bank's statement now says another amount): open again, as a new row;
        # the resolution of the old facts stays on record.
        rig.bank.plant("amount_differs", transfer_id=central[0], amount=10_500_000)
        changed = await reconcile(rig, run_id("changed"), ReconcileInput(full=True))
        assert {m.transfer_id: m.recorded_as for m in changed.mismatches}[central[0]] == "opened"
        reopened = await listing(Role.FINANCE, ["3171"], status="open")
        assert reopened["total"] == 1 and reopened["items"][0]["id"] != mine["id"]
        assert reopened["items"][0]["bank"]["amount"] == 10_500_000
        history = await listing(Role.FINANCE, ["3171"], status="resolved")
        assert [m["id"] for m in history["items"]] == [mine["id"]]


async def test_a_long_run_heartbeats_its_progress(rig: Rig) -> None:
    """Transfers pending for days that the statement does not list are asked of the bank one by one; a
    slow bank makes that long. Meanwhile Temporal holds the run's progress as heartbeat details."""
    days_ago = datetime.now(UTC) - timedelta(days=3)
    await ours(rig, [(f"lost-{n}", "pending", 1_000_000, days_ago) for n in range(8)])
    rig.bank.faults(latency_ms=400)
    # The SDK sends a heartbeat at once, then at most every 80 % of the heartbeat timeout (48 s): a
    # worker that sends them sooner lets the test watch the progress without waiting for that.
    async with (
        BankClient(rig.sims.bank_url) as bank,
        NotifyClient(rig.sims.notify_url) as notify,
        Worker(
            rig.client,
            task_queue=rig.task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(rig.pool, bank, notify),
            max_heartbeat_throttle_interval=timedelta(milliseconds=200),
            default_heartbeat_throttle_interval=timedelta(milliseconds=200),
        ),
    ):
        handle = await rig.client.start_workflow(
            "ReconciliationWorkflow",
            ReconcileInput(),
            id=run_id("slow"),
            task_queue=rig.task_queue,
            result_type=ReconcileResult,
        )

        async def progress() -> Any:
            desc = await handle.describe()
            for pending in desc.raw_description.pending_activities:
                if pending.heartbeat_details.payloads:
                    details = await rig.client.data_converter.decode(pending.heartbeat_details.payloads)
                    if details and details[0].get("phase") == "asking_bank":
                        return details[0]
            return None

        beat = await eventually(progress, within=20)
        assert beat["of"] == 8 and 0 <= beat["asked"] < 8
        result: ReconcileResult = await handle.result()
    assert result.asked_bank == 8 and found(result) == {("recorded_not_paid", f"lost-{n}") for n in range(8)}
    history = await handle.fetch_history()
    [scheduled] = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled.heartbeat_timeout.ToTimedelta() == RECONCILE_HEARTBEAT
