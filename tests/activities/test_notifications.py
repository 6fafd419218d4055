"""Outbox delivery against the real notification simulator and PostgreSQL: each recipient's messages
arrive in the order they were written while recipients go out side by side; a refused message holds
back that recipient's later ones only; an outage stops the round with nothing marked sent. And the
supervisors' daily digest counts every late or escalated open task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import pytest
from pydantic import ValidationError

from activities.db import ReadModelActivities, render
from activities.notifications import CLAIM_LEASE, NotificationActivities
from activities.notify_client import NotifyClient
from jps.domain.models import Receivable, Task
from jps.domain.roles import Role
from jps.domain.stages import TASK_ROLES, Stage, TaskKind
from jps.settings import OUTBOX_CLAIM_LEASE_MIN_S, Settings, get_settings
from tests import factories
from tests.activities.records import step
from worker import build_activities

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
    assert notify_sim.stats()["batches"] == 3  # a request a round of each recipient's next message
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
    """A batch the gateway fails whole counts no attempt; the rounds of the next `one_by_one_s` go
    one message a request (counting, as before batches), then batches again."""
    outbox.one_by_one_s = 1.0
    rows = [(f"m-{n}-{r}", r, "sms") for n in range(2) for r in RECIPIENTS]
    await write_outbox(outbox.pool, rows)
    notify_sim.faults(down=True)
    assert await outbox.dispatch_outbox() == 0
    assert await _attempts(outbox.pool) == [0] * len(rows)  # the outage is not the messages' fault
    errors = await outbox.pool.fetch(
        "SELECT last_error FROM notification_outbox WHERE last_error LIKE '%503%'"
    )
    assert len(errors) == len(RECIPIENTS)  # the batch's (each recipient's first): tried, visibly
    assert await outbox.dispatch_outbox() == 0  # one by one now: the first failure stops the round
    attempts = await _attempts(outbox.pool)
    assert 0 < sum(attempts) < len(rows) and max(attempts) == 1  # stopped: not every message was tried
    assert notify_sim.messages(group_id="G-1") == []
    notify_sim.faults()
    before = notify_sim.stats()["batches"]
    assert await outbox.dispatch_outbox() == len(rows)  # still one by one, each recipient in order
    assert notify_sim.stats()["batches"] == before
    await asyncio.sleep(1.1)
    await write_outbox(outbox.pool, [("later-1", RECIPIENTS[0], "sms"), ("later-2", RECIPIENTS[1], "sms")])
    assert await outbox.dispatch_outbox() == 2  # its time is up: batches again
    assert notify_sim.stats()["batches"] == before + 1


async def test_a_message_the_batch_answer_leaves_out_counts_an_attempt(
    outbox: NotificationActivities, notify_sim: Any
) -> None:
    a, b = RECIPIENTS[:2]
    await write_outbox(outbox.pool, [("a-1", a, "sms"), ("a-2", a, "sms"), ("b-1", b, "sms")])
    notify_sim.faults(batch_omit_rate=1.0)
    assert await outbox.dispatch_outbox() == 0
    rows = {r["id"]: r for r in await outbox.pool.fetch("SELECT * FROM notification_outbox")}
    for mid in ("a-1", "b-1"):
        assert rows[mid]["attempts"] == 1 and "left it out" in rows[mid]["last_error"]
    assert rows["a-2"]["attempts"] == 0  # not sent ahead of a-1
    notify_sim.faults()
    assert await outbox.dispatch_outbox() == 3
    assert [m["message_id"] for m in notify_sim.messages(recipient=a)] == ["a-1", "a-2"]


async def test_a_gateway_without_batches_gets_every_message_one_by_one(
    outbox: NotificationActivities, notify_sim: Any
) -> None:
    rows = [(f"m-{n}-{r}", r, "sms") for n in range(2) for r in RECIPIENTS[:4]]
    await write_outbox(outbox.pool, rows)
    notify_sim.faults(no_batches=True)
    assert await outbox.dispatch_outbox() == 0  # the batch refused whole (404): no attempt counted
    assert await _attempts(outbox.pool) == [0] * len(rows)
    assert await outbox.dispatch_outbox() == len(rows)  # one message a request from then on
    assert await _attempts(outbox.pool) == [1] * len(rows)
    assert notify_sim.stats()["batches"] == 0


async def _attempts(pool: asyncpg.Pool) -> list[int]:
    return [r["attempts"] for r in await pool.fetch("SELECT attempts FROM notification_outbox ORDER BY id")]


async def test_steps_close_together_share_one_background_round(
    outbox: NotificationActivities, notify_sim: Any
) -> None:
    """Five steps' messages, each step asking for a delivery at once: one claim, one request."""
    await write_outbox(outbox.pool, [(f"s-{i}", r, "sms") for i, r in enumerate(RECIPIENTS[:5])])
    before = notify_sim.stats()["batches"]
    sent = await asyncio.gather(*(outbox.deliver_soon(f"G-{i}") for i in range(5)))
    assert sent == [5] * 5  # every step's try is the same round
    assert notify_sim.stats()["batches"] == before + 1
    assert len(notify_sim.messages(group_id="G-1")) == 5


