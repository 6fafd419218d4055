"""Notification delivery from the outbox (kotak keluar) to the SMS/WhatsApp/e-mail gateway.

Messages are written to `notification_outbox` in the same transaction as the step that caused
them; delivery happens afterwards and never inside a workflow's critical path, so a gateway outage
delays messages but never blocks or fails a group. Right after a step the worker tries that
group's messages in the background; the `dispatch_outbox` activity (run by a Temporal Schedule,
and by the daily digest) sweeps whatever is still unsent. Each message's id is its idempotency
key at the gateway, so a message sent twice by a sweep and a background try arrives once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import structlog
from temporalio import activity

from activities.notify_client import NotifyClient, NotifyRejectedError, NotifyTransientError
from jps.domain.calendar import local_date
from jps.domain.notifications import TEMPLATES

log = structlog.get_logger()

MAX_ATTEMPTS = 20  # after that a message stays in the outbox, visible, and is not retried
_CONCURRENT_RECIPIENTS = 8


class NotificationActivities:
    def __init__(self, pool: asyncpg.Pool, client: NotifyClient) -> None:
        self.pool = pool
        self.client = client
        self._lock = asyncio.Lock()

    async def deliver_group(self, group_id: str) -> int:
        """Best effort, right after a step: the group's unsent messages."""
        try:
            return await self._deliver("group_id = $1", group_id)
        except Exception as err:
            log.warning("notification_delivery_deferred", group_id=group_id, error=str(err))
            return 0

    @activity.defn(name="dispatch_outbox")
    async def dispatch_outbox(self) -> int:
        """Send every unsent message (the sweep). Returns how many went out."""
        return await self._deliver("true", None)

    async def _deliver(self, where: str, arg: str | None, limit: int = 500) -> int:
        """Send the selected unsent messages: each recipient's in order, recipients a few at once;
        the outcomes are written in two statements. A gateway outage stops the round (the sweep
        comes back); a message the gateway refuses counts an attempt and the rest go on."""
        async with self.pool.acquire() as conn, conn.transaction():
            # SKIP LOCKED: a sweep and a background try never send the same row at the same time.
            rows = await conn.fetch(
                f"""SELECT * FROM notification_outbox
                    WHERE sent_at IS NULL AND attempts < {MAX_ATTEMPTS} AND {where}
                    ORDER BY created_at LIMIT {limit} FOR UPDATE SKIP LOCKED""",
                *([arg] if arg is not None else []),
            )
            by_recipient: dict[str, list[asyncpg.Record]] = {}
            for row in rows:
                by_recipient.setdefault(row["recipient"], []).append(row)
            sent: list[str] = []
            failed: list[tuple[str, str]] = []
            outage = asyncio.Event()
            gate = asyncio.Semaphore(_CONCURRENT_RECIPIENTS)

            async def send_in_order(messages: list[asyncpg.Record]) -> None:
                async with gate:
                    for row in messages:
                        if outage.is_set():
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
                            failed.append((row["id"], err.message[:500]))
                            if isinstance(err, NotifyTransientError):
                                outage.set()  # the gateway is down: stop hammering it
                            return  # a later message must not overtake this one
                        sent.append(row["id"])

            await asyncio.gather(*(send_in_order(m) for m in by_recipient.values()))
            if sent:
                await conn.execute(
                    """UPDATE notification_outbox SET sent_at = $2, attempts = attempts + 1
                       WHERE id = ANY($1::text[])""",
                    sent,
                    datetime.now(UTC),
                )
            if failed:
                await conn.executemany(
                    "UPDATE notification_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                    failed,
                )
        return len(sent)

    @activity.defn(name="send_daily_digest")
    async def send_daily_digest(self) -> int:
        """Each region's supervisor gets the overdue and escalated tasks of that region (ringkasan harian)."""
        now = datetime.now(UTC)
        rows = await self.pool.fetch(
            """SELECT region_code, count(*) AS n FROM groups
               WHERE task_kind IS NOT NULL AND (task_due_at < $1 OR escalation_level > 0)
               GROUP BY region_code ORDER BY region_code""",
            now,
        )
        day = local_date(now).isoformat()  # the ministry's (WIB) calendar day
        text = TEMPLATES["daily_digest"].text
        await self.pool.executemany(
            """INSERT INTO notification_outbox (id, group_id, recipient, channel, template, body)
               VALUES ($1, NULL, $2, 'email', 'daily_digest', $3) ON CONFLICT (id) DO NOTHING""",
            [
                (
                    f"digest:{day}:{r['region_code']}",
                    f"supervisor@{r['region_code']}",
                    text.format(count=r["n"], region=r["region_code"]),
                )
                for r in rows
            ],
        )
        await self.dispatch_outbox()
        log.info("daily_digest_sent", regions=len(rows))
        return len(rows)
