"""The append-only, hash-chained audit log (catatan audit): the record of lasting value.

Temporal deletes a closed workflow's history after the namespace's retention period; this table
keeps every officer action and automated event for good. Each row's hash covers the previous
row's hash and the row's own canonical content, so a changed or deleted row breaks the chain at
that point, which `verify_chain` reports. Appends take a transaction-scoped advisory lock, so the
chain stays linear when many workers append at once; the lock is global and held to the commit, so
a writer takes it last, after its other writes (a workflow step: `activities/steps.py`).

A chain alone cannot show a cut tail: deleting the last rows (or all of them) leaves a shorter chain
that still verifies. So the chain is anchored: `AuditAnchors` appends signed checkpoints of the head
(HMAC-SHA256 with `JPS_AUDIT_ANCHOR_KEY` over the row count, the head's hash and the time) to a file
apart from the table (`JPS_AUDIT_ANCHOR_PATH`), one JSON line each. The worker's outbox sweep writes
one every minute when the head moved, and every verification that finds the chain valid writes the
head it checked. Verification fails when the table holds fewer rows than an anchor counts, or the
row at an anchored position has another hash, or an anchor's signature is wrong.

The anchor key rotates without a new file: each anchor names the key that signed it (`kid`, a tag
derived from the key, not the key); `JPS_AUDIT_ANCHOR_OLD_KEYS` keeps the retired keys, so the
anchors they signed still verify while new ones are signed with the current key. An anchor written
before anchors carried a `kid` verifies with any known key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from jps.domain.models import Officer
from jps.settings import Settings

log = structlog.get_logger()

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
    # One statement after the lock (not with it: a statement's snapshot predates a lock it waits for,
    # and would miss the head its holder committed), since every round trip here holds the chain.
    found = await conn.fetchrow(
        """SELECT (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS head,
                  $2::integer IS NOT NULL AND EXISTS (
                      SELECT 1 FROM audit_log WHERE group_id = $1 AND seq = $2 AND ($3 = '' OR run_id = $3)
                  ) AS recorded""",
        group_id,
        seq,
        run_id,
    )
    if found["recorded"]:
        return False
    await insert_chained(
        conn,
        prev=found["head"] or GENESIS,
        group_id=group_id,
        seq=seq,
        at=at,
        actor=actor,
        actor_roles=actor_roles,
        event=event,
        stage=stage,
        reason=reason,
        details=details,
        run_id=run_id,
    )
    return True


async def insert_chained(
    conn: asyncpg.Connection,
    *,
    prev: str,
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
) -> None:
    """Insert the row after `prev`, the chain's head as read under the chain's lock, which the caller
    holds (`lock_chain`) and keeps until its transaction ends."""
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


async def append_officer_audit(
    conn: asyncpg.Connection,
    officer: Officer,
    event: str,
    *,
    group_id: str | None = None,
    stage: str | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> bool:
    """An officer's act outside a group's step (a budget change, a refusal, a decode, a resolution):
    one row in the caller's transaction, stamped now unless `at` is given."""
    return await append_audit(
        conn,
        group_id=group_id,
        seq=None,
        at=at or datetime.now(UTC),
        actor=officer.id,
        actor_roles=[r.value for r in officer.roles],
        event=event,
        stage=stage,
        reason=reason,
        details=details,
    )


def anchor_key_id(key: str) -> str:
    """The `kid` an anchor carries: a MAC of a fixed text under the key, so it names the key without
    showing anything of it."""
    return hmac.new(key.encode(), b"jps-audit-anchor-key-id", hashlib.sha256).hexdigest()[:12]


def _mac(key: str, rows: int, head: str, at: str) -> str:
    return hmac.new(key.encode(), f"{rows}|{head}|{at}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditAnchors:
    """The signed checkpoints of the chain's head, one JSON line each, in a file apart from the rows
    (an operator ships it off-host: whoever can delete rows should not be able to rewrite it). New
    anchors are signed with `key`; those `old_keys` signed (a rotation's retired keys) still verify."""

    path: Path
    key: str
    old_keys: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> AuditAnchors:
        """The deployment's anchors: `JPS_AUDIT_ANCHOR_PATH`, signed with `JPS_AUDIT_ANCHOR_KEY`, the
        retired `JPS_AUDIT_ANCHOR_OLD_KEYS` still accepted."""
        old = tuple(k.strip() for k in settings.audit_anchor_old_keys.split(",") if k.strip())
        return cls(settings.anchor_file, settings.audit_anchor_key, old)

    def _signed(self, anchor: dict[str, Any]) -> bool:
        keys = {anchor_key_id(k): k for k in (*self.old_keys, self.key)}
        kid = anchor.get("kid")
        if kid is None:  # written before anchors named their key: any key we know may have signed it
            candidates = list(keys.values())
        else:
            candidates = [keys[kid]] if kid in keys else []
        signed = (int(anchor["rows"]), str(anchor["head"]), str(anchor["at"]))
        return any(hmac.compare_digest(_mac(k, *signed), str(anchor["mac"])) for k in candidates)

    def read(self) -> list[dict[str, Any]]:
        """Every anchor, oldest first; a line that is not valid JSON or carries a wrong signature (or
        one of a key we no longer know) comes back with `"forged": True`."""
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        anchors = []
        for line in lines:
            if not line.strip():
                continue
            try:
                anchor = json.loads(line)
                good = self._signed(anchor)
            except (ValueError, KeyError, TypeError, AttributeError):
                anchor, good = {"rows": 0, "head": "", "at": ""}, False
            anchors.append({**anchor, "forged": not good})
        return anchors

    def write(self, *, rows: int, head: str, last_id: int | None) -> bool:
        """Append a checkpoint of (rows, head) unless the latest one already says so."""
        if rows == 0:
            return False
        latest = next((a for a in reversed(self.read()) if not a["forged"]), None)
        if latest and latest["rows"] == rows and latest["head"] == head:
            return False
        at = datetime.now(UTC).isoformat()
        line = json.dumps(
            {
                "rows": rows,
                "head": head,
                "last_id": last_id,
                "at": at,
                "kid": anchor_key_id(self.key),
                "mac": _mac(self.key, rows, head, at),
            },
            separators=(",", ":"),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one short line with O_APPEND: the API and the workers may append at once.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    async def checkpoint(self, conn: asyncpg.Connection) -> bool:
        """Anchor the committed head (the sweep's minute). Appends hold the chain's lock until they
        commit, so ids grow in commit order and a snapshot's count is a prefix of the chain."""
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            rows = await conn.fetchval("SELECT count(*) FROM audit_log")
            head = await conn.fetchrow("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
        if head is None:
            return False
        return self.write(rows=rows, head=head["hash"], last_id=head["id"])


def _anchor_problem(
    anchors: list[dict[str, Any]], rows: int, at_position: dict[int, tuple[int, str]], last_id: int
) -> dict[str, Any] | None:
    for number, anchor in enumerate(anchors, start=1):
        if anchor["forged"]:
            return {"broken_at_id": None, "problem": f"anchor {number} has a wrong signature"}
    for anchor in sorted(anchors, key=lambda a: -int(a["rows"])):  # the longest anchored chain first
        counted = int(anchor["rows"])
        if counted > rows:
            what = "the table is empty" if rows == 0 else f"the table has {rows}"
            problem = f"rows missing at the end: the anchor of {anchor['at']} counts {counted} rows, {what}"
            return {"broken_at_id": last_id + 1, "problem": problem}
        row_id, row_hash_ = at_position[counted]
        if row_hash_ != anchor["head"]:
            return {
                "broken_at_id": row_id,
                "problem": f"row {counted} is not the one the anchor of {anchor['at']} signed",
            }
    return None


async def verify_chain(conn: asyncpg.Connection, anchors: AuditAnchors | None = None) -> dict[str, Any]:
    """Walk the chain: `{"valid": bool, "rows": N}` plus where it first breaks. With `anchors`, the
    chain must also reach every anchored head (nothing cut from its end), and a valid chain's head
    is anchored in turn."""
    checkpoints = anchors.read() if anchors else []
    wanted = {int(a["rows"]) for a in checkpoints if not a["forged"]}
    at_position: dict[int, tuple[int, str]] = {}
    prev = GENESIS
    rows = 0
    last_id = 0
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
            last_id = row["id"]
            if rows in wanted:
                at_position[rows] = (row["id"], prev)
    if anchors is not None:
        problem = _anchor_problem(checkpoints, rows, at_position, last_id)
        if problem:
            return {"valid": False, "rows": rows, **problem}
        try:
            anchors.write(rows=rows, head=prev, last_id=last_id or None)
        except OSError as exc:  # the verdict stands; the sweep's next anchor covers this head
            log.error("audit_anchor_not_written", path=str(anchors.path), error=str(exc))
    return {"valid": True, "rows": rows}