def _task(kind: TaskKind, *, due_in: timedelta, escalation_level: int = 0) -> Task:
    now = datetime.now(UTC)
    return Task(
        kind=kind,
        roles=[Role.FINANCE],
        opened_at=now - timedelta(days=10),
        due_at=now + due_in,
        escalation_level=escalation_level,
    )


async def _group_with_tasks(pool: asyncpg.Pool, group_id: str, region: str, tasks: list[Task]) -> None:
    """A group in disbursement recorded as the workflow records it, waiting on `tasks`."""
    record = step(group_id, 1, stage=Stage.DISBURSEMENT, proposal=factories.proposal(region=region))
    record.state.open_tasks = tasks
    record.state.escalation_level = max(t.escalation_level for t in tasks)
    assert await ReadModelActivities(pool).record_transition(record)


async def test_the_daily_digest_counts_every_late_or_escalated_task(
    outbox: NotificationActivities, notify_sim: Any
) -> None:
    """A group late on two tasks counts two (the old query read the group's single most urgent task
    and counted one); a task escalated but not yet due counts; one on time and with its assignee
    does not, and a region with nothing late gets no digest."""
    late, soon = timedelta(days=-1), timedelta(days=2)
    await _group_with_tasks(
        outbox.pool,
        "TKM-3171-DIGEST0001",
        "3171",
        [
            _task(TaskKind.UPDATE_BANK_ACCOUNT, due_in=late, escalation_level=2),
            _task(TaskKind.INVESTIGATE_PAYMENT, due_in=late),
        ],
    )
    await _group_with_tasks(
        outbox.pool, "TKM-3171-DIGEST0002", "3171", [_task(TaskKind.APPROVE_DISBURSEMENT, due_in=soon)]
    )
    await _group_with_tasks(
        outbox.pool,
        "TKM-3273-DIGEST0003",
        "3273",
        [_task(TaskKind.AUTHORIZE_DISBURSEMENT, due_in=soon, escalation_level=1)],
    )
    await _group_with_tasks(
        outbox.pool, "TKM-3374-DIGEST0004", "3374", [_task(TaskKind.APPROVE_DISBURSEMENT, due_in=soon)]
    )

    assert await outbox.send_daily_digest() == 2  # regions with something late
    digests = {m["recipient"]: m["body"] for m in notify_sim.messages() if m["template"] == "daily_digest"}
    assert set(digests) == {"supervisor@3171", "supervisor@3273"}
    assert "2 tugas terlambat/tereskalasi di wilayah 3171" in digests["supervisor@3171"]
    assert "1 tugas terlambat/tereskalasi di wilayah 3273" in digests["supervisor@3273"]
    assert await outbox.send_daily_digest() == 2  # again the same day: the same message ids, none twice
    assert len([m for m in notify_sim.messages() if m["template"] == "daily_digest"]) == 2


async def test_the_digest_waits_behind_the_supervisors_message_still_out(
    outbox: NotificationActivities, notify_sim: Any
) -> None:
    """The supervisor's escalation, queued first, is out in another run (claimed, not yet sent) when
    the digest is queued: the digest's own round leaves it, since a recipient's messages go in order,
    and the next round after the escalation is written sends it (the dev-server test waited only 20 s
    for a round, and failed once when the next one was the minute's sweep)."""
    await _group_with_tasks(
        outbox.pool, "TKM-3171-DIGEST0005", "3171", [_task(TaskKind.VERIFY, due_in=timedelta(days=-4))]
    )
    await outbox.pool.execute(
        """INSERT INTO notification_outbox (id, group_id, recipient, channel, template, body, created_at,
                                            claimed_until)
           VALUES ('esc-1', 'TKM-3171-DIGEST0005', 'supervisor@3171', 'email', 'escalated_regional',
                   'Eskalasi', now() - interval '1 second', now() + interval '1 minute')"""
    )
    assert await outbox.send_daily_digest() == 1
    assert notify_sim.messages(recipient="supervisor@3171") == []  # held back behind esc-1
    await outbox.pool.execute("UPDATE notification_outbox SET claimed_until = NULL WHERE id = 'esc-1'")
    assert await outbox.dispatch_outbox() == 2  # the other run's claim gone: both, in their order
    sent = notify_sim.messages(recipient="supervisor@3171")
    assert [m["template"] for m in sent] == ["escalated_regional", "daily_digest"]


