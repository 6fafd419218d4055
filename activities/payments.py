"""Bank payments: instruct a batch of transfers and poll their status, recording each in PostgreSQL.

Every transfer row is written before the bank is called, keyed by its transfer id and idempotency
key (the same on every retry and after a worker restart), so a crash between the two leaves a
pending row that the retry completes, and the bank's idempotency turns a repeated instruction into
the same transfer. The bank's final answers go back to the workflow, which alone changes a
payment's status in the read model.

A batch is many independent transfers (a Padat Karya wage bill is one per worker), so one
transfer's passing fault must not fail the whole batch: each call is retried a few times at once
with the same key, and a transfer that still gets no answer is left to the workflow's status poll,
which instructs it again with its original key when the bank never received it. Only when the bank
answers none of them does the activity fail, so that Temporal's retry backs off. An attempt also
stops waiting at four fifths of its start-to-close timeout and leaves what is still unanswered to the
poll, so a hanging bank cannot make every attempt time out as a whole. Both activities heartbeat, so
a killed worker's batch is retried within the heartbeat timeout, not the whole start-to-close timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import asyncpg
import structlog
from temporalio import activity

from activities.bank_client import (
    BankClient,
    BankRejectedError,
    BankTransientError,
    IdempotencyConflictError,
    TransferResponse,
)
from jps.contracts.activities import PaymentBatch, PaymentResult, TransferSpec

log = structlog.get_logger()

_CONCURRENCY = 8  # transfers of one batch in flight at once
_PAUSES_S = (0.2, 0.5)  # between the tries of one call in one activity attempt (3 tries)
HEARTBEAT_EVERY_S = 1.0

T = TypeVar("T")


def _final(resp: TransferResponse) -> PaymentResult | None:
    if resp.status == "pending":
        return None
    return PaymentResult(
        transfer_id=resp.transfer_id, status=resp.status, reason=resp.reason, permanent=resp.permanent
    )


def _refused(transfer_id: str, err: BankRejectedError) -> PaymentResult:
    # The bank refuses this instruction itself (e.g. a malformed account): the transfer failed for
    # good; an officer fixes the details.
    return PaymentResult(transfer_id=transfer_id, status="failed", reason=err.message)


async def _patiently(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, tried again after a passing fault (same request, so the same idempotency key)."""
    for pause in _PAUSES_S:
        try:
            return await call()
        except BankTransientError:
            await asyncio.sleep(pause)
    return await call()


@asynccontextmanager
async def _heartbeating(progress: Callable[[], int]) -> AsyncIterator[None]:
    """Heartbeat every second while the body runs (a slow bank call must not look like a dead worker)."""
    if not activity.in_activity():
        yield
        return

    async def beat() -> None:
        while True:
            activity.heartbeat(progress())
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


def _time_left() -> float | None:
    """Seconds this activity attempt may still spend on the bank, keeping a fifth of its
    start-to-close timeout to answer; None outside an activity or without a timeout."""
    if not activity.in_activity():
        return None
    info = activity.info()
    if info.start_to_close_timeout is None:
        return None
    elapsed = (datetime.now(UTC) - info.started_time).total_seconds()
    return max(0.0, 0.8 * info.start_to_close_timeout.total_seconds() - elapsed)


async def _ask_all(
    calls: list[Callable[[], Awaitable[PaymentResult | None]]],
) -> tuple[list[PaymentResult], int]:
    """Each call, a few at once, each tried patiently, heartbeating meanwhile. Returns the final
    answers and how many calls got none (a passing fault after every try, or still waiting when
    the attempt's time ran out: those are cancelled, which to the bank is a lost answer).
    Anything else a call raises (a refused key) propagates."""
    if not calls:
        return [], 0
    gate = asyncio.Semaphore(_CONCURRENCY)
    done = 0

    async def one(call: Callable[[], Awaitable[PaymentResult | None]]) -> tuple[bool, PaymentResult | None]:
        """(answered, the final answer if the transfer is settled)."""
        nonlocal done
        async with gate:
            try:
                return True, await _patiently(call)
            except BankTransientError:
                return False, None
            finally:
                done += 1

    tasks = [asyncio.ensure_future(one(call)) for call in calls]
    async with _heartbeating(lambda: done):
        _, late = await asyncio.wait(tasks, timeout=_time_left())
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    answers = [task.result() for task in tasks if task not in late]
    unanswered = len(late) + sum(not answered for answered, _ in answers)
    return [result for _, result in answers if result is not None], unanswered


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
