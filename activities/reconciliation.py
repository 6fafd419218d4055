"""Reconciliation (rekonsiliasi): our `payments` ledger against the bank's statement.

The bank's statement lists every transfer it paid. Compared transfer by transfer with our rows,
each disagreement about money is recorded in `reconciliation_mismatches` for an officer, keyed by
(run, transfer, kind) so that a retried activity records it once:

- `paid_not_recorded`: the bank paid a transfer that our ledger does not count as paid: we have no
  row for it (nobody here instructed it), or our row says `failed` (we may pay it again), or our
  row has been `pending` for longer than the grace period (the workflow should have heard by then).
- `recorded_not_paid`: our ledger counts a transfer as `paid` and the statement does not show it;
  or our row has been `pending` for longer than the grace period and the bank has never heard of
  the transfer (the instruction was lost, the budget stays reserved for nothing).
- `amount_differs`: both sides say paid, for different amounts.

A transfer still `pending` on our side within the grace period is in flight, whatever the bank
says about it right now: the bank may still be settling it, its callback may be on the way, or
the workflow is waiting for the rest of its batch (a batch's rows change together). That is not a
mismatch. Nor is a `pending` or `failed` row the bank has not paid: no money moved and we count
none. The default grace is the bank-wait SLA (two days).

With `since`, the run covers the statement from then on and our rows instructed since then, plus
our rows for any transfer on that part of the statement (a transfer is paid after it is
instructed, so nothing paid in the window is missed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from temporalio import activity

from activities.bank_client import BankClient, StatementLine
from jps.contracts.activities import MISMATCH_KINDS, Mismatch, ReconcileRequest, ReconcileResult

log = structlog.get_logger()


def _ours(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "status": row["status"],
        "amount": row["amount"],
        "instructed_at": row["instructed_at"].isoformat(),
    }


def _bank(line: StatementLine) -> dict[str, Any]:
    paid_at = line.paid_at.isoformat() if line.paid_at else None
    return {"status": line.status, "amount": line.amount, "paid_at": paid_at}


def compare(
    ours: dict[str, asyncpg.Record], statement: list[StatementLine], *, stale_before: datetime
) -> tuple[list[Mismatch], list[str]]:
    """The mismatches the statement alone shows, and the stale pending transfers it does not list
    (whether the bank knows them takes a status request)."""
    out: list[Mismatch] = []
    on_statement: set[str] = set()
    for line in statement:
        on_statement.add(line.transfer_id)
        row = ours.get(line.transfer_id)
        if row is None:
            out.append(Mismatch(kind="paid_not_recorded", transfer_id=line.transfer_id, bank=_bank(line)))
            continue
        mine = _ours(row)
        stale = row["status"] == "pending" and row["instructed_at"] < stale_before
        if row["status"] == "failed" or stale:
            out.append(
                Mismatch(
                    kind="paid_not_recorded",
                    transfer_id=line.transfer_id,
                    group_id=row["group_id"],
                    ours=mine,
                    bank=_bank(line),
                )
            )
        elif row["status"] == "paid" and row["amount"] != line.amount:
            out.append(
                Mismatch(
                    kind="amount_differs",
                    transfer_id=line.transfer_id,
                    group_id=row["group_id"],
                    ours=mine,
                    bank=_bank(line),
                )
            )
    stale_unlisted: list[str] = []
    for tid, row in ours.items():
        if tid in on_statement:
            continue
        if row["status"] == "paid":
            out.append(
                Mismatch(
                    kind="recorded_not_paid",
                    transfer_id=tid,
                    group_id=row["group_id"],
                    ours=_ours(row),
                    bank=None,
                )
            )
        elif row["status"] == "pending" and row["instructed_at"] < stale_before:
            stale_unlisted.append(tid)
    return out, stale_unlisted


class ReconciliationActivities:
    def __init__(self, pool: asyncpg.Pool, bank: BankClient) -> None:
        self.pool = pool
        self.bank = bank

    @activity.defn(name="reconcile_payments")
    async def reconcile_payments(self, req: ReconcileRequest) -> ReconcileResult:
        """Compare, record every mismatch under `req.run_id`, and return them."""
        bound = log.bind(run_id=req.run_id)
        statement = await self.bank.statement(req.since)
        if req.since is None:
            rows = await self.pool.fetch("SELECT * FROM payments")
        else:
            rows = await self.pool.fetch(
                "SELECT * FROM payments WHERE instructed_at >= $1 OR transfer_id = ANY($2::text[])",
                req.since,
                [line.transfer_id for line in statement],
            )
        ours = {r["transfer_id"]: r for r in rows}
        mismatches, stale = compare(ours, statement, stale_before=datetime.now(UTC) - req.pending_grace)
        for tid in stale:
            if await self.bank.get_transfer(tid) is None:
                row = ours[tid]
                mismatches.append(
                    Mismatch(
                        kind="recorded_not_paid",
                        transfer_id=tid,
                        group_id=row["group_id"],
                        ours=_ours(row),
                        bank={"status": "unknown"},
                    )
                )
        if mismatches:
            await self.pool.executemany(
                """INSERT INTO reconciliation_mismatches (run_id, transfer_id, kind, ours, bank)
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, transfer_id, kind) DO NOTHING""",
                [(req.run_id, m.transfer_id, m.kind, m.ours, m.bank) for m in mismatches],
            )
        for m in mismatches:
            bound.warning(
                "reconciliation_mismatch", kind=m.kind, transfer_id=m.transfer_id, group_id=m.group_id
            )
        result = ReconcileResult(
            run_id=req.run_id, compared=len(ours), bank_paid=len(statement), mismatches=mismatches
        )
        bound.info(
            "reconciliation_done",
            compared=result.compared,
            bank_paid=result.bank_paid,
            **{kind: result.count(kind) for kind in MISMATCH_KINDS},
        )
        return result
