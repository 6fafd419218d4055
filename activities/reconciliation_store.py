"""What reconciliation reads of our side and keeps of what it found.

- `plan`: which part of the statement and of our rows a run reads. An incremental run starts where
  the latest completed run that moves the watermark ended (`reconciliation_runs`): the statement
  from that run's last paid_at (the bank's clock; read inclusively, so a line at that instant is
  read again and changes nothing), our rows settled since that run read them (our clock, less
  `LEDGER_OVERLAP`, so a step committed while the last run was reading is not missed).
- `our_rows`: those rows.
- `record`: in one transaction, each mismatch found (one open row per transfer and kind: a row
  already open gets the latest figures; facts an officer already resolved stay resolved; anything
  else opens a new row), then the run's own row, which makes it the new watermark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from jps.contracts.activities import Mismatch, ReconcileMode, ReconcileRequest

# Our side's watermark is taken this much earlier than the moment the run read our rows: a
# `record_transition` stamps `settled_at` with its transaction's start, and may commit after we read.
LEDGER_OVERLAP = timedelta(minutes=10)

_COLUMNS = "transfer_id, group_id, status, amount, instructed_at, settled_at"


@dataclass(frozen=True)
class Window:
    mode: ReconcileMode
    statement_from: datetime | None  # None: the whole statement
    ledger_from: datetime | None  # incremental runs: our rows settled since then


async def plan(db: asyncpg.Pool | asyncpg.Connection, req: ReconcileRequest) -> Window:
    if req.since is not None:
        return Window("window", req.since, None)
    if not req.full:
        mark = await db.fetchrow(
            """SELECT max(statement_until) AS statement_until, max(ledger_until) AS ledger_until
                 FROM reconciliation_runs WHERE moves_watermark AND run_id <> $1""",
            req.run_id,
        )
        if mark is not None and mark["ledger_until"] is not None:
            return Window("incremental", mark["statement_until"], mark["ledger_until"])
    return Window("full", None, None)  # asked for, or the first run: nothing to start from


async def our_rows(
    db: asyncpg.Pool | asyncpg.Connection, window: Window, on_statement: list[str], stale_before: datetime
) -> tuple[dict[str, asyncpg.Record], datetime]:
    """Our rows for this window, by transfer id, and the moment they were read (our clock)."""
    read_at: datetime = await db.fetchval("SELECT clock_timestamp()")
    if window.mode == "full":
        rows = await db.fetch(f"SELECT {_COLUMNS} FROM payments")
    elif window.mode == "window":
        # Instructed in the window, or on that part of the statement (paid after it was instructed).
        rows = await db.fetch(
            f"SELECT {_COLUMNS} FROM payments WHERE instructed_at >= $1 OR transfer_id = ANY($2::text[])",
            window.statement_from,
            on_statement,
        )
    else:
        # On this part of the statement (however long ago it was instructed), settled on our side
        # since the last run, or still in flight past the grace period.
        rows = await db.fetch(
            f"""SELECT {_COLUMNS} FROM payments
                 WHERE transfer_id = ANY($1::text[]) OR settled_at >= $2
                    OR (status = 'pending' AND instructed_at < $3)""",
            on_statement,
            window.ledger_from,
            stale_before,
        )
    return {r["transfer_id"]: r for r in rows}, read_at


def _same(stored: Any, found: dict[str, Any] | None) -> bool:
    # Through JSON, as jsonb holds it (timestamps as their ISO text).
    return bool(stored == (json.loads(json.dumps(found, default=str)) if found is not None else None))


async def _record_one(conn: asyncpg.Connection, run_id: str, m: Mismatch) -> Mismatch:
    key = (m.transfer_id, m.kind)
    open_id = await conn.fetchval(
        """SELECT id FROM reconciliation_mismatches
            WHERE transfer_id = $1 AND kind = $2 AND resolved_at IS NULL FOR UPDATE""",
        *key,
    )
    if open_id is not None:
        await conn.execute(
            """UPDATE reconciliation_mismatches
                  SET last_run_id = $2, last_seen_at = now(), ours = $3, bank = $4,
                      group_id = coalesce(group_id, $5)
                WHERE id = $1""",
            open_id,
            run_id,
            m.ours,
            m.bank,
            m.group_id,
        )
        return m.model_copy(update={"recorded_as": "already_open"})
    resolved = await conn.fetchrow(
        """SELECT ours, bank FROM reconciliation_mismatches
            WHERE transfer_id = $1 AND kind = $2 AND resolved_at IS NOT NULL
            ORDER BY resolved_at DESC, id DESC LIMIT 1""",
        *key,
    )
    if resolved is not None and _same(resolved["ours"], m.ours) and _same(resolved["bank"], m.bank):
        return m.model_copy(update={"recorded_as": "kept_resolved"})
    # A run recording the same mismatch at this moment (the schedule and `jps reconcile`) may win
    # the one open row: then it is already open.
    opened = await open_mismatch(
        conn,
        run_id=run_id,
        transfer_id=m.transfer_id,
        kind=m.kind,
        group_id=m.group_id,
        ours=m.ours,
        bank=m.bank,
    )
    return m.model_copy(update={"recorded_as": "opened" if opened else "already_open"})


async def open_mismatch(
    conn: asyncpg.Connection,
    *,
    run_id: str,
    transfer_id: str,
    kind: str,
    group_id: str | None,
    ours: dict[str, Any] | None,
    bank: dict[str, Any] | None,
) -> bool:
    """Open a mismatch on the reconciliation list, in the caller's transaction; False when one of
    that transfer and kind is open already (a partial unique index keeps one open row). The runs'
    `_record_one` and a member's "TIDAK" (`activities.verification`, kind `member_denied`, its sample
    id as the run) both open rows here; officers resolve them (`api.queries.reconciliation`)."""
    status = await conn.execute(
        """INSERT INTO reconciliation_mismatches
               (run_id, transfer_id, kind, group_id, ours, bank, last_run_id, last_seen_at)
           VALUES ($1, $2, $3, $4, $5, $6, $1, now()) ON CONFLICT DO NOTHING""",
        run_id,
        transfer_id,
        kind,
        group_id,
        ours,
        bank,
    )
    return bool(status.rsplit(" ", 1)[-1] != "0")


async def record(
    pool: asyncpg.Pool,
    *,
    run_id: str,
    window: Window,
    started_at: datetime,
    read_at: datetime,
    statement_until: datetime | None,
    counts: dict[str, int],
    mismatches: list[Mismatch],
) -> tuple[list[Mismatch], int]:
    """Record the mismatches and the run; what became of each, and how many are open now."""
    async with pool.acquire() as conn, conn.transaction():
        done = []
        # One order for every run, so that two runs at once never lock rows in opposite orders.
        for m in sorted(mismatches, key=lambda m: (m.transfer_id, m.kind)):
            done.append(await _record_one(conn, run_id, m))
        await conn.execute(
            """INSERT INTO reconciliation_runs (run_id, mode, started_at, statement_from, statement_until,
                   ledger_from, ledger_until, moves_watermark, compared, bank_paid, asked_bank, found, opened)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               ON CONFLICT (run_id) DO UPDATE SET finished_at = now(),
                   statement_until = EXCLUDED.statement_until, ledger_until = EXCLUDED.ledger_until,
                   compared = EXCLUDED.compared,
                   bank_paid = EXCLUDED.bank_paid, asked_bank = EXCLUDED.asked_bank,
                   found = EXCLUDED.found, opened = reconciliation_runs.opened + EXCLUDED.opened""",
            run_id,
            window.mode,
            started_at,
            window.statement_from,
            statement_until,
            window.ledger_from,
            read_at - LEDGER_OVERLAP,
            window.mode != "window",
            counts["compared"],
            counts["bank_paid"],
            counts["asked_bank"],
            len(done),
            sum(m.recorded_as == "opened" for m in done),
        )
        open_total: int = await conn.fetchval(
            "SELECT count(*) FROM reconciliation_mismatches WHERE resolved_at IS NULL"
        )
    return done, open_total
