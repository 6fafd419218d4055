"""Post-payment verification over HTTP (issue 14), on the real stack: a TKM group is paid; the day's
draw asks its leader and two members by SMS (through the outbox and the notification simulator); the
members answer through the simulator's inbound side (duplicated, out of order): the leader "TIDAK"
(a payment_not_received grievance opens and the transfer is flagged on the reconciliation list),
another "ya" (confirmed); the third never answers, is reminded once and counted as no answer. The
report shows the counts and the 95 % Wilson interval, checked against a hand-computed value.

The verification's own worker here runs a compressed policy (a reminder after 3 s, no answer 3 s
later) on a task queue of its own, with every other workflow and activity of the stack (the grievance
the TIDAK opens runs on the same queue)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from temporalio.worker import Worker

from activities.bank_client import BankClient
from activities.notifications import NotificationActivities
from activities.notify_client import NotifyClient
from activities.verification import VerificationActivities
from jps.contracts.verification import DrawResult, VerificationDayInput
from jps.domain.calendar import local_date
from jps.domain.programs import Program, load_policies
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack
from tests.api.test_public_status import TKM_PAID, paid
from tests.sim_fixtures import NotifyAdmin, Simulators
from worker import WORKFLOWS, build_activities, verification_activities
from workflows.verification import DailyVerificationWorkflow

T = TypeVar("T")

SECONDS = 3  # reminder after, and no answer after the reminder


async def eventually(probe: Callable[[], Awaitable[T | None]], within_s: float = 45) -> T:
    async with asyncio.timeout(within_s):
        while True:
            found = await probe()
            if found:
                return found
            await asyncio.sleep(0.2)


@pytest.fixture
async def queue(stack: Stack, simulators: Simulators, notify_sim: NotifyAdmin) -> AsyncIterator[str]:
    """A worker of this test's own, with the verification's timings compressed to seconds; the
    notification simulator delivers members' SMS to this stack's webhook."""
    policies = load_policies(
        overrides={
            p.value: {"verification": {"reminder_after": SECONDS, "answer_within": SECONDS}} for p in Program
        }
    )
    async with httpx.AsyncClient(base_url=simulators.notify_url) as sim:
        config = {"inbound_url": f"{stack.url}/inbound/sms", "inbound_secret": stack.settings.sms_hmac_secret}
        assert (await sim.post("/admin/inbound/config", json=config)).status_code == 200
    task_queue = f"verify-test-{uuid.uuid4().hex[:8]}"
    bank = BankClient(simulators.bank_url, callback_url=f"{stack.url}/payments/callback")
    notify = NotifyClient(simulators.notify_url)
    notifications = NotificationActivities(stack.pool, notify)
    others = [
        a
        for a in build_activities(stack.pool, bank, notify)
        if not isinstance(getattr(a, "__self__", None), VerificationActivities)
    ]
    ours = VerificationActivities(stack.pool, policies, on_outbox=notifications.deliver_soon)
    worker = Worker(
        stack.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[*others, *verification_activities(ours)],
    )
    try:
        async with worker:
            yield task_queue
    finally:
        await bank.aclose()
        await notify.aclose()


async def deliver(
    simulators: Simulators, messages: list[dict[str, Any]], **faults: Any
) -> list[dict[str, Any]]:
    """Members' SMS, delivered by the notification simulator to POST /inbound/sms (signed)."""
    async with httpx.AsyncClient(base_url=simulators.notify_url, timeout=60) as sim:
        resp = await sim.post("/admin/inbound", json={"messages": messages, **faults})
        assert resp.status_code == 200, resp.text
        deliveries: list[dict[str, Any]] = resp.json()["deliveries"]
        return deliveries


async def samples(stack: Stack) -> dict[str, dict[str, Any]]:
    rows = await stack.pool.fetch(
        """SELECT s.*, m.phone, m.is_leader AS leader FROM verification_samples s
             JOIN members m ON m.group_id = s.group_id AND m.member_no = s.member_no"""
    )
    return {r["phone"]: dict(r) for r in rows}


