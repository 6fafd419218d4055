"""Two of issue 10's reproductions, over HTTP on the real stack with a fixed outcome: the bank
simulator's fault is set to rate 1.0, so each run takes the path the issue found.

- A bank 409 for a transfer still in flight (the first POST's answer was lost, its replay is answered
  409 while the bank processes it) used to fail the group's workflow, left showing `await_bank`
  forever. The group must keep running, wait visibly, and be paid once by the bank's statement.
- A "failed, not permanent" callback for a transfer the bank then pays used to make the workflow send
  a replacement transfer: the account was paid twice by the bank's own statement. It must be paid once.

The faster fast-tier forms of both (fakes, time-skipping server) are in
tests/workflows/group_lifecycle/test_bank.py; these prove the whole chain: the officers' API, the
worker's activities against the simulator, its signed callbacks through the API's callback route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.client import WorkflowExecutionStatus

from jps.contracts.activities import PaymentResult
from jps.contracts.names import PAYMENT_BATCH_SIGNAL
from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests.disbursement.conftest import Rig, eventually, worker_on
from tests.factories import proposal
from tests.workflows.harness import fund

AMOUNT = 10_000_000
ACCOUNT = "3234567890"


async def _act(rig: Rig, gid: str, action: str, role: Role, body: dict[str, Any]) -> None:
    resp = await rig.http.post(f"/groups/{gid}/actions/{action}", json=body, headers=rig.auth(role))
    assert resp.status_code == 200, f"{action}: {resp.status_code} {resp.text}"


async def _approved(rig: Rig, p: Proposal) -> str:
    """Submitted, verified, trained and approved by finance, as its officers would."""
    created = await rig.http.post("/groups", json=p.model_dump(mode="json"), headers=rig.auth(Role.REGISTRAR))
    assert created.status_code == 201, created.text
    gid: str = created.json()["group_id"]
    today = local_date(datetime.fromisoformat(created.json()["submitted_at"])).isoformat()
    await _act(rig, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    training = {"starts_on": today, "ends_on": today, "venue": "BLK"}
    await _act(rig, gid, "schedule-training", Role.TRAINER, training)
    await _act(rig, gid, "record-attendance", Role.TRAINER, {"attended_niks": [m.nik for m in p.members]})
    await _act(rig, gid, "approve-disbursement", Role.FINANCE, {"amount": AMOUNT})
    return gid


async def _group(rig: Rig, gid: str) -> dict[str, Any]:
    resp = await rig.http.get(f"/groups/{gid}", headers=rig.auth(Role.AUDITOR))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _in_mentoring(rig: Rig, gid: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        g = await _group(rig, gid)
        return g if g["stage"] == "mentoring" else None

    group: dict[str, Any] = await eventually(check, within=20)
    return group


async def _running(rig: Rig, gid: str) -> bool:
    return (await rig.client.get_workflow_handle(gid).describe()).status == WorkflowExecutionStatus.RUNNING


def _paid_to_the_account(rig: Rig) -> list[dict[str, Any]]:
    """The bank's statement (its own record of money moved) for the group's account."""
    return [line for line in rig.bank.statement() if line["account_no"] == ACCOUNT]


async def _signalled(rig: Rig, gid: str) -> list[PaymentResult]:
    """The bank results the group's workflow received as signals (from the callback route)."""
    history = await rig.client.get_workflow_handle(gid).fetch_history()
    results: list[PaymentResult] = []
    for event in history.events:
        if event.HasField("workflow_execution_signaled_event_attributes"):
            attrs = event.workflow_execution_signaled_event_attributes
            if attrs.signal_name == PAYMENT_BATCH_SIGNAL:
                [batch] = await rig.client.data_converter.decode(
                    list(attrs.input.payloads), [list[PaymentResult]]
                )
                results += batch
    return results


async def test_a_409_for_a_transfer_in_flight_never_fails_the_group(rig: Rig) -> None:
    await fund(rig.pool)
    # The first POST is committed and its answer hangs past the worker's 1 s timeout; the same key
    # sent again at once finds the transfer still pending (8 s) and is answered 409.
    rig.bank.faults(
        timeout_after_commit_rate=1.0,
        hang_s=3.0,
        conflict_in_flight_rate=1.0,
        long_pending_rate=1.0,
        long_pending_s=8.0,
    )
    async with worker_on(rig, bank_timeout_s=1.0):
        gid = await _approved(rig, proposal(Program.TKM, size=10, amount=AMOUNT, account_no=ACCOUNT))

        async def answered_409() -> bool:
            return bool(rig.bank.ledger()["faults_injected"]["conflict_in_flight"] >= 1)

        await eventually(answered_409, within=10)

        async def waiting_on_the_bank() -> dict[str, Any] | None:
            g = await _group(rig, gid)
            return g if (g.get("open_task") or {}).get("kind") == "await_bank" else None

        # Running, waiting visibly (the bank's task in the read model), nothing paid yet.
        waiting = await eventually(waiting_on_the_bank, within=10)
        assert waiting["stage"] == "disbursement" and await _running(rig, gid)
        at_the_bank = rig.bank.transfer(f"{gid}-A1-00")
        assert at_the_bank is not None and at_the_bank["status"] == "pending"
        assert _paid_to_the_account(rig) == []

        group = await _in_mentoring(rig, gid)
        assert await _running(rig, gid)
        assert [(p["transfer_id"], p["status"]) for p in group["payments"]] == [(f"{gid}-A1-00", "paid")]
    lines = _paid_to_the_account(rig)
    assert [(line["transfer_id"], line["amount"]) for line in lines] == [(f"{gid}-A1-00", AMOUNT)]
    assert rig.bank.ledger()["transfers"] == 1  # no replacement transfer was ever instructed


async def test_a_failed_callback_for_a_transfer_the_bank_pays_pays_once(rig: Rig) -> None:
    await fund(rig.pool)
    # Every new transfer that will be paid first gets a signed "failed, not permanent" callback,
    # while the bank keeps it pending (4 s); then it is paid, with its true callback.
    rig.bank.faults(false_failure_callback_rate=1.0, long_pending_rate=1.0, long_pending_s=4.0)
    async with worker_on(rig):
        gid = await _approved(rig, proposal(Program.TKM, size=10, amount=AMOUNT, account_no=ACCOUNT))
        tid = f"{gid}-A1-00"

        async def heard_failed() -> bool:
            return any(r.transfer_id == tid and r.status == "failed" for r in await _signalled(rig, gid))

        # The false callback went through the API's callback route to the workflow.
        await eventually(heard_failed, within=10)
        group = await _in_mentoring(rig, gid)
        assert await _running(rig, gid)
        assert [(p["transfer_id"], p["status"]) for p in group["payments"]] == [(tid, "paid")]
    assert rig.bank.ledger()["faults_injected"]["false_failure_callback"] == 1
    lines = _paid_to_the_account(rig)
    assert [(line["transfer_id"], line["amount"]) for line in lines] == [(tid, AMOUNT)]
    assert rig.bank.ledger()["transfers"] == 1  # the "failed" was asked about, never replaced
    retries = await rig.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE group_id = $1 AND event = 'payment_retry'", gid
    )
    assert retries == 0
