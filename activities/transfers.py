"""Each transfer as the payment promises need it (issue 10): what `send_transfers` and
`transfer_statuses` do for each transfer.

- The freeze (the ledger's `disbursement_freezes`, for the group's programme and region) is checked
  before every POST to the bank (once per try of a whole batch, `send_all`). A transfer the bank
  has not received is not sent while frozen: it is `held`.
- A POST answered 2xx is the bank's word on that key (a replay with the same key answers the very
  same transfer), so its status counts as it is; so is a batch's answer about each of its transfers.
- `send_all` sends a group's transfers in one request (`POST /transfers/batch`, each with its own
  key), tried again whole, with the same keys and bodies, after a passing fault; an answer it never
  got leaves every transfer of the batch ambiguous, exactly as for one transfer. A bank that refuses
  the batch request itself (no such endpoint) is sent one transfer a request instead (`send`).
- Once a try was ambiguous (a timeout, a lost connection, a 5xx, or an earlier activity attempt that
  may have reached the bank), and whenever the bank answers a 4xx or a 409, only the bank's own
  status decides: `GET /transfers/{id}`. Paid, failed and pending count as the bank says. When the
  bank has no such transfer: `absent` after a 409 or an ambiguity (nothing arrived; the same key may
  be sent again), `failed` and permanent after a clean 4xx (the bank refuses the instruction itself:
  an officer fixes the details). A status request the bank does not answer leaves it `unknown`.
- Nothing here raises for one transfer's trouble: every transfer gets a status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

import asyncpg
import structlog

from activities.bank_calls import PAUSES_S, in_time, patiently
from activities.bank_client import (
    BATCH_CHUNK,
    BankClient,
    BankError,
    BankRejectedError,
    BankTransientError,
    BatchItem,
    IdempotencyConflictError,
    TransferResponse,
)
from activities.ledger import active_freeze
from jps.contracts.activities import TransferSpec, TransferStatus, bank_reason

log = structlog.get_logger()


@dataclass(frozen=True)
class Outcome:
    status: TransferStatus
    tried: bool  # a POST of it was attempted (a held transfer was not)
    answered: bool  # the bank answered something about it (a refusal counts)


A = TypeVar("A")


@dataclass(frozen=True)
class Tried(Generic[A]):
    """How an instruction request ended (`TransferDesk._tries`): the bank's answer, its refusal of the
    request, or every transfer's outcome already (held, or unanswered after the last try)."""

    ambiguous: bool  # a try may have reached the bank unanswered
    answer: A | None = None
    refusal: BankError | None = None
    settled: list[Outcome] | None = None


def coded(transfer_id: str, raw: str) -> str:
    """The bank's text becomes a reason code here, where it enters; the text itself, the log's only."""
    code = bank_reason(raw)
    if raw and raw != code:
        log.info("bank_reason", transfer_id=transfer_id, reason=code, bank_text=raw[:500])
    return code


def from_bank(transfer_id: str, resp: TransferResponse) -> TransferStatus:
    return TransferStatus(
        transfer_id=transfer_id,
        status=resp.status,
        reason=coded(transfer_id, resp.reason),
        permanent=resp.status == "failed" and resp.permanent,
    )


def unknown(transfer_id: str, why: str) -> TransferStatus:
    return TransferStatus(transfer_id=transfer_id, status="unknown", reason=coded(transfer_id, why))


