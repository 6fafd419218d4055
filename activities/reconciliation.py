"""Reconciliation (rekonsiliasi): our `payments` ledger against the bank's statement.

The bank's statement lists every transfer it paid. Compared transfer by transfer with our rows,
each disagreement about money is a mismatch for finance to resolve (`reconciliation_mismatches`,
one open row per transfer and kind; `activities.reconciliation_store`):

- `paid_not_recorded`: the bank paid a transfer that our ledger does not count as paid: we have no
  row for it (nobody here instructed it), or our row says `failed` (we may pay it again), or our
  row has been `pending` for longer than the grace period (the workflow should have heard by then).
- `recorded_not_paid`: our ledger counts a transfer as `paid` and the bank does not show it paid;
  or our row has been `pending` for longer than the grace period and the bank has never heard of
  the transfer (the instruction was lost, the budget stays reserved for nothing).
- `amount_differs`: both sides say paid, for different amounts.

A transfer still `pending` on our side within the grace period is in flight, whatever the bank
says about it right now: the bank may still be settling it, its callback may be on the way, or
the workflow is waiting for the rest of its batch (a batch's rows change together). That is not a
mismatch. Nor is a `pending` or `failed` row the bank has not paid: no money moved and we count
none. The default grace is the bank-wait SLA (two days).

How much a run reads (`ReconcileMode`):

- `incremental` (the daily schedule): the statement from where the last completed run's ended (its
  last paid_at), and of our rows those on that part of the statement (however long ago they were
  instructed), those settled on our side since the last run, and those pending past the grace. A
  row of ours that changed but whose payment is on an earlier part of the statement is checked
  with the bank's status of that one transfer (`GET /transfers/{id}`), as is a stale pending row.
- `full` (`--full`, and the first run): all of the statement and all our rows.
- `window` (`--days N`): the statement from then on and our rows instructed since then, plus our
  rows for any transfer on that part of the statement (a transfer is paid after it is instructed,
  so nothing paid in the window is missed). It moves no watermark.

A long run heartbeats its progress (the workflow sets a heartbeat timeout), so a dead worker's run
is retried elsewhere within a minute rather than at the end of its start-to-close timeout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from temporalio import activity

from activities import reconciliation_store as store
from activities.bank_client import BankClient, StatementLine, TransferResponse
from jps.contracts.activities import MISMATCH_KINDS, Mismatch, ReconcileRequest, ReconcileResult

log = structlog.get_logger()


def _ours(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "status": row["status"],
        "amount": row["amount"],
        "instructed_at": row["instructed_at"].isoformat(),
    }


def _bank(line: StatementLine | TransferResponse) -> dict[str, Any]:
    paid_at = line.paid_at.isoformat() if line.paid_at else None
    return {"status": line.status, "amount": line.amount, "paid_at": paid_at}


def _mismatch(kind: str, row: asyncpg.Record, bank: dict[str, Any] | None) -> Mismatch:
    return Mismatch.model_validate(
        {
            "kind": kind,
            "transfer_id": row["transfer_id"],
            "group_id": row["group_id"],
            "ours": _ours(row),
            "bank": bank,
        }
    )


def compare(
    ours: dict[str, asyncpg.Record],
    statement: list[StatementLine],
    *,
    stale_before: datetime,
    ledger_from: datetime | None = None,
) -> tuple[list[Mismatch], list[str]]:
    """The mismatches the statement alone shows, and the transfers it cannot decide, whose status
    must be asked of the bank one by one: stale pending rows not on it, and (`ledger_from` given: an
    incremental run, which reads only part of the statement) rows settled since then not on it."""
    out: list[Mismatch] = []
    on_statement: set[str] = set()
    for line in statement:
        on_statement.add(line.transfer_id)
        row = ours.get(line.transfer_id)
        if row is None:
            out.append(Mismatch(kind="paid_not_recorded", transfer_id=line.transfer_id, bank=_bank(line)))
            continue
        stale = row["status"] == "pending" and row["instructed_at"] < stale_before
        if row["status"] == "failed" or stale:
            out.append(_mismatch("paid_not_recorded", row, _bank(line)))
        elif row["status"] == "paid" and row["amount"] != line.amount:
            out.append(_mismatch("amount_differs", row, _bank(line)))
    ask: list[str] = []
    for tid, row in ours.items():
        if tid in on_statement:
            continue
        stale = row["status"] == "pending" and row["instructed_at"] < stale_before
        settled = row["settled_at"]
        changed = ledger_from is not None and settled is not None and settled >= ledger_from
        if stale or (changed and row["status"] != "pending"):
            ask.append(tid)
        elif row["status"] == "paid" and ledger_from is None:
            out.append(_mismatch("recorded_not_paid", row, None))
    return out, ask


def judge(row: asyncpg.Record, answer: TransferResponse | None, *, stale_before: datetime) -> Mismatch | None:
    """A row of ours against the bank's status of that one transfer (None: never received)."""
    stale = row["status"] == "pending" and row["instructed_at"] < stale_before
    if answer is None:
        if row["status"] == "paid" or stale:
            return _mismatch("recorded_not_paid", row, {"status": "unknown"})
        return None
    if answer.status == "paid":
        if row["status"] == "failed" or stale:
            return _mismatch("paid_not_recorded", row, _bank(answer))
        if row["status"] == "paid" and answer.amount is not None and answer.amount != row["amount"]:
            return _mismatch("amount_differs", row, _bank(answer))
        return None
    if row["status"] == "paid":  # the bank says pending or failed: no money moved for it
        return _mismatch("recorded_not_paid", row, _bank(answer))
    return None


