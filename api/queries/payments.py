"""Payments (penyaluran) as the ledger recorded them: what a bank callback is checked against, and the
bank's callbacks kept until their batch is answered whole (migration 013)."""

from __future__ import annotations

from dataclasses import dataclass

from api.queries.common import Db
from jps.contracts.activities import PaymentResult


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    group_id: str
    amount: int


async def transfer(db: Db, *, transfer_id: str) -> Transfer | None:
    row = await db.fetchrow("SELECT group_id, amount FROM payments WHERE transfer_id = $1", transfer_id)
    return None if row is None else Transfer(transfer_id, row["group_id"], row["amount"])


async def record_callback(db: Db, *, result: PaymentResult) -> list[PaymentResult] | None:
    """Keep the bank's callback for one transfer; once every transfer of its batch the workflow has
    not settled yet is answered, return their callbacks to signal at once, else None (also when the
    workflow settled the whole batch already, by its own poll: nothing waits for the callback then).

    The batch's lock makes the callbacks of one batch wait for each other here, so exactly one of them
    (the last) sees the batch whole; a repeat after that sees it whole again (the signal is repeated:
    the workflow keeps one answer per transfer). The caller runs this in a transaction."""
    batch_id = await db.fetchval(
        "SELECT batch_id FROM payments, pg_advisory_xact_lock(hashtextextended(batch_id, 0))"
        " WHERE transfer_id = $1",
        result.transfer_id,
    )
    if batch_id is None:
        return None
    await db.execute(
        """INSERT INTO payment_callbacks (transfer_id, batch_id, status, reason, permanent)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (transfer_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
               permanent = EXCLUDED.permanent, received_at = now()""",
        result.transfer_id,
        batch_id,
        result.status,
        result.reason,
        result.permanent,
    )
    rows = await db.fetch(
        """SELECT p.transfer_id, p.status AS settled, c.status, c.reason, c.permanent
           FROM payments p LEFT JOIN payment_callbacks c USING (transfer_id)
           WHERE p.batch_id = $1 ORDER BY p.transfer_id""",
        batch_id,
    )
    waiting = [r for r in rows if r["settled"] == "pending"]  # what the workflow has not settled
    if not waiting or any(r["status"] is None for r in waiting):
        return None
    return [
        PaymentResult(
            transfer_id=r["transfer_id"], status=r["status"], reason=r["reason"], permanent=r["permanent"]
        )
        for r in waiting
    ]