class TransferDesk:
    """One activity attempt's dealings with the bank for one group: `retrying` when an earlier
    attempt may already have sent the transfers."""

    def __init__(
        self, pool: asyncpg.Pool, bank: BankClient, *, program: str, region_code: str, retrying: bool
    ) -> None:
        self.pool = pool
        self.bank = bank
        self.program = program
        self.region_code = region_code
        self.retrying = retrying
        self.frozen_reason = ""  # the freeze that held a transfer, if any did
        self.batches_refused = False  # the bank refused a batch request itself: one a request since
        # Each transfer's outcome as soon as it is known: kept when the attempt's time runs out in the
        # middle of a batch (its other transfers still unanswered), so no answer is thrown away.
        self.decided: dict[str, Outcome] = {}

    async def send_all(self, specs: Sequence[TransferSpec]) -> None:
        """Instruct every transfer, in order, a request per `BATCH_CHUNK` of them (`send_batch`); one
        a request (`send`) once the bank refused a batch request itself. Each outcome goes to
        `decided` as the bank gives it."""
        for i in range(0, len(specs), BATCH_CHUNK):
            chunk = specs[i : i + BATCH_CHUNK]
            if self.batches_refused:
                await self.send_each(chunk, ambiguous=False)
            else:
                await self.send_batch(chunk)

    async def send_batch(self, specs: Sequence[TransferSpec]) -> None:
        """Instruct up to `BATCH_CHUNK` transfers in one request, tried as `send` tries one (`_tries`),
        each transfer's answer taken as `send` takes its own."""
        ids = [t.transfer_id for t in specs]
        tried = await self._tries(ids, lambda: self.bank.create_transfers(specs))
        if tried.settled is not None:
            return
        if tried.refusal is not None:
            # The request itself, not a transfer (a bank without batches answers 404): it says
            # nothing about any transfer, so each goes on its own, with its key, as before batches.
            self.batches_refused = True
            err = tried.refusal
            log.warning("bank_batch_refused", transfers=len(specs), status=err.status_code, error=err.message)
            await self.send_each(specs, ambiguous=tried.ambiguous)
            return
        items = tried.answer or []
        await asyncio.gather(
            *(
                self._answered(t, item, ambiguous=tried.ambiguous)
                for t, item in zip(specs, items, strict=True)
            )
        )

    async def send_each(self, specs: Sequence[TransferSpec], *, ambiguous: bool) -> None:
        """One request per transfer (`send`), a few at once. A transfer still being sent when the
        attempt's time ran out is cancelled: never `decided`, so unanswered."""
        await in_time([partial(self.send, t, ambiguous=ambiguous) for t in specs])

    def _decide(self, outcome: Outcome) -> Outcome:
        self.decided[outcome.status.transfer_id] = outcome
        return outcome

    async def _answered(self, spec: TransferSpec, item: BatchItem, *, ambiguous: bool) -> Outcome:
        """The bank's answer about one transfer, to its own POST or as its part of a batch's: the
        transfer as the bank has it, or a refusal the bank's own status then decides."""
        tid = spec.transfer_id
        if isinstance(item, TransferResponse):
            return self._decide(Outcome(from_bank(tid, item), tried=True, answered=True))
        if isinstance(item, BankTransientError):
            # As a passing fault on `send`'s last try: the bank may have it; its status decides later.
            log.warning("transfer_unanswered", transfer_id=tid, error=item.message)
            return self._decide(Outcome(unknown(tid, item.message), tried=True, answered=False))
        log.warning("transfer_refused", transfer_id=tid, error=item.message, ambiguous=ambiguous)
        decided = await self.bank_status(tid, refusal=item, ambiguous=ambiguous)
        return self._decide(Outcome(decided, tried=True, answered=True))

    async def send(self, spec: TransferSpec, *, ambiguous: bool = False) -> Outcome:
        """Instruct one transfer (`_tries`). `ambiguous`: an earlier try of this attempt may have
        reached the bank (as `retrying` says of an earlier attempt)."""
        tid = spec.transfer_id
        tried = await self._tries([tid], lambda: self.bank.create_transfer(spec), ambiguous=ambiguous)
        if tried.settled is not None:
            return tried.settled[0]
        item = tried.refusal if tried.refusal is not None else tried.answer
        assert item is not None
        return await self._answered(spec, item, ambiguous=tried.ambiguous)

    async def _tries(
        self, ids: list[str], request: Callable[[], Awaitable[A]], *, ambiguous: bool = False
    ) -> Tried[A]:
        """`request` instructs the transfers `ids`: the freeze checked before every try (each held
        when frozen); a passing fault tried again after each of `PAUSES_S`, the same keys and bodies,
        ambiguous from then on (so is every try when `retrying`); each unanswered after the last try.
        A refusal of the request is handed back, with whether it came after an ambiguous try."""
        ambiguous = ambiguous or self.retrying
        tried = False
        for pause in (*PAUSES_S, None):
            freeze = await active_freeze(self.pool, self.program, self.region_code)
            if freeze.frozen:
                self.frozen_reason = freeze.reason or "disbursement frozen"
                held = await asyncio.gather(
                    *(self._held(tid, ambiguous=ambiguous, tried=tried) for tid in ids)
                )
                return Tried(ambiguous=ambiguous, settled=[self._decide(o) for o in held])
            tried = True
            try:
                return Tried(ambiguous=ambiguous, answer=await request())
            except BankTransientError as err:
                ambiguous = True
                if pause is None:
                    log.warning(
                        "transfers_unanswered", transfer_ids=ids[:3], transfers=len(ids), error=err.message
                    )
                    lost = [Outcome(unknown(tid, err.message), tried=True, answered=False) for tid in ids]
                    return Tried(ambiguous=True, settled=[self._decide(o) for o in lost])
                await asyncio.sleep(pause)
            except (BankRejectedError, IdempotencyConflictError) as err:
                return Tried(ambiguous=ambiguous, refusal=err)
        raise AssertionError("unreachable: the last try returns")

    async def look_up(self, transfer_ids: list[str]) -> dict[str, TransferStatus | None]:
        """The bank's status of each transfer in one request (`get_transfers`; the caller hands it
        `LOOKUP_CHUNK` ids at most). None for a transfer the bank never received (`send_again`
        decides it). A bank that refuses the many-at-once lookup (no such endpoint, a lower limit)
        is asked one transfer a request instead."""
        try:
            found = await patiently(lambda: self.bank.get_transfers(transfer_ids))
        except BankTransientError as err:
            return {tid: unknown(tid, err.message) for tid in transfer_ids}
        except (BankRejectedError, IdempotencyConflictError) as err:
            log.warning("bank_lookup_refused", transfers=len(transfer_ids), error=err.message)
            answers = await asyncio.gather(*(self._look_up_one(tid) for tid in transfer_ids))
            return dict(zip(transfer_ids, answers, strict=True))
        out: dict[str, TransferStatus | None] = {}
        for tid in transfer_ids:
            resp = found[tid]
            out[tid] = None if resp is None else from_bank(tid, resp)
        return out

    async def _look_up_one(self, transfer_id: str) -> TransferStatus | None:
        try:
            resp = await patiently(lambda: self.bank.get_transfer(transfer_id))
        except BankTransientError as err:
            return unknown(transfer_id, err.message)
        except (BankRejectedError, IdempotencyConflictError) as err:
            # A status request the bank refuses says nothing about the money.
            log.warning("bank_status_refused", transfer_id=transfer_id, error=err.message)
            return unknown(transfer_id, err.message)
        return None if resp is None else from_bank(transfer_id, resp)

    async def send_again(self, group_id: str, transfer_id: str) -> TransferStatus:
        """A transfer the bank never received, sent again with its original key and spec from our
        payments row (the freeze checked first)."""
        row = await self.pool.fetchrow(
            "SELECT * FROM payments WHERE transfer_id = $1 AND group_id = $2", transfer_id, group_id
        )
        if row is None:
            return TransferStatus(
                transfer_id=transfer_id, status="absent", reason="no payment of this group to send again"
            )
        spec = TransferSpec(
            transfer_id=transfer_id,
            batch_id=row["batch_id"],
            beneficiary=row["beneficiary"],
            bank_code=row["bank_code"],
            account_no=row["account_no"],
            amount=row["amount"],
            idempotency_key=row["idempotency_key"],
        )
        log.info("transfer_sent_again", group_id=group_id, transfer_id=transfer_id)
        return (await self.send(spec)).status

    async def bank_status(
        self, transfer_id: str, *, refusal: BankError | None, ambiguous: bool
    ) -> TransferStatus:
        """The bank's own status decides a transfer whose POST was refused or ambiguous."""
        try:
            resp = await patiently(lambda: self.bank.get_transfer(transfer_id))
        except BankTransientError as err:
            return unknown(transfer_id, f"the bank's status did not answer: {err.message}")
        except (BankRejectedError, IdempotencyConflictError) as err:
            return unknown(transfer_id, f"the bank refused the status request: {err.message}")
        if resp is not None:
            return from_bank(transfer_id, resp)
        why = coded(transfer_id, refusal.message) if refusal is not None else "the bank has no such transfer"
        if ambiguous or refusal is None or isinstance(refusal, IdempotencyConflictError):
            return TransferStatus(transfer_id=transfer_id, status="absent", reason=why)
        # A clean refusal of an instruction the bank does not have: the account or the instruction is
        # bad, for good, until an officer fixes the details.
        return TransferStatus(transfer_id=transfer_id, status="failed", reason=why, permanent=True)

    async def _held(self, transfer_id: str, *, ambiguous: bool, tried: bool) -> Outcome:
        """Frozen before this try: not sent. If an earlier try may have reached the bank, the bank's
        status says whether it did; only a transfer the bank does not have is held."""
        held = TransferStatus(transfer_id=transfer_id, status="held", reason=self.frozen_reason)
        if not ambiguous:
            return Outcome(held, tried=tried, answered=False)
        status = await self.bank_status(transfer_id, refusal=None, ambiguous=True)
        if status.status == "absent":
            return Outcome(held, tried=tried, answered=True)
        return Outcome(status, tried=tried, answered=status.status != "unknown")