def _heartbeat(**progress: Any) -> None:
    """Progress for Temporal (the run's heartbeat details); nothing when called outside an activity."""
    if activity.in_activity():
        activity.heartbeat(progress)


class ReconciliationActivities:
    def __init__(self, pool: asyncpg.Pool, bank: BankClient) -> None:
        self.pool = pool
        self.bank = bank

    @activity.defn(name="reconcile_payments")
    async def reconcile_payments(self, req: ReconcileRequest) -> ReconcileResult:
        """Compare, record every mismatch (one open row per transfer and kind) and the run, return them."""
        bound = log.bind(run_id=req.run_id)
        started_at = datetime.now(UTC)
        window = await store.plan(self.pool, req)
        _heartbeat(phase="statement", mode=window.mode)
        statement = await self.bank.statement(window.statement_from)
        paid_ats = [line.paid_at for line in statement if line.paid_at is not None]
        statement_until = max(paid_ats, default=window.statement_from)
        stale_before = datetime.now(UTC) - req.pending_grace
        _heartbeat(phase="ours", statement_lines=len(statement))
        ours, read_at = await store.our_rows(
            self.pool, window, [line.transfer_id for line in statement], stale_before
        )
        mismatches, ask = compare(ours, statement, stale_before=stale_before, ledger_from=window.ledger_from)
        for n, tid in enumerate(ask):
            _heartbeat(phase="asking_bank", asked=n, of=len(ask), statement_lines=len(statement))
            found = judge(ours[tid], await self.bank.get_transfer(tid), stale_before=stale_before)
            if found is not None:
                mismatches.append(found)
        _heartbeat(phase="recording", found=len(mismatches))
        recorded, open_total = await store.record(
            self.pool,
            run_id=req.run_id,
            window=window,
            started_at=started_at,
            read_at=read_at,
            statement_until=statement_until,
            counts={"compared": len(ours), "bank_paid": len(statement), "asked_bank": len(ask)},
            mismatches=mismatches,
        )
        for m in recorded:
            bound.warning(
                "reconciliation_mismatch",
                kind=m.kind,
                transfer_id=m.transfer_id,
                group_id=m.group_id,
                recorded_as=m.recorded_as,
            )
        result = ReconcileResult(
            run_id=req.run_id,
            mode=window.mode,
            statement_from=window.statement_from,
            statement_until=statement_until,
            compared=len(ours),
            bank_paid=len(statement),
            asked_bank=len(ask),
            mismatches=recorded,
            open_total=open_total,
        )
        bound.info(
            "reconciliation_done",
            mode=result.mode,
            compared=result.compared,
            bank_paid=result.bank_paid,
            asked_bank=result.asked_bank,
            opened=result.recorded("opened"),
            open_total=open_total,
            **{kind: result.count(kind) for kind in MISMATCH_KINDS},
        )
        return result
