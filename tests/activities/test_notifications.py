"""Outbox delivery against the real notification simulator and PostgreSQL: each recipient's messages
arrive in the order they were written while recipients go out side by side; a refused message holds
back that recipient's later ones only; an outage stops the round with nothing marked sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from activities.notifications import NotificationActivities
from activities.notify_client import NotifyClient

RECIPIENTS = [f"+62812000000{i:02d}" for i in range(12)]  # more than are sent to at once


async def write_outbox(pool: asyncpg.Pool, rows: list[tuple[str, str, str]]) -> None:
    await pool.executemany(
        """INSERT INTO notification_outbox (id, group_id, recipient, channel, template, body, created_at)
           VALUES ($1, 'G-1', $2, $3, 'proposal_received', 'Proposal diterima',
                   now() + make_interval(secs => $4))""",
        [(mid, recipient, channel, i * 0.001) for i, (mid, recipient, channel) in enumerate(rows)],
    )


@pytest.fixture
async def outbox(db: asyncpg.Pool, simulators: Any, notify_sim: Any) -> AsyncIterator[NotificationActivities]:
    client = NotifyClient(simulators.notify_url)
    try:
        yield NotificationActivities(db, client)
    finally:
        await client.aclose()


async def test_each_recipient_in_order_and_every_message_once(
    outbox: NotificationActivities, notify_sim: Any
) -> None:
    rows = [(f"m-{n}-{r}", r, "sms") for n in range(3) for r in RECIPIENTS]
    await write_outbox(outbox.pool, rows)
    assert await outbox.dispatch_outbox() == len(rows)
    received = notify_sim.messages(group_id="G-1")
    assert sorted(m["message_id"] for m in received) == sorted(mid for mid, _, _ in rows)
    for r in RECIPIENTS:
        assert [m["message_id"] for m in received if m["recipient"] == r] == [f"m-{n}-{r}" for n in range(3)]
    unsent = await outbox.pool.fetchval("SELECT count(*) FROM notification_outbox WHERE sent_at IS NULL")
    assert unsent == 0
    assert await outbox.dispatch_outbox() == 0  # nothing left, nothing sent twice
    assert len(notify_sim.messages(group_id="G-1")) == len(rows)


async def test_a_refused_message_holds_back_only_its_recipient(
    outbox: NotificationActivities, notify_sim: Any
) -> None:
    a, b = RECIPIENTS[:2]
    await write_outbox(
        outbox.pool, [("a-1", a, "pigeon"), ("a-2", a, "sms"), ("b-1", b, "sms"), ("b-2", b, "sms")]
    )
    assert await outbox.dispatch_outbox() == 2
    rows = {r["id"]: r for r in await outbox.pool.fetch("SELECT * FROM notification_outbox")}
    assert rows["a-1"]["sent_at"] is None and rows["a-1"]["attempts"] == 1 and rows["a-1"]["last_error"]
    assert rows["a-2"]["sent_at"] is None and rows["a-2"]["attempts"] == 0  # not sent ahead of a-1
    assert rows["b-1"]["sent_at"] is not None and rows["b-2"]["sent_at"] is not None


async def test_an_outage_stops_the_round_and_marks_nothing_sent(
    outbox: NotificationActivities, notify_sim: Any
) -> None:
    rows = [(f"m-{n}-{r}", r, "sms") for n in range(2) for r in RECIPIENTS]
    await write_outbox(outbox.pool, rows)
    notify_sim.faults(down=True)
    assert await outbox.dispatch_outbox() == 0
    attempts = [r["attempts"] for r in await outbox.pool.fetch("SELECT attempts FROM notification_outbox")]
    assert sum(attempts) < len(rows) and max(attempts) == 1  # stopped: not every message was tried
    assert notify_sim.messages(group_id="G-1") == []
    notify_sim.faults()
    assert await outbox.dispatch_outbox() == len(rows)
