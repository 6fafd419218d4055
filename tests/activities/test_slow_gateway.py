"""A slow notification gateway never stalls a group (issue 10, scenario 7), against the real
notification simulator answering in 5 s and PostgreSQL with the tests' pool of 10 connections.

Groups take steps while a few hundred messages wait in the outbox: each step queues messages and
starts a background delivery, as in the worker, and the sweep runs too. Before, each delivery held a
connection (and a transaction) across its HTTP calls, so ten of them exhausted the pool and every
`record_transition` waited the gateway's 5 s for one. Now no step waits for the deliveries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from activities.db import ReadModelActivities
from activities.notifications import NotificationActivities
from activities.notify_client import NotifyClient
from jps.domain.stages import Stage
from tests.activities.records import step
from tests.sim_fixtures import NotifyAdmin

GATEWAY_ANSWERS_IN_MS = 5_000
QUEUED = 300  # messages already waiting
GROUPS = 30  # each takes two steps while the gateway is slow
STEP_BOUND_S = 1.0  # far below the gateway's 5 s: a step never waits for a delivery


@pytest.fixture
async def notify(simulators: Any, notify_sim: NotifyAdmin) -> AsyncIterator[NotifyClient]:
    async with NotifyClient(simulators.notify_url) as client:  # the worker's timeout (5 s)
        yield client


async def queue_messages(pool: asyncpg.Pool, n: int) -> None:
    await pool.executemany(
        """INSERT INTO notification_outbox (id, group_id, recipient, channel, template, body)
           VALUES ($1, $2, $3, 'sms', 'reminder', 'Pengingat tugas')""",
        [(f"old:{i}", f"TKM-3171-OLDGROUP{i % 50:03d}", f"+62813{i:07d}") for i in range(n)],
    )


async def test_steps_do_not_wait_for_a_slow_gateway(
    db: asyncpg.Pool, notify: NotifyClient, notify_sim: NotifyAdmin
) -> None:
    await queue_messages(db, QUEUED)
    notify_sim.faults(answer_delay_ms=GATEWAY_ANSWERS_IN_MS)
    notifications = NotificationActivities(db, notify, run_budget_s=8.0)  # the sweep's budget, shortened
    read_model = ReadModelActivities(db, on_outbox=notifications.deliver_soon)
    sweep = asyncio.create_task(notifications.dispatch_outbox())

    took: list[float] = []
    groups = [f"TKM-3171-SLOWGATE{i:03d}" for i in range(GROUPS)]
    for seq, stage, template in (
        (1, Stage.VERIFICATION, "proposal_received"),
        (2, Stage.TRAINING, "proposal_approved"),
    ):
        for gid in groups:
            record = step(gid, seq, stage=stage, notify=(template,))
            started = time.monotonic()
            assert await read_model.record_transition(record)
            took.append(time.monotonic() - started)
    assert len(took) == 2 * GROUPS
    assert max(took) < STEP_BOUND_S, f"slowest step {max(took):.2f}s"
    assert await db.fetchval("SELECT count(*) FROM groups") == GROUPS

    # The deliveries end on their own, bounded (the gateway too slow: they stop and stand aside).
    await asyncio.wait_for(asyncio.gather(sweep, *read_model._background), timeout=60)
    # A gateway that answers again gets every message, each once.
    notify_sim.faults()
    for _ in range(10):
        if not await notifications.dispatch_outbox():
            break
    unsent = await db.fetchval("SELECT count(*) FROM notification_outbox WHERE sent_at IS NULL")
    total = await db.fetchval("SELECT count(*) FROM notification_outbox")
    assert unsent == 0 and total > QUEUED
    ids = [m["message_id"] for m in notify_sim.messages()]
    assert len(ids) == len(set(ids)) == total


async def test_a_gateway_answering_drop_by_drop_cannot_hold_a_run_past_its_lease(
    db: asyncpg.Pool, simulators: Any, notify_sim: NotifyAdmin
) -> None:
    """The gateway stores the message, then answers a byte every 0.5 s: no read of the client waits
    its 1 s timeout, so without a bound on the whole request the answer (about 60 bytes) would take
    half a minute, and a delivery run could outlive its claim's lease (another run would send the same
    messages). The client gives up after twice its timeout, as after any timeout: the message stays
    unsent with the error, for the next run; its key stores it once however often it is sent."""
    notify_sim.faults(dribble_ms=500)
    async with NotifyClient(simulators.notify_url, timeout=1.0) as client:
        notifications = NotificationActivities(db, client)
        await queue_messages(db, 1)
        started = time.monotonic()
        assert await asyncio.wait_for(notifications.dispatch_outbox(), timeout=15) == 0
        took = time.monotonic() - started
        assert took < 5, f"the run took {took:.1f} s"
        row = await db.fetchrow("SELECT sent_at, last_error, claimed_until FROM notification_outbox")
        assert row["sent_at"] is None and "took over 2 s" in row["last_error"], dict(row)
        assert row["claimed_until"] is None  # released for the next run
        assert [m["message_id"] for m in notify_sim.messages()] == ["old:0"]  # the gateway has it once
        notify_sim.faults()
        assert await notifications.dispatch_outbox() == 1  # the next run: sent, still once at the gateway
        assert len(notify_sim.messages()) == 1
