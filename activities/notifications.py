"""Notification delivery from the outbox (kotak keluar) to the SMS/WhatsApp/e-mail gateway.

Messages are written to `notification_outbox` in the same transaction as the step that caused
them; delivery happens afterwards and never inside a workflow's critical path, so a gateway outage
delays messages but never blocks or fails a group. Right after a step the worker tries that
group's messages in the background; the `dispatch_outbox` activity (run by a Temporal Schedule,
and by the daily digest) sweeps whatever is still unsent. Each message's id is its idempotency
key at the gateway, so a message sent twice by a sweep and a background try arrives once.

A slow gateway must not stall the groups (issue 10, scenario 7), so delivery holds no database
connection, and no transaction, across an HTTP call: it claims a round of messages in one short
statement (`claimed_until`, a lease a crashed run lets expire), sends them with no connection held,
and writes the outcomes in one short transaction. It is bounded: at most `batch_limit` messages a
round, no new send after `run_budget_s`, two runs at a time per worker, a few background tries
waiting at most (the sweep comes for the rest), and none at all for a while after the gateway
failed. Each recipient's messages go out in order: a message waits while an earlier one of its
recipient is claimed by another run.

A round goes to the gateway in requests (`POST /messages/batch`) each carrying the next message of
every recipient still to send, so one recipient's messages never overtake each other (most rounds
hold one message a recipient: one request); and steps close together share a round: the first
background try after a step waits `GATHER_S` for the others (profiled, the worker made one claim,
one request per message and one write for every step). A message the batch's answer leaves out
counts an attempt, as a refused one does. When the gateway fails a whole batch, no message counts
an attempt for it (an outage is not the message's fault), and for `ONE_BY_ONE_S` seconds the
rounds send one message a request, as before batches: a message that makes the gateway fail every batch
it is in then runs out of attempts alone, and a gateway without batches still gets every message.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from temporalio import activity

from activities.notify_client import NotifyClient, NotifyRejectedError, NotifyTransientError, Outgoing
from infra.audit import AuditAnchors
from infra.outbox import OutboxMessage, queue_messages
from jps.domain.calendar import local_date
from jps.domain.notifications import TEMPLATES
from jps.settings import Settings

log = structlog.get_logger()

MAX_ATTEMPTS = 20  # after that a message stays in the outbox, visible, and is not retried
BATCH_LIMIT = 200  # messages claimed per round
RUN_BUDGET_S = 30.0  # no new send after this long in one run; the sweep comes back every minute
# A claim outlives any run (budget + the last sends' timeouts) and a crashed run's claims expire: the
# default of JPS_OUTBOX_CLAIM_LEASE_S (jps/settings.py says why at least 90 s), which the worker
# passes in.
CLAIM_LEASE = timedelta(seconds=Settings.model_fields["outbox_claim_lease_s"].default)
OUTAGE_PAUSE_S = 30.0  # after the gateway failed, background tries stand aside for this long
_CONCURRENT_RECIPIENTS = 8
_CONCURRENT_RUNS = 2  # delivery runs at once in one worker (each holds a connection only per statement)
_WAITING_RUNS = 4  # background tries waiting for a turn at most; past that the sweep has them
GATHER_S = 0.25  # a background try waits this long for other steps' messages to share its round
ONE_BY_ONE_S = 60.0  # after the gateway failed a whole batch, rounds send one message a request this long


@dataclass
class _Round:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    deferred: list[tuple[str, str]] = field(default_factory=list)  # in a batch failed whole: no attempt
    outage: bool = False


class NotificationActivities:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: NotifyClient,
        *,
        batch_limit: int = BATCH_LIMIT,
        run_budget_s: float = RUN_BUDGET_S,
        one_by_one_s: float = ONE_BY_ONE_S,
        claim_lease: timedelta = CLAIM_LEASE,
        anchors: AuditAnchors | None = None,
    ) -> None:
        self.pool = pool
        self.anchors = anchors
        self.client = client
        self.batch_limit = batch_limit
        self.run_budget_s = run_budget_s
        self.one_by_one_s = one_by_one_s
        self.claim_lease = claim_lease
        self._runs = asyncio.Semaphore(_CONCURRENT_RUNS)
        self._waiting = 0
        self._quiet_until = 0.0  # monotonic: background tries skip until then (the gateway failed)
        self._gathering: asyncio.Future[int] | None = None  # the background round steps are joining
        self._batches_from = 0.0  # monotonic: one message a request until then (a batch failed whole)

    async def deliver_soon(self, about: str) -> int:
        """Best effort, right after a step (of the group or grievance `about`) queued messages: they
        go out in the next background round, which the steps of the next `GATHER_S` share."""
        if time.monotonic() < self._quiet_until or self._waiting >= _WAITING_RUNS:
            return 0  # the gateway is failing, or enough tries are queued: the sweep sends it
        if self._gathering is None or self._gathering.done():
            gathering = asyncio.ensure_future(self._gathered())
            self._gathering = gathering
            gathering.add_done_callback(self._forget)  # even one cancelled before it ran
        return await asyncio.shield(self._gathering)

    def _forget(self, gathering: asyncio.Future[int]) -> None:
        if self._gathering is gathering:
            self._gathering = None

    async def _gathered(self) -> int:
        await asyncio.sleep(GATHER_S)
        self._gathering = None  # steps from now on start the next round
        try:
            return await self._deliver(None)
        except Exception as err:
            log.warning("notification_delivery_deferred", error=str(err))
            return 0

    @activity.defn(name="dispatch_outbox")
    async def dispatch_outbox(self) -> int:
        """Send every unsent message (the sweep), within the run's budget. Returns how many went out.
        The sweep's minute also anchors the audit chain's head (`infra.audit.AuditAnchors`)."""
        if self.anchors is not None:
            try:
                async with self.pool.acquire() as conn:
                    await self.anchors.checkpoint(conn)
            except Exception as err:  # an anchor missed this minute is written the next one
                log.warning("audit_anchor_failed", error=str(err))
        return await self._deliver(None)

    async def _deliver(self, group_id: str | None) -> int:
        """Rounds of claim, send, write, until nothing is left, the gateway fails or the budget is
        spent. A message the gateway refuses counts an attempt and the others go on."""
        self._waiting += 1
        try:
            await self._runs.acquire()
        finally:
            self._waiting -= 1
        try:
            deadline = time.monotonic() + self.run_budget_s
            total = 0
            while time.monotonic() < deadline:
                rows = await self._claim(group_id)
                if not rows:
                    break
                one_by_one = time.monotonic() < self._batches_from
                send = self._send_round if one_by_one else self._send_batched
                done = await send(rows, deadline)
                await self._write(rows, done)
                total += len(done.sent)
                if done.outage:
                    self._quiet_until = time.monotonic() + OUTAGE_PAUSE_S
                    break
                if len(rows) < self.batch_limit:
                    break
            return total
        finally:
            self._runs.release()

    async def _claim(self, group_id: str | None) -> list[asyncpg.Record]:
        """Claim the oldest unsent messages, in one statement (its own short transaction). Not one
        whose recipient has an earlier message claimed by another run: it would overtake it."""
        rows = await self.pool.fetch(
            f"""UPDATE notification_outbox SET claimed_until = now() + $3::interval
                WHERE id IN (
                    SELECT c.id FROM notification_outbox c
                    WHERE c.sent_at IS NULL AND c.attempts < {MAX_ATTEMPTS}
                      AND (c.claimed_until IS NULL OR c.claimed_until < now())
                      AND ($1::text IS NULL OR c.group_id = $1)
                      AND NOT EXISTS (
                          SELECT 1 FROM notification_outbox e
                          WHERE e.recipient = c.recipient AND e.sent_at IS NULL
                            AND e.claimed_until >= now() AND e.created_at < c.created_at)
                    ORDER BY c.created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                RETURNING *""",
            group_id,
            self.batch_limit,
            self.claim_lease,
        )
        return sorted(rows, key=lambda r: (r["created_at"], r["id"]))

    async def _send_batched(self, rows: list[asyncpg.Record], deadline: float) -> _Round:
        """Requests of the next message of every recipient, until the round is sent; a recipient
        whose message the gateway refused sends no more this round. No connection held."""
        done = _Round()
        queues: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            queues.setdefault(row["recipient"], []).append(row)
        while queues and time.monotonic() < deadline:
            heads = [q[0] for q in queues.values()]
            try:
                answers = await self.client.send_batch([_outgoing(r) for r in heads])
            except (NotifyTransientError, NotifyRejectedError) as err:
                # Not the messages' fault (or not known to be): the error is kept on each, no attempt
                # counted; one at a time from the next round, which finds any one message the
                # gateway cannot take.
                log.warning("notification_batch_failed", messages=len(heads), error=err.message[:300])
                self._batches_from = time.monotonic() + self.one_by_one_s
                done.outage = isinstance(err, NotifyTransientError)
                done.deferred = [(r["id"], err.message[:500]) for r in heads]
                return done
            for row in heads:
                recipient = row["recipient"]
                if row["id"] not in answers:  # not taken: an attempt, as a refusal; its later ones wait
                    done.failed.append((row["id"], "the gateway's batch answer left it out"))
                    del queues[recipient]
                    continue
                refused = answers[row["id"]]
                if refused is None:
                    done.sent.append(row["id"])
                    queues[recipient].pop(0)
                    if not queues[recipient]:
                        del queues[recipient]
                else:
                    done.failed.append((row["id"], refused[:500]))
                    del queues[recipient]  # a later message must not overtake this one
        return done

    async def _send_round(self, rows: list[asyncpg.Record], deadline: float) -> _Round:
        """One message a request (for a while after the gateway failed a whole batch): each
        recipient's in order, recipients a few at once; no connection held."""
        done = _Round()
        by_recipient: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            by_recipient.setdefault(row["recipient"], []).append(row)
        gate = asyncio.Semaphore(_CONCURRENT_RECIPIENTS)

        async def send_in_order(messages: list[asyncpg.Record]) -> None:
            async with gate:
                for row in messages:
                    if done.outage or time.monotonic() >= deadline:
                        return
                    try:
                        await self.client.send(
                            row["id"],
                            row["recipient"],
                            row["channel"],
                            row["template"],
                            row["body"],
                            row["group_id"],
                        )
                    except (NotifyTransientError, NotifyRejectedError) as err:
                        done.failed.append((row["id"], err.message[:500]))
                        if isinstance(err, NotifyTransientError):
                            done.outage = True  # the gateway is down or too slow: stop hammering it
                        return  # a later message must not overtake this one
                    done.sent.append(row["id"])

        await asyncio.gather(*(send_in_order(m) for m in by_recipient.values()))
        return done

    async def _write(self, rows: list[asyncpg.Record], done: _Round) -> None:
        """The round's outcomes, and its claims released, in one short transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            if done.sent:
                await conn.execute(
                    """UPDATE notification_outbox SET sent_at = $2, attempts = attempts + 1,
                                                      claimed_until = NULL
                       WHERE id = ANY($1::text[])""",
                    done.sent,
                    datetime.now(UTC),
                )
            if done.failed:
                await conn.executemany(
                    """UPDATE notification_outbox SET attempts = attempts + 1, last_error = $2,
                                                      claimed_until = NULL
                       WHERE id = $1""",
                    done.failed,
                )
            if done.deferred:  # tried and failed, visibly, but not counted against the message
                await conn.executemany(
                    "UPDATE notification_outbox SET last_error = $2, claimed_until = NULL WHERE id = $1",
                    done.deferred,
                )
            settled = set(done.sent) | {mid for mid, _ in done.failed} | {mid for mid, _ in done.deferred}
            untried = [r["id"] for r in rows if r["id"] not in settled]
            if untried:
                await conn.execute(
                    "UPDATE notification_outbox SET claimed_until = NULL WHERE id = ANY($1::text[])", untried
                )

    @activity.defn(name="send_daily_digest")
    async def send_daily_digest(self) -> int:
        """Each region's supervisor gets the overdue and escalated tasks of that region (ringkasan harian):
        every open task counts (`group_tasks`), so a group late on two counts twice."""
        now = datetime.now(UTC)
        rows = await self.pool.fetch(
            """SELECT g.region_code, count(*) AS n
                 FROM group_tasks t JOIN groups g ON g.group_id = t.group_id
                WHERE t.due_at < $1 OR t.escalation_level > 0
                GROUP BY g.region_code ORDER BY g.region_code""",
            now,
        )
        day = local_date(now).isoformat()  # the ministry's (WIB) calendar day
        text = TEMPLATES["daily_digest"].text
        await queue_messages(
            self.pool,
            (
                OutboxMessage(
                    f"digest:{day}:{r['region_code']}",
                    None,
                    f"supervisor@{r['region_code']}",
                    "email",
                    "daily_digest",
                    text.format(count=r["n"], region=r["region_code"]),
                )
                for r in rows
            ),
        )
        await self.dispatch_outbox()
        log.info("daily_digest_sent", regions=len(rows))
        return len(rows)


def _outgoing(row: asyncpg.Record) -> Outgoing:
    return Outgoing(
        row["id"], row["recipient"], row["channel"], row["template"], row["body"], row["group_id"]
    )
