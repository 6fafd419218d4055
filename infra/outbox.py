"""Writing messages to the notification outbox (kotak keluar), in the caller's transaction.

Every message a step causes is a row of `notification_outbox`, written with the step and sent
afterwards by the worker (`activities/notifications.py`: a background try right after the step, the
`jps-outbox-sweep` Schedule every minute for the rest). A message's id is its idempotency key here
(`ON CONFLICT DO NOTHING`: a retried step writes it once) and at the gateway (a message sent twice
arrives once), so each caller derives it from what caused the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import asyncpg


class OutboxMessage(NamedTuple):
    id: str  # the idempotency key: `group_id:seq:n`, `sms:<message id>:reply`, …
    group_id: str | None  # the group (or grievance) it is about; None for a digest
    recipient: str  # a phone number (+62…) or an officer's address (`role@region`)
    channel: str  # sms | email
    template: str
    body: str


async def queue_messages(conn: asyncpg.Connection | asyncpg.Pool, messages: Iterable[OutboxMessage]) -> int:
    """Write the messages not written before; how many were given."""
    rows = list(messages)
    if rows:
        await conn.executemany(
            """INSERT INTO notification_outbox (id, group_id, recipient, channel, template, body)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING""",
            rows,
        )
    return len(rows)


async def sent_recently(
    conn: asyncpg.Connection | asyncpg.Pool, recipient: str, template: str, within_s: int
) -> bool:
    """Whether `recipient` was given a `template` message in the last `within_s` seconds (queued or
    sent): a bound on automatic replies, so a flood of messages from one number is not a flood back."""
    found = await conn.fetchval(
        """SELECT 1 FROM notification_outbox
            WHERE recipient = $1 AND template = $2 AND created_at > now() - make_interval(secs => $3)
            LIMIT 1""",
        recipient,
        template,
        float(within_s),
    )
    return found is not None
