"""Bank payments: instruct a batch of transfers and poll their status, recording each in PostgreSQL.

Every transfer row is written before the bank is called, keyed by its transfer id and idempotency
key (the same on every retry and after a worker restart), so a crash between the two leaves a
pending row that the retry completes, and the bank's idempotency turns a repeated instruction into
the same transfer. The bank's final answers go back to the workflow, which alone changes a
payment's status in the read model.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from temporalio import activity

from activities.bank_client import BankClient, BankRejectedError, TransferResponse, TransferSpec
from activities.contracts import PaymentBatch
from jps.domain.models import PaymentResult

log = structlog.get_logger()

_CONCURRENCY = 8  # transfers of one batch in flight at once


def _final(resp: TransferResponse) -> PaymentResult | None:
    if resp.status == "pending":
        return None
    return PaymentResult(transfer_id=resp.transfer_id, status=resp.status, reason=resp.reason,
                         permanent=resp.permanent)  # fmt: skip


class PaymentActivities:
    def __init__(self, pool: asyncpg.Pool, bank: BankClient) -> None:
        self.pool = pool
        self.bank = bank

    @activity.defn(name="instruct_payments")
    async def instruct_payments(self, batch: PaymentBatch) -> list[PaymentResult]:
        """Record and instruct every transfer; returns the ones the bank already settled."""
        bound = log.bind(group_id=batch.group_id, workflow_id=batch.group_id, batch_id=batch.batch_id)
        await self.pool.executemany(
            """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                     bank_code, account_no, amount, status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') ON CONFLICT (transfer_id) DO NOTHING""",
            [(t.transfer_id, t.key, batch.group_id, batch.batch_id, batch.attempt, t.beneficiary,
              t.bank_code, t.account_no, t.amount) for t in batch.transfers],
        )  # fmt: skip
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def one(spec: TransferSpec) -> PaymentResult | None:
            async with gate:
                try:
                    return _final(await self.bank.create_transfer(spec))
                except BankRejectedError as err:
                    # The bank refuses this instruction itself (e.g. a malformed account): the
                    # transfer failed for good; an officer fixes the details.
                    return PaymentResult(transfer_id=spec.transfer_id, status="failed", reason=err.message)

        results = await asyncio.gather(*(one(t) for t in batch.transfers))
        final = [r for r in results if r is not None]
        bound.info("payments_instructed", transfers=len(batch.transfers), settled_now=len(final))
        return final

    @activity.defn(name="poll_payments")
    async def poll_payments(self, transfer_ids: list[str]) -> list[PaymentResult]:
        """Ask the bank for transfers whose callback has not come. One the bank never received is
        instructed again with its original key."""
        out: list[PaymentResult] = []
        for tid in transfer_ids:
            resp = await self.bank.get_transfer(tid)
            if resp is None:
                row = await self.pool.fetchrow("SELECT * FROM payments WHERE transfer_id = $1", tid)
                if row is None:
                    continue
                resp = await self.bank.create_transfer(
                    TransferSpec(
                        transfer_id=tid,
                        batch_id=row["batch_id"],
                        beneficiary=row["beneficiary"],
                        bank_code=row["bank_code"],
                        account_no=row["account_no"],
                        amount=row["amount"],
                        idempotency_key=row["idempotency_key"],
                    )
                )
            result = _final(resp)
            if result is not None:
                out.append(result)
        log.info("payments_polled", asked=len(transfer_ids), settled=len(out))
        return out
