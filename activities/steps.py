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

Within one run a seq names one step too, but only once the workflow task that took it completed. A
step is recorded by a local activity (`record_step`), which commits inside its workflow task, before
Temporal has that task's outcome; a task that times out (its worker killed, or too slow) is tried
again with whatever arrived meanwhile (a batch's callbacks, a fired timer, an officer's update), and
the retry may take another path to the same seq. So a step of this run already at its seq is a retry
only when it is the same step (`_same_step`: event, officer, reason, stage and details, the last one
recorded there); another step taken later (`at`: each attempt of a task has its own, later time)
replaces the unfinished task's, as a reset's step does (written, the read model moved back to it,
its audit row saying so); another step taken earlier is that unfinished task's own record arriving
late (its worker still retrying it after the task was given to another): written nowhere. Before, the
run id alone made it a retry, and a week's settlement taken at a seq an unfinished task had used was
never written: nothing drawn from the wage bill, while the bank had paid.
"""

from __future__ import annotations

import hashlib
import json
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
    # This run's step at this seq was an unfinished workflow task's: this one, taken later, replaces it.
    unfinished: bool = False

    @property
    def reexecuted(self) -> bool:
        return bool(self.replaces) or self.unfinished


# What a step's audit row carries besides the step's own details (chain_step): not compared.
_MARKS = ("re_executed_after_reset", "replaces_runs", "replaces_an_unfinished_task")


# The per-group step lock's class: advisory locks keyed by two integers (this, the group id's hash)
# are a key space apart from the chain's single-key lock. Two groups whose ids hash alike only wait
# for each other.
_STEP_LOCK = 7_201_022


async def claim_step(conn: asyncpg.Connection, record: TransitionRecord) -> Step:
    """First in the recording transaction: under the group's own lock (to the transaction's end),
    whether this step is written already; for a step a reset re-executes, the read model rewound to
    it. Two transactions recording the same step (an activity's retry, the local activity's attempt
    and the `record_transition` it falls back to) take this lock in turn, and the second one's read,
    a statement after its lock (READ COMMITTED: a fresh snapshot, which holds the first one's commit),
    finds the first one's audit row: it writes nothing. Only steps write a group's (group_id, seq)
    rows (every other audit row has no seq), so this lock alone keeps a step written once."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _STEP_LOCK, record.group_id)
    rows = await conn.fetch(
        """SELECT run_id, at, event, actor, reason, stage, details FROM audit_log
           WHERE group_id = $1 AND seq = $2 ORDER BY id""",
        record.group_id,
        record.seq,
    )
    earlier: list[str] = [r["run_id"] for r in rows]
    if earlier and not record.run_id:
        return Step(written=False)  # an older workflow's step, keyed without its run
    ours = [r for r in rows if r["run_id"] == record.run_id]
    if ours and (_same_step(ours[-1], record) or record.at <= max(r["at"] for r in rows)):
        # A retry; or an unfinished task's step arriving after the one that replaced it.
        return Step(written=False)
    if not earlier:
        return Step(written=True)
    # Another step at this seq: an unfinished task's of this run, or an abandoned run's (a reset).
    await _rewind(conn, record)
    log.warning(
        "step_replaces_an_unfinished_task" if ours else "step_reexecuted_after_reset",
        group_id=record.group_id,
        seq=record.seq,
        run_id=record.run_id,
        event_name=record.event,
        replaces=[r["event"] for r in ours] if ours else earlier,
    )
    return Step(written=True, unfinished=True) if ours else Step(written=True, replaces=earlier)


async def chain_step(conn: asyncpg.Connection, record: TransitionRecord, step: Step) -> None:
    """Last in the recording transaction, after the read model's writes: the step's audit row on the
    chain. The chain's lock is global and held to the commit, so it covers only these three round
    trips (lock, head, insert), not the group's writes (bench, scale 0.1: lock waiters were in 62-72 %
    of samples while the lock came first). The head is read by a statement after the lock, so it is
    the previous holder's committed row; the row and the read model still commit together or not at
    all. No chain-lock holder waits on a row lock after taking it (every other appender takes it last
    too, or touches only tables a step does not), so a step holding its rows while it waits for the
    chain cannot deadlock."""
    details: dict[str, Any] = dict(record.details)
    if step.unfinished:
        details["replaces_an_unfinished_task"] = True
    elif step.reexecuted:
        details["re_executed_after_reset"] = True
        details["replaces_runs"] = [run or "(before run ids)" for run in step.replaces]
    await lock_chain(conn)
    head = await conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
    await insert_chained(
        conn,
        prev=head or GENESIS,
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


def _same_step(row: asyncpg.Record, record: TransitionRecord) -> bool:
    """Whether the audit row records this step (whatever its time and the state it left): the same
    event by the same officer, with the same reason, stage and details."""
    details = {k: v for k, v in (row["details"] or {}).items() if k not in _MARKS}
    return (
        row["event"] == record.event
        and row["actor"] == record.officer
        and row["reason"] == record.reason
        and row["stage"] == record.stage.value
        and details == json.loads(json.dumps(record.details, default=str))  # as insert_chained keeps them
    )


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
    # A step replacing an unfinished task's is of the same run: its time tells it from that one.
    key = f"{record.run_id}@{record.at.isoformat()}" if step.unfinished else record.run_id
    run = hashlib.sha256(key.encode()).hexdigest()[:12]
    fresh = [row for row in rows if (row.recipient, row.template, row.body) not in queued]
    return [row._replace(id=f"{row.id}@{run}") for row in fresh]