async def test_tidak_opens_a_grievance_and_flags_the_transfer_ya_confirms_silence_is_reminded_then_counted(
    stack: Stack, http: httpx.AsyncClient, simulators: Simulators, notify_sim: NotifyAdmin, queue: str
) -> None:
    proposal = factories.proposal(Program.TKM, size=12, amount=TKM_PAID, name="Kelompok Usaha Maju Jaya")
    gid = await paid(http, stack, proposal, TKM_PAID)
    [transfer_id] = [r["transfer_id"] for r in await stack.pool.fetch("SELECT transfer_id FROM payments")]
    day = local_date(datetime.now(UTC))

    drawn: DrawResult = await stack.client.execute_workflow(
        DailyVerificationWorkflow.run,
        VerificationDayInput(day=day),
        id=f"verify-day-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    # TKM: the leader and two members of the group, nobody else.
    assert drawn.units == 12 and len(drawn.samples) == 3

    async def asked() -> list[dict[str, Any]] | None:
        found = notify_sim.messages(template="payment_check")
        return found if len(found) == 3 else None

    questions = await eventually(asked)
    phones = {m.phone: m for m in proposal.members}
    assert all(q["recipient"] in phones and q["channel"] == "sms" for q in questions)
    assert all("Rp 10.000.000" in q["body"] and "Balas YA atau TIDAK" in q["body"] for q in questions)
    by_phone = await samples(stack)
    leader = next(p for p, s in by_phone.items() if s["leader"])
    second, silent = sorted(p for p in by_phone if p != leader)

    # A number nobody asked, and a badly signed delivery: neither is taken.
    [stranger] = await deliver(simulators, [{"from_phone": "+6281299999999", "text": "YA"}])
    assert stranger["status"] == 200 and stranger["answer"]["handled"] is False
    forged = await deliver(simulators, [{"from_phone": leader, "text": "YA"}], bad_signature=True)
    assert [d["status"] for d in forged] == [401]

    # The leader says TIDAK, another member "ya": each delivered twice, last first.
    answers = await deliver(
        simulators,
        [{"from_phone": leader, "text": "TIDAK"}, {"from_phone": second, "text": "ya"}],
        duplicates=1,
        out_of_order=True,
    )
    assert [d["status"] for d in answers] == [200] * 4
    assert sorted(d["answer"]["duplicate"] for d in answers) == [False, False, True, True]
    assert {d["answer"]["handler"] for d in answers} == {"verification_reply"}

    async def settled() -> dict[str, dict[str, Any]] | None:
        now = await samples(stack)
        done = now[leader]["grievance_id"] and now[second]["status"] == "confirmed"
        return now if done and now[silent]["status"] == "no_answer" else None

    final = await eventually(settled)
    assert final[leader]["status"] == "denied"
    # The silent one was reminded once, then counted.
    reminders = notify_sim.messages(template="payment_check_reminder")
    assert [m["recipient"] for m in reminders] == [silent]
    assert "Pengingat" in reminders[0]["body"]

    # The TIDAK: the transfer is on the reconciliation list, for finance of the group's region.
    finance = stack.auth(Role.FINANCE, regions=["31"])
    flagged = (
        await http.get("/reconciliation/mismatches", params={"kind": "member_denied"}, headers=finance)
    ).json()
    assert flagged["total"] == 1
    [flag] = flagged["items"]
    assert (flag["transfer_id"], flag["group_id"], flag["status"]) == (transfer_id, gid, "open")

    # ... and a payment_not_received grievance, filed from the verification, about that transfer.
    grievance_id = final[leader]["grievance_id"]
    case = await http.get(f"/grievances/{grievance_id}", headers=finance)
    assert case.status_code == 200, case.text
    body = case.json()
    assert body["category"] == "payment_not_received" and body["channel"] == "verification"
    assert body["transfer_id"] == transfer_id and body["group_id"] == gid

    # The report: 3 asked, 1 YA, 1 TIDAK, 1 no answer; rate 1/2 with its Wilson interval, by hand:
    # centre (0.5 + z²/4) / (1 + z²/2) = 0.5, half-width z·√(1/8 + z²/16) / (1 + z²/2) = 0.405470.
    for path in ("/reports/payment-verification", "/reports/verification"):
        report = (await http.get(path, headers=stack.auth(Role.SUPERVISOR, regions=["3171"]))).json()
        [row] = report["items"]
        assert (row["region_code"], row["program"]) == ("3171", "tkm")
        counts = (row["sampled"], row["confirmed"], row["denied"], row["no_answer"], row["awaiting"])
        assert counts == (3, 1, 1, 1, 0)
        assert row["rate"] == 0.5
        assert row["rate_low"] == pytest.approx(0.0945, abs=1e-4)
        assert row["rate_high"] == pytest.approx(0.9055, abs=1e-4)
        assert report["totals"][0]["sampled"] == 3
    elsewhere = await http.get(
        "/reports/payment-verification", headers=stack.auth(Role.SUPERVISOR, regions=["32"])
    )
    assert elsewhere.json()["items"] == []
    assert (await http.get("/reports/payment-verification")).status_code == 401

    # The group's timeline shows each check: three asked, one reminded, and each answer, the TIDAK
    # with the case it opened; no member's phone or NIK.
    history = await http.get(f"/groups/{gid}/history", headers=stack.auth(Role.AUDITOR, regions=["*"]))
    checks = [e for e in history.json()["events"] if e["event"].startswith("payment_check_")]
    assert sorted(e["event"] for e in checks) == sorted(
        ["payment_check_asked"] * 3
        + ["payment_check_reminded", "payment_check_confirmed", "payment_check_denied"]
        + ["payment_check_unanswered"]
    )
    [denied] = [e for e in checks if e["event"] == "payment_check_denied"]
    assert denied["details"]["grievance_id"] == grievance_id
    assert denied["details"]["transfer_id"] == transfer_id
    assert not any(m.phone in history.text or m.nik in history.text for m in proposal.members)

    # Drawing the same day again asks nobody twice.
    again: DrawResult = await stack.client.execute_workflow(
        DailyVerificationWorkflow.run,
        VerificationDayInput(day=day),
        id=f"verify-day-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    assert again.already_drawn and [s.sample_id for s in again.samples] == [
        s.sample_id for s in drawn.samples
    ]
    await asyncio.sleep(0.5)
    assert len(notify_sim.messages(template="payment_check")) == 3
