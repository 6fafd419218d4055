"""A batch's bank callbacks reach the group's workflow as one signal (issue 15: a Padat Karya wage
batch of twenty workers was twenty signals and about ten workflow tasks in the group's history, every
week). Over HTTP, signed, into a stand-in workflow running under the group's id: the callbacks of a
batch of three, sent together, with a duplicate, make one signal carrying the three answers, sent when
the last is in; a batch whose other transfers are settled already is signalled at once, one settled
whole (by the workflow's own poll) not at all."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from jps.contracts.activities import PaymentResult
from jps.contracts.names import PAYMENT_BATCH_SIGNAL
from jps.signing import signed_headers
from tests.api.conftest import Stack

GROUP = "PK-3171-CALLBACKS01"


@workflow.defn(name="PaymentBatchStandIn")
class PaymentBatchStandIn:
    """Keeps every batch signal it receives until told to stop."""

    def __init__(self) -> None:
        self.batches: list[list[PaymentResult]] = []

    @workflow.run
    async def run(self, wanted: int) -> list[list[PaymentResult]]:
        await workflow.wait_condition(lambda: len(self.batches) >= wanted)
        return self.batches

    @workflow.signal(name=PAYMENT_BATCH_SIGNAL)
    def payment_results(self, results: list[PaymentResult]) -> None:
        self.batches.append(results)


async def _payments(stack: Stack, batch: str, n: int, status: str = "pending", first: int = 0) -> list[str]:
    ids = [f"{batch}-{i:02d}" for i in range(first, first + n)]
    for tid in ids:
        await stack.pool.execute(
            """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt,
                                     beneficiary, bank_code, account_no, amount, status)
               VALUES ($1, $1, $2, $3, 1, 'Pekerja', '002', '5500000001', 500000, $4)""",
            tid,
            GROUP,
            batch,
            status,
        )
    return ids


async def _callback(stack: Stack, http: httpx.AsyncClient, tid: str, status: str = "paid") -> Any:
    body = json.dumps({"transfer_id": tid, "status": status, "reason": ""}).encode()
    headers = {"Content-Type": "application/json", **signed_headers(body, stack.settings.bank_hmac_secret)}
    resp = await http.post("/payments/callback", content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] is True
    return resp.json()


async def _signals(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)


async def test_a_batchs_callbacks_are_one_signal_sent_when_the_last_is_in(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    first = await _payments(stack, f"{GROUP}-W1", 3)
    settled = await _payments(stack, f"{GROUP}-W2", 1, status="paid")  # the workflow polled it
    settled += await _payments(stack, f"{GROUP}-W2", 1, first=1)
    done = await _payments(stack, f"{GROUP}-W3", 2, status="paid")  # the whole batch settled
    late = await _payments(stack, f"{GROUP}-W3R", 1)
    queue = f"stand-in-{uuid.uuid4().hex[:8]}"
    async with Worker(
        stack.client,
        task_queue=queue,
        workflows=[PaymentBatchStandIn],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await stack.client.start_workflow(PaymentBatchStandIn.run, 3, id=GROUP, task_queue=queue)

        await _callback(stack, http, first[0])
        await _callback(stack, http, first[0])  # a duplicate: still one answered of three
        assert await _signals(handle) == 0

        # The other two at once: the batch's lock lets exactly one of them see the batch whole.
        await asyncio.gather(_callback(stack, http, first[1], "failed"), _callback(stack, http, first[2]))
        # A batch whose other transfers the workflow settled already is signalled with its one callback;
        # one the workflow settled whole is not signalled at all.
        await _callback(stack, http, settled[1])
        await _callback(stack, http, done[0])
        await _callback(stack, http, done[1])
        await _callback(stack, http, late[0])
        batches = await handle.result()

    assert await _signals(handle) == 3
    by_batch = {frozenset(r.transfer_id for r in batch): batch for batch in batches}
    assert set(by_batch) == {frozenset(first), frozenset(settled[1:]), frozenset(late)}
    statuses = {r.transfer_id: r.status for r in by_batch[frozenset(first)]}
    assert statuses == {first[0]: "paid", first[1]: "failed", first[2]: "paid"}
    kept = await stack.pool.fetchval(
        "SELECT count(*) FROM payment_callbacks WHERE transfer_id LIKE $1", f"{GROUP}-%"
    )
    assert kept == 7
