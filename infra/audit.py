"""The append-only, hash-chained audit log (catatan audit): the record of lasting value.

Temporal deletes a closed workflow's history after the namespace's retention period; this table
keeps every officer action and automated event for good. Each row's hash covers the previous
row's hash and the row's own canonical content, so a changed or deleted row breaks the chain at
that point, which `verify_chain` reports. Appends take a transaction-scoped advisory lock, so the
chain stays linear when many workers append at once.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

GENESIS = "0" * 64
_CHAIN_LOCK = 7_201_021


def _canonical(row: dict[str, Any]) -> str:
    body = {
        "group_id": row["group_id"],
        "seq": row["seq"],
        "at": row["at"].astimezone(UTC).isoformat(),
        "actor": row["actor"],
        "actor_roles": list(row["actor_roles"] or []),
        "event": row["event"],
        "stage": row["stage"],
        "reason": row["reason"],
        "details": row["details"],
    }
    if row.get("run_id"):  # a workflow step's run (rows from before run ids hash as they always did)
        body["run_id"] = row["run_id"]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(row)).encode()).hexdigest()


async def lock_chain(conn: asyncpg.Connection) -> None:
    """The chain's lock, until the caller's transaction ends (taking it again is harmless)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)


async def append_audit(
    conn: asyncpg.Connection,
    *,
    group_id: str | None,
    seq: int | None,
    at: datetime,
    actor: str | None,
    actor_roles: list[str] | None,
    event: str,
    stage: str | None,
    reason: str = "",
    details: dict[str, Any] | None = None,
    run_id: str = "",
) -> bool:
    """Append one row inside the caller's transaction. Returns False when the step is already
    recorded: (group_id, seq) under the same workflow run, or under any run for a step that names
    none (older workflows). A retried activity writes nothing twice; a step a reset re-executes
    (same seq, another run) is a new row."""
    await lock_chain(conn)
    if seq is not None and await conn.fetchval(
        "SELECT 1 FROM audit_log WHERE group_id = $1 AND seq = $2 AND ($3 = '' OR run_id = $3)",
        group_id,
        seq,
        run_id,
    ):
        return False
    prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS
    # Round-trip through JSON so the hashed form equals what jsonb gives back on verification.
    details_norm = json.loads(json.dumps(details or {}, default=str))
    row = {
        "group_id": group_id,
        "seq": seq,
        "at": at,
        "actor": actor,
        "actor_roles": actor_roles or [],
        "event": event,
        "stage": stage,
        "reason": reason,
        "details": details_norm,
        "run_id": run_id,
    }
    digest = row_hash(prev, row)
    await conn.execute(
        """INSERT INTO audit_log (group_id, seq, at, actor, actor_roles, event, stage, reason, details,
                                  prev_hash, hash, run_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        group_id,
        seq,
        at,
        actor,
        row["actor_roles"],
        event,
        stage,
        reason,
        details_norm,
        prev,
        digest,
        run_id,
    )
    return True


async def verify_chain(conn: asyncpg.Connection) -> dict[str, Any]:
    """Walk the chain: `{"valid": bool, "rows": N}` plus where it first breaks."""
    prev = GENESIS
    rows = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for rec in conn.cursor("SELECT * FROM audit_log ORDER BY id", prefetch=2000):
            row = dict(rec)
            if row["prev_hash"] != prev:
                return {
                    "valid": False,
                    "rows": rows,
                    "broken_at_id": row["id"],
                    "problem": "row missing before it",
                }
            if row_hash(prev, row) != row["hash"]:
                return {
                    "valid": False,
                    "rows": rows,
                    "broken_at_id": row["id"],
                    "problem": "row content changed",
                }
            prev = row["hash"]
            rows += 1
    return {"valid": True, "rows": rows}
