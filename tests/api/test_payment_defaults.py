"""One default for one fact (issue 10, scenario 10): a bank callback that does not say `permanent` and
a status answer that does not say it mean the same, `PERMANENT_WHEN_UNSAID` (a passing failure).

The callback goes over HTTP through the API, signed, and arrives as the group's payment signal,
received by a stand-in workflow running under the group's id. The status answers come over HTTP from
a bank that leaves the field out, read by `transfer_statuses` and by the older `poll_payments`.
Before, the callback route defaulted to permanent and the bank client to passing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.bank_client import BankClient
from activities.payments import PaymentActivities
from jps.contracts.activities import PERMANENT_WHEN_UNSAID, PaymentResult, StatusRequest
from jps.contracts.names import PAYMENT_BATCH_SIGNAL
from jps.signing import signed_headers
from tests.api.conftest import Stack
from tests.sim_fixtures import ThreadedServer

GROUP = "TKM-3171-UNSAIDPERM1"
TRANSFER = f"{GROUP}-A1-00"
UNSAID = {"transfer_id": TRANSFER, "status": "failed", "reason": "beneficiary_bank_unavailable"}


@workflow.defn(name="PaymentSignalStandIn")
class PaymentSignalStandIn:
    """Waits under a group's id for the payment signal of a batch of one and returns it as received."""

    def __init__(self) -> None:
        self.results: list[PaymentResult] = []

    @workflow.run
    async def run(self) -> PaymentResult:
        await workflow.wait_condition(lambda: bool(self.results))
        return self.results[0]

    @workflow.signal(name=PAYMENT_BATCH_SIGNAL)
    def payment_results(self, results: list[PaymentResult]) -> None:
        self.results.extend(results)


@pytest.fixture
def silent_bank() -> Iterator[str]:
    """A bank whose status answers never say `permanent`."""
    app = FastAPI()

    @app.get("/transfers/{transfer_id}")
    async def status(transfer_id: str) -> dict[str, Any]:
        return {**UNSAID, "transfer_id": transfer_id}

    server = ThreadedServer(app, "silent-bank").start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_a_callback_and_a_status_that_do_not_say_permanent_mean_the_same(
    stack: Stack, http: httpx.AsyncClient, silent_bank: str
) -> None:
    await stack.pool.execute(
        """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                 bank_code, account_no, amount, status)
           VALUES ($1, $1, $2, $3, 1, 'Kelompok Diam', '002', '5500000001', 1000000, 'pending')""",
        TRANSFER,
        GROUP,
        f"{GROUP}-A1",
    )
    queue = f"stand-in-{uuid.uuid4().hex[:8]}"
    async with Worker(
        stack.client,
        task_queue=queue,
        workflows=[PaymentSignalStandIn],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await stack.client.start_workflow(PaymentSignalStandIn.run, id=GROUP, task_queue=queue)
        body = json.dumps(UNSAID).encode()
        headers = {
            "Content-Type": "application/json",
            **signed_headers(body, stack.settings.bank_hmac_secret),
        }
        resp = await http.post("/payments/callback", content=body, headers=headers)
        assert resp.status_code == 200 and resp.json()["accepted"] is True
        by_callback = await handle.result()

    async with BankClient(silent_bank) as bank:
        payments = PaymentActivities(stack.pool, bank)
        req = StatusRequest(group_id=GROUP, program="tkm", region_code="3171", transfer_ids=[TRANSFER])
        [by_status] = await payments.transfer_statuses(req)
        [by_poll] = await payments.poll_payments([TRANSFER])

    assert (by_callback.status, by_status.status, by_poll.status) == ("failed", "failed", "failed")
    assert by_callback.permanent == by_status.permanent == by_poll.permanent == PERMANENT_WHEN_UNSAID
