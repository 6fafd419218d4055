"""A recorded step's key, (group_id, seq, run id), and what a `temporal workflow reset` asks of it.

A retried `record_transition` carries the same run id as its first try, so a step recorded under its
own run is a no-op. After a reset, the new run re-executes the steps after the reset point with seq
numbers already recorded by the run it replaced: such a step is new. Its audit row is written and
says so (`re_executed_after_reset`, the runs it replaces), the read model moves back to the reset
point so that this step and the next ones are written over the abandoned run's (the group's row, and
the abandoned run's stage transitions from this seq on), and its notifications go out again where
they differ from what the abandoned run sent. Records of workflows from before run ids ("") keep
the old key: (group_id, seq) recorded under any run is a no-op.

Which run is newer is told by time: a reset's re-executed steps are taken after the reset, later
than anything the abandoned run recorded, so the read model moves back only for a step later than
the one it holds (a late write of the abandoned run never rewinds it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from infra.audit import GENESIS, insert_chained, lock_chain
from infra.outbox import OutboxMessage
from jps.contracts.activities import TransitionRecord

log = structlog.get_logger()


@dataclass(frozen=True)
class Step:
    written: bool
    replaces: list[str] = field(default_factory=list)  # the runs whose step this one re-executes

    @property
    def reexecuted(self) -> bool:
        return bool(self.replaces)


async def append_step(conn: asyncpg.Connection, record: TransitionRecord) -> Step:
    """The step's audit row, under the chain's lock, in the caller's transaction; for a step a reset
    re-executes, the read model rewound to it."""
    await lock_chain(conn)
    # The step's earlier rows and the chain's head in one statement after the lock: the lock is held
    # to the end of the caller's transaction, so each round trip under it delays every other writer.
    found = await conn.fetchrow(
        """SELECT ARRAY(SELECT run_id FROM audit_log WHERE group_id = $1 AND seq = $2 ORDER BY id)
                      AS earlier,
                  (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS head""",
        record.group_id,
        record.seq,
    )
    earlier: list[str] = list(found["earlier"])
    if earlier and (not record.run_id or record.run_id in earlier):
        return Step(written=False)  # a retry (or an older workflow's step, keyed without its run)
    details: dict[str, Any] = dict(record.details)
    if earlier:
        details["re_executed_after_reset"] = True
        details["replaces_runs"] = [run or "(before run ids)" for run in earlier]
    await insert_chained(
        conn,
        prev=found["head"] or GENESIS,
        group_id=record.group_id,
        seq=record.seq,
        at=record.at,
        actor=record.officer,
        actor_roles=record.officer_roles,
        event=record.event,
        stage=record.stage.value,
        reason=record.reason,
        details=details,
        run_id=record.run_id,
    )
    if earlier:
        await _rewind(conn, record)
        log.warning(
            "step_reexecuted_after_reset",
            group_id=record.group_id,
            seq=record.seq,
            run_id=record.run_id,
            replaces=earlier,
        )
    return Step(written=True, replaces=earlier)


async def _rewind(conn: asyncpg.Connection, record: TransitionRecord) -> None:
    """Move the read model back to just before this step, unless it holds a later one."""
    await conn.execute(
        """UPDATE groups SET last_seq = $2 - 1
           WHERE group_id = $1 AND last_seq >= $2 AND updated_at < $3""",
        record.group_id,
        record.seq,
        record.at,
    )
    await conn.execute(
        "DELETE FROM stage_transitions WHERE group_id = $1 AND seq >= $2 AND at < $3",
        record.group_id,
        record.seq,
        record.at,
    )
    # The abandoned run's receivable movements from this step on, like its stage transitions (else a
    # repayment the new run records at another step counts twice); a receivable it opened there goes
    # too (this step or a later one writes the new run's, whole, from its state).
    await conn.execute(
        "DELETE FROM receivable_events WHERE group_id = $1 AND seq >= $2 AND at < $3",
        record.group_id,
        record.seq,
        record.at,
    )
    await conn.execute(
        """DELETE FROM receivables r WHERE group_id = $1 AND updated_at < $2 AND NOT EXISTS
               (SELECT 1 FROM receivable_events e WHERE e.group_id = r.group_id AND e.kind = 'opened')""",
        record.group_id,
        record.at,
    )


async def fresh_messages(
    conn: asyncpg.Connection, step: Step, record: TransitionRecord, rows: list[OutboxMessage]
) -> list[OutboxMessage]:
    """The step's outbox rows as they are, or for a re-executed step: the ones the abandoned run did
    not already queue word for word (recipient, template, text), each with an id of this run's."""
    if not step.reexecuted:
        return rows
    queued = {
        (r["recipient"], r["template"], r["body"])
        for r in await conn.fetch(
            """SELECT recipient, template, body FROM notification_outbox
               WHERE group_id = $1 AND left(id, length($2)) = $2""",
            record.group_id,
            f"{record.group_id}:{record.seq}:",
        )
    }
    run = hashlib.sha256(record.run_id.encode()).hexdigest()[:12]
    fresh = [row for row in rows if (row.recipient, row.template, row.body) not in queued]
    return [row._replace(id=f"{row.id}@{run}") for row in fresh]
