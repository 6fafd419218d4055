"""The bank activities on their own, against the real simulator and PostgreSQL: a transfer of a batch
that gets no answer does not fail the batch (the poll completes it with its original key, so the bank
has each transfer once); a batch the bank answers not at all fails, for Temporal to retry; and an
attempt stops waiting in time when the bank hangs, rather than time out as a whole.

One transfer at a time is made unreachable with a transport that drops its instruction before it
leaves (everything else goes to the simulator over HTTP): the simulator's faults are random, this
one must hit a chosen transfer."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.bank_client import BankClient, BankTransientError
from activities.payments import PaymentActivities
from jps.contracts.activities import PaymentBatch, TransferSpec
from tests.disbursement.conftest import Rig


class Unreachable(httpx.AsyncBaseTransport):
    """Real HTTP, except that instructions for the transfer ids in `down` never leave."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and json.loads(request.content or b"{}").get("transfer_id") in self.down:
            raise httpx.ConnectError("unreachable (test)", request=request)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


def batch(n: int, group: str = "G-batch") -> PaymentBatch:
    transfers = [
        TransferSpec(
            transfer_id=f"{group}-A1-{i:02d}",
            batch_id=f"{group}-A1",
            beneficiary=f"Pekerja {i}",
            bank_code="002",
            account_no=f"55{i:08d}",
            amount=1_000_000,
        )
        for i in range(n)
    ]
    return PaymentBatch(group_id=group, batch_id=f"{group}-A1", attempt=1, transfers=transfers)


def activity_env(start_to_close: timedelta) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, start_to_close_timeout=start_to_close, started_time=datetime.now(UTC)
    )
    return env


async def test_an_unanswered_transfer_is_left_to_the_poll_not_the_batch(rig: Rig) -> None:
    transport = Unreachable()
    async with BankClient(rig.sims.bank_url, transport=transport) as bank:
        payments = PaymentActivities(rig.pool, bank)
        five = batch(5)
        transport.down = {five.transfers[2].transfer_id}
        settled_now = await activity_env(timedelta(minutes=2)).run(payments.instruct_payments, five)
        assert settled_now == []  # accepted, still pending at the bank
        assert rig.bank.ledger()["transfers"] == 4
        assert await rig.pool.fetchval("SELECT count(*) FROM payments WHERE status = 'pending'") == 5

        transport.down = set()
        for t in five.transfers:
            if t.transfer_id != five.transfers[2].transfer_id:
                rig.bank.wait_settled(t.transfer_id)
        ids = [t.transfer_id for t in five.transfers]
        polled = await activity_env(timedelta(seconds=30)).run(payments.poll_payments, ids)
        # Four answered; the fifth was instructed now, with its original key, and is pending.
        assert sorted(r.transfer_id for r in polled) == sorted(set(ids) - {five.transfers[2].transfer_id})
        rig.bank.wait_settled(five.transfers[2].transfer_id)
        polled = await activity_env(timedelta(seconds=30)).run(
            payments.poll_payments, [five.transfers[2].transfer_id]
        )
        assert [(r.transfer_id, r.status) for r in polled] == [(five.transfers[2].transfer_id, "paid")]
    ledger = rig.bank.ledger()
    assert (ledger["transfers"], ledger["paid"], ledger["total_paid"]) == (5, 5, 5_000_000)

    # A batch the bank answers not at all fails as a whole: Temporal retries it with backoff.
    transport = Unreachable()
    async with BankClient(rig.sims.bank_url, transport=transport) as bank:
        two = batch(2, group="G-down")
        transport.down = {t.transfer_id for t in two.transfers}
        with pytest.raises(BankTransientError, match="answered none"):
            await activity_env(timedelta(minutes=2)).run(
                PaymentActivities(rig.pool, bank).instruct_payments, two
            )
    assert rig.bank.ledger()["transfers"] == 5


async def test_a_hanging_bank_ends_the_attempt_in_time(rig: Rig) -> None:
    """Every answer hangs after the bank committed: the attempt gives up at four fifths of its
    start-to-close timeout (not at its end, which would fail it as a whole), and the transfers the
    bank did record are found by the next poll."""
    rig.bank.faults(timeout_after_commit_rate=1.0, hang_s=30)
    async with BankClient(rig.sims.bank_url, timeout=60) as bank:
        payments = PaymentActivities(rig.pool, bank)
        three = batch(3, group="G-hang")
        started = time.monotonic()
        with pytest.raises(BankTransientError):
            await activity_env(timedelta(seconds=2)).run(payments.instruct_payments, three)
        assert time.monotonic() - started < 2.0
        rig.bank.faults()
        ids = [t.transfer_id for t in three.transfers]
        for tid in ids:
            rig.bank.wait_settled(tid)
        polled = await activity_env(timedelta(seconds=30)).run(payments.poll_payments, ids)
    assert sorted((r.transfer_id, r.status) for r in polled) == [(tid, "paid") for tid in sorted(ids)]
    assert rig.bank.ledger()["transfers"] == 3
