"""Payments (penyaluran) as the ledger recorded them: what a bank callback is checked against."""

from __future__ import annotations

from dataclasses import dataclass

from api.queries.common import Db


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    group_id: str
    amount: int


async def transfer(db: Db, *, transfer_id: str) -> Transfer | None:
    row = await db.fetchrow("SELECT group_id, amount FROM payments WHERE transfer_id = $1", transfer_id)
    return None if row is None else Transfer(transfer_id, row["group_id"], row["amount"])
