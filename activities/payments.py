"""Bank payments: send a batch of transfers and ask their status, recording each in PostgreSQL.

Every transfer row is written before the bank is called, keyed by its transfer id and idempotency
key (the same on every retry and after a worker restart), so a crash between the two leaves a
pending row that the retry completes, and the bank's idempotency turns a repeated instruction into
the same transfer. The bank's answers go back to the workflow, which alone changes a payment's
status in the read model.

`send_transfers` and `transfer_statuses` answer one `TransferStatus` per transfer and never fail a
batch for one transfer's trouble: the freeze is checked before every POST, and a refused or
ambiguous instruction is decided by the bank's own status (`activities/transfers.py`). They replace
`instruct_payments` and `poll_payments`, which stay registered, unchanged, for the groups and
recorded histories that call them.

A batch is many independent transfers (a Padat Karya wage bill is one per worker), so one
transfer's passing fault must not fail the whole batch. `send_transfers` instructs them in one
request (`POST /transfers/batch`, every transfer with its own key; one request per transfer to a
bank without it), tried again a few times at once with the same keys, and the bank answers each
transfer on its own; a transfer that still gets no answer is left to the workflow's status
requests, which send it again with its original key when the bank never received it. Only when the
bank answers none of them does a send fail, so that Temporal's retry backs off. An attempt also
stops waiting at four fifths of its start-to-close timeout and leaves what is still unanswered to
the next request (`activities/bank_calls.py`). Every activity here heartbeats, so a killed worker's
batch is retried within the heartbeat timeout, not the whole start-to-close timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import asyncpg
import structlog
from temporalio import activity

from activities.bank_calls import CONCURRENCY, in_time, patiently, retrying
from activities.bank_client import (
    LOOKUP_CHUNK,
    BankClient,
    BankRejectedError,
    BankTransientError,
    IdempotencyConflictError,
    TransferResponse,
)
from activities.transfers import TransferDesk, coded
from jps.contracts.activities import (
    PaymentBatch,
    PaymentResult,
    SendResult,
    StatusRequest,
    TransferSpec,
    TransferStatus,
)

log = structlog.get_logger()

_CONCURRENCY = CONCURRENCY  # the worker-crash test sizes its batch by it


def _final(resp: TransferResponse) -> PaymentResult | None:
    if resp.status == "pending":
        return None
    reason = coded(resp.transfer_id, resp.reason)
    return PaymentResult(
        transfer_id=resp.transfer_id, status=resp.status, reason=reason, permanent=resp.permanent
    )


def _refused(transfer_id: str, err: BankRejectedError) -> PaymentResult:
    # The bank refuses this instruction itself (e.g. a malformed account): the transfer failed for
    # good; an officer fixes the details.
    return PaymentResult(
        transfer_id=transfer_id, status="failed", reason=coded(transfer_id, err.message), permanent=True
    )


async def _ask_all(
    calls: list[Callable[[], Awaitable[PaymentResult | None]]],
) -> tuple[list[PaymentResult], int]:
    """Each call, a few at once, each tried patiently, heartbeating meanwhile. Returns the final
    answers and how many calls got none (a passing fault after every try, or still waiting when
    the attempt's time ran out: those are cancelled, which to the bank is a lost answer).
    Anything else a call raises (a refused key) propagates."""

    async def answered(
        call: Callable[[], Awaitable[PaymentResult | None]],
    ) -> tuple[bool, PaymentResult | None]:
        try:
            return True, await patiently(call)
        except BankTransientError:
            return False, None

    outcomes = await in_time([partial(answered, call) for call in calls])
    unanswered = sum(o is None or not o[0] for o in outcomes)
    return [o[1] for o in outcomes if o is not None and o[1] is not None], unanswered


class PaymentActivities:
    def __init__(self, pool: asyncpg.Pool, bank: BankClient) -> None:
        self.pool = pool
        self.bank = bank

    @activity.defn(name="send_transfers")
    async def send_transfers(self, batch: PaymentBatch) -> SendResult:
        """Record and send every transfer of the batch; one status each, in the batch's order (see
        `activities/transfers.py` for what each status means and when the bank's GET decides).
        Raises (retryable) only when the bank answered none of the transfers it was sent."""
        bound = log.bind(group_id=batch.group_id, workflow_id=batch.group_id, batch_id=batch.batch_id)
        await self._record(batch)
        desk = TransferDesk(
            self.pool, self.bank, program=batch.program, region_code=batch.region_code, retrying=retrying()
        )
        # One call, so that a batch still unanswered when the attempt's time runs out is cancelled
        # (its transfers not yet answered then unanswered) and the attempt heartbeats meanwhile.
        await in_time([partial(desk.send_all, batch.transfers)])
        outcomes = [desk.decided.get(t.transfer_id) for t in batch.transfers]
        tried = [o for o in outcomes if o is None or o.tried]
        if tried and not any(o is not None and o.answered for o in tried):
            raise BankTransientError(
                f"the bank answered none of the {len(tried)} transfers of {batch.batch_id}"
            )
        statuses = [
            o.status if o is not None else TransferStatus(transfer_id=t.transfer_id, status="unknown")
            for t, o in zip(batch.transfers, outcomes, strict=True)
        ]
        counts = {s: sum(x.status == s for x in statuses) for s in {x.status for x in statuses}}
        bound.info("transfers_sent", transfers=len(statuses), **counts)
        return SendResult(statuses=statuses, frozen_reason=desk.frozen_reason)

    @activity.defn(name="transfer_statuses")
    async def transfer_statuses(self, req: StatusRequest) -> list[TransferStatus]:
        """The bank's status of each transfer asked, in order; one the bank never received is sent
        again with its original key (`held` while disbursement is frozen). A transfer the bank does
        not answer about now is `unknown`: the workflow asks again later."""
        desk = TransferDesk(
            self.pool, self.bank, program=req.program, region_code=req.region_code, retrying=retrying()
        )
        ids = req.transfer_ids
        chunks = [ids[i : i + LOOKUP_CHUNK] for i in range(0, len(ids), LOOKUP_CHUNK)]
        looked = await in_time([partial(desk.look_up, chunk) for chunk in chunks])  # a request each
        decided: dict[str, TransferStatus] = {}
        never_received: list[str] = []
        for chunk, answers in zip(chunks, looked, strict=True):
            if answers is None:  # the attempt's time ran out: unknown, asked again later
                continue
            for tid in chunk:
                found = answers[tid]
                if found is None:
                    never_received.append(tid)
                else:
                    decided[tid] = found
        again = await in_time([partial(desk.send_again, req.group_id, tid) for tid in never_received])
        decided |= {tid: s for tid, s in zip(never_received, again, strict=True) if s is not None}
        statuses = [decided.get(tid) or TransferStatus(transfer_id=tid, status="unknown") for tid in ids]
        counts = {s: sum(x.status == s for x in statuses) for s in {x.status for x in statuses}}
        log.info("transfer_statuses_asked", group_id=req.group_id, asked=len(statuses), **counts)
        return statuses

    @activity.defn(name="instruct_payments")
    async def instruct_payments(self, batch: PaymentBatch) -> list[PaymentResult]:
        """Record and instruct every transfer; returns the ones the bank already settled. (Groups
        started before send_transfers; a 409 fails the attempt for good, issue 10 scenario 1.)"""
        bound = log.bind(group_id=batch.group_id, workflow_id=batch.group_id, batch_id=batch.batch_id)
        await self._record(batch)
        final, unanswered = await _ask_all([partial(self._instruct_one, t) for t in batch.transfers])
        if unanswered and unanswered == len(batch.transfers):
            raise BankTransientError(
                f"the bank answered none of the {unanswered} transfers of {batch.batch_id}"
            )
        if unanswered:
            # The bank may or may not have them: the status poll finds out, and instructs them again
            # with the same keys if they never arrived.
            bound.warning("transfers_left_to_poll", transfers=unanswered)
        bound.info("payments_instructed", transfers=len(batch.transfers), settled_now=len(final))
        return final

    @activity.defn(name="poll_payments")
    async def poll_payments(self, transfer_ids: list[str]) -> list[PaymentResult]:
        """Ask the bank for transfers whose callback has not come. One the bank never received is
        instructed again with its original key. Transfers the bank does not answer now are asked
        again at the next poll."""
        out, unanswered = await _ask_all([partial(self._status, tid) for tid in transfer_ids])
        if transfer_ids and unanswered == len(transfer_ids):
            raise BankTransientError(f"the bank answered none of {len(transfer_ids)} status requests")
        log.info("payments_polled", asked=len(transfer_ids), settled=len(out), unanswered=unanswered)
        return out

    async def _record(self, batch: PaymentBatch) -> None:
        """Every transfer's row, before the bank hears of it (a retry finds them written)."""
        await self.pool.executemany(
            """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                     bank_code, account_no, amount, status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') ON CONFLICT (transfer_id) DO NOTHING""",
            [
                (
                    t.transfer_id,
                    t.key,
                    batch.group_id,
                    batch.batch_id,
                    batch.attempt,
                    t.beneficiary,
                    t.bank_code,
                    t.account_no,
                    t.amount,
                )
                for t in batch.transfers
            ],
        )

    async def _instruct_one(self, spec: TransferSpec) -> PaymentResult | None:
        try:
            return _final(await self.bank.create_transfer(spec))
        except BankRejectedError as err:
            return _refused(spec.transfer_id, err)

    async def _status(self, tid: str) -> PaymentResult | None:
        try:
            resp = await self.bank.get_transfer(tid)
        except (BankRejectedError, IdempotencyConflictError) as err:
            # A status request the bank refuses says nothing about the money: ask again next poll
            # rather than fail the group's workflow.
            log.warning("bank_status_refused", transfer_id=tid, error=err.message)
            return None
        if resp is None:
            row = await self.pool.fetchrow("SELECT * FROM payments WHERE transfer_id = $1", tid)
            if row is None:
                return None
            spec = TransferSpec(
                transfer_id=tid,
                batch_id=row["batch_id"],
                beneficiary=row["beneficiary"],
                bank_code=row["bank_code"],
                account_no=row["account_no"],
                amount=row["amount"],
                idempotency_key=row["idempotency_key"],
            )
            try:
                resp = await self.bank.create_transfer(spec)
            except BankRejectedError as err:
                return _refused(tid, err)
        return _final(resp)