async def test_a_claim_holds_for_the_lease_the_worker_is_given(
    db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JPS_OUTBOX_CLAIM_LEASE_S reaches the worker's delivery runs: a claimed message is held that long
    (a killed worker's claims expire then), 150 s unless set; a lease shorter than a run can last
    (jps/settings.py, OUTBOX_CLAIM_LEASE_MIN_S) is refused."""
    monkeypatch.setenv("JPS_OUTBOX_CLAIM_LEASE_S", str(OUTBOX_CLAIM_LEASE_MIN_S))
    get_settings.cache_clear()
    try:
        activities = build_activities(db, cast(Any, None), cast(Any, None))
    finally:
        monkeypatch.delenv("JPS_OUTBOX_CLAIM_LEASE_S")
        get_settings.cache_clear()
    [dispatch] = [a for a in activities if getattr(a, "__name__", "") == "dispatch_outbox"]
    notifications = cast(NotificationActivities, cast(Any, dispatch).__self__)
    await write_outbox(db, [("m-lease", RECIPIENTS[0], "sms")])
    assert [r["id"] for r in await notifications._claim(None)] == ["m-lease"]
    held = await db.fetchval(  # the database's own clock on both sides
        "SELECT extract(epoch FROM claimed_until - clock_timestamp()) FROM notification_outbox"
    )
    assert OUTBOX_CLAIM_LEASE_MIN_S - 5 < held <= OUTBOX_CLAIM_LEASE_MIN_S
    assert CLAIM_LEASE == timedelta(seconds=150)  # the default: Settings' field
    with pytest.raises(ValidationError, match="JPS_OUTBOX_CLAIM_LEASE_S"):
        Settings(JPS_OUTBOX_CLAIM_LEASE_S=OUTBOX_CLAIM_LEASE_MIN_S - 1)


async def test_a_reminder_goes_to_the_roles_of_the_task_it_is_about(db: asyncpg.Pool) -> None:
    """A paid TKM group waits on its mentor's visit (due first) and, beside it, on a verifier's LPJ
    review: the review's reminder goes to the verifiers, its regional escalation to the supervisor,
    never to the mentor whose visit happens to be due first."""
    now = datetime.now(UTC)
    tasks = [
        Task(kind=k, roles=list(TASK_ROLES[k]), opened_at=now - timedelta(days=9), due_at=now - late)
        for k, late in ((TaskKind.REPORT_VISIT, timedelta(days=2)), (TaskKind.REVIEW_LPJ, timedelta(days=1)))
    ]
    rm = ReadModelActivities(db)
    group = "TKM-3171-REMINDLPJ1"
    assert await rm.record_transition(step(group, 1, stage=Stage.MENTORING))
    for seq, event, level in ((2, "reminder", 1), (3, "escalated_regional", 2)):
        record = step(
            group, seq, stage=Stage.MENTORING, event=event, notify=(event,), task="review_lpj", level=level
        )
        record.state.open_tasks = tasks
        assert await rm.record_transition(record)
    rows = await db.fetch(
        "SELECT template, recipient, body FROM notification_outbox WHERE group_id = $1 ORDER BY id", group
    )
    assert [(r["template"], r["recipient"]) for r in rows] == [
        ("reminder", "verifier@3171"),
        ("escalated_regional", "supervisor@3171"),
    ]
    assert "tugas review_lpj" in rows[0]["body"]


@pytest.mark.parametrize(
    ("why", "reason", "said"),
    [
        (
            "overdue",
            "no LPJ accepted by 2027-02-28 and its last escalation",
            "LPJ tidak disampaikan hingga batas waktu",
        ),
        ("short", "", "sisa bantuan yang tidak dipertanggungjawabkan dalam LPJ"),
        ("rejected", "nota fiktif", "LPJ ditolak: nota fiktif"),
    ],
)
def test_the_leader_is_told_in_indonesian_why_aid_is_owed_back(why: str, reason: str, said: str) -> None:
    """The group's leader reads why in words of their own language: never the system's English reason
    of an overdue LPJ, nor a colon left hanging when the verifier accepted it short without a note."""
    record = step("TKM-3171-OWEDBACK01", 9, stage=Stage.RECOVERY, event=f"lpj_{why}").model_copy(
        update={"reason": reason}
    )
    record.state.receivable = Receivable(amount=2_500_000, reason=why, opened_at=datetime.now(UTC))
    text = render("recovery_opened", record, record.state)
    assert f"Rp 2,500,000 wajib dikembalikan ({said})." in text, text
    assert "no LPJ" not in text
