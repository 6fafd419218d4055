"""Maker-checker and disbursement freezes through the officers' API, every refused path included.

Maker-checker: only finance approves (a supervisor cannot initiate); above the threshold nothing is
reserved or paid until a supervisor other than the approver authorizes (the approver cannot, not
even holding the supervisor role too; nor a finance officer; nor a supervisor outside the region);
both decisions are in the audit log with their officers. Freeze: only a national supervisor freezes
or lifts; a group reaching payment waits with an await_unfreeze task, across a worker restart; a
group paid before the freeze, and a programme the freeze does not name, are not affected; lifting
lets the waiting group proceed at its next check."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests.disbursement.conftest import Rig, eventually, worker_on
from tests.factories import proposal
from tests.workflows.harness import fund


async def act(
    rig: Rig,
    gid: str,
    action: str,
    role: Role | list[Role],
    body: dict[str, Any],
    expect: int = 200,
    **who: Any,
) -> dict[str, Any]:
    resp = await rig.http.post(f"/groups/{gid}/actions/{action}", json=body, headers=rig.auth(role, **who))
    assert resp.status_code == expect, f"{action}: {resp.status_code} {resp.text}"
    out: dict[str, Any] = resp.json()
    return out


async def to_approval(rig: Rig, p: Proposal) -> str:
    """Submit and walk the group to the approval step, as its officers would."""
    created = await rig.http.post("/groups", json=p.model_dump(mode="json"), headers=rig.auth(Role.REGISTRAR))
    assert created.status_code == 201, created.text
    gid: str = created.json()["group_id"]
    today = local_date(datetime.fromisoformat(created.json()["submitted_at"])).isoformat()  # WIB, not UTC
    await act(rig, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    await act(
        rig, gid, "schedule-training", Role.TRAINER, {"starts_on": today, "ends_on": today, "venue": "BLK"}
    )
    await act(rig, gid, "record-attendance", Role.TRAINER, {"attended_niks": [m.nik for m in p.members]})
    return gid


async def group(rig: Rig, gid: str) -> dict[str, Any]:
    resp = await rig.http.get(f"/groups/{gid}", headers=rig.auth(Role.AUDITOR))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def reaches(rig: Rig, gid: str, stage: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        g = await group(rig, gid)
        return g if g["stage"] == stage else None

    result: dict[str, Any] = await eventually(check, within=30)
    return result


def detail(resp: dict[str, Any]) -> str:
    return str(resp.get("detail"))


async def test_maker_checker(rig: Rig) -> None:
    await fund(rig.pool)
    async with worker_on(rig):
        big, small = await asyncio.gather(
            to_approval(rig, proposal(Program.TKM, size=10, amount=20_000_000)),  # threshold: 15,000,000
            to_approval(rig, proposal(Program.TKM, size=10, amount=10_000_000, account_no="2234567890")),
        )
        # A checker cannot initiate: approving is finance's.
        refused = await act(
            rig,
            big,
            "approve-disbursement",
            Role.SUPERVISOR,
            {"amount": 20_000_000},
            403,
            officer="checker-1",
        )
        assert "finance" in detail(refused)
        g = await act(
            rig,
            big,
            "approve-disbursement",
            Role.FINANCE,
            {"amount": 20_000_000, "notes": "sesuai RAB"},
            officer="maker-1",
        )
        assert g["open_task"]["kind"] == "authorize_disbursement"
        await asyncio.sleep(1.5)  # more than a budget check: nothing moves before the checker
        assert [line for line in rig.bank.statement() if line["transfer_id"].startswith(big)] == []
        assert (
            await rig.pool.fetchval("SELECT count(*) FROM budget_reservations WHERE group_id = $1", big) == 0
        )

        # The approver cannot authorize, even holding the supervisor role too; nor finance;
        # nor another region.
        refused = await act(
            rig, big, "authorize-disbursement", [Role.FINANCE, Role.SUPERVISOR], {}, 403, officer="maker-1"
        )
        assert "maker-checker" in detail(refused)
        await act(rig, big, "authorize-disbursement", Role.FINANCE, {}, 403, officer="finance-2")
        await act(
            rig, big, "authorize-disbursement", Role.SUPERVISOR, {}, 403, officer="checker-2", regions=["32"]
        )
        await act(
            rig, big, "authorize-disbursement", Role.SUPERVISOR, {"notes": "dicek"}, officer="checker-1"
        )
        await act(
            rig, big, "authorize-disbursement", Role.SUPERVISOR, {}, 409, officer="checker-3"
        )  # done already

        # At or below the threshold there is nothing to authorize: the approval pays.
        await act(rig, small, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000}, officer="maker-1")
        for gid, amount in ((big, 20_000_000), (small, 10_000_000)):
            g = await reaches(rig, gid, "mentoring")
            assert [(p["amount"], p["status"]) for p in g["payments"]] == [(amount, "paid")]
        await act(rig, small, "authorize-disbursement", Role.SUPERVISOR, {}, 409, officer="checker-1")

        audit = await rig.pool.fetch(
            """SELECT event, actor, actor_roles, details FROM audit_log
               WHERE group_id = $1 AND event LIKE 'disbursement_%' ORDER BY seq""",
            big,
        )
        assert [(r["event"], r["actor"], r["actor_roles"]) for r in audit] == [
            ("disbursement_approved", "maker-1", ["finance"]),
            ("disbursement_authorized", "checker-1", ["supervisor"]),
        ]
        assert audit[1]["details"]["approved_by"] == "maker-1"


async def test_freeze_waits_durably_and_spares_what_is_paid(rig: Rig) -> None:
    await fund(rig.pool)
    national: dict[str, Any] = {"officer": "pusat-1", "regions": ["*"]}
    async with worker_on(rig):
        paid_before, frozen, other_programme = await asyncio.gather(
            to_approval(rig, proposal(Program.TKM, size=10, amount=10_000_000)),
            to_approval(rig, proposal(Program.TKM, size=10, amount=10_000_000, account_no="2234567890")),
            to_approval(rig, proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)),
        )
        await act(rig, paid_before, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
        before = await reaches(rig, paid_before, "mentoring")
        spent_before = await rig.pool.fetchval("SELECT spent FROM budget_allocations WHERE program = 'tkm'")

        # Only a national supervisor freezes.
        body = {"program": "tkm", "region_code": "31", "reason": "Pilkada serentak 2020"}
        for headers in (
            rig.auth(Role.SUPERVISOR),
            rig.auth(Role.FINANCE, **national),
        ):  # regional; not supervisor
            resp = await rig.http.post("/budget/freezes", json=body, headers=headers)
            assert resp.status_code == 403, resp.text
        resp = await rig.http.post(
            "/budget/freezes", json=body, headers=rig.auth(Role.SUPERVISOR, **national)
        )
        assert resp.status_code == 201, resp.text
        freeze_id = resp.json()["freeze_id"]

        await act(rig, frozen, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
        await act(rig, other_programme, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})

        async def waiting() -> dict[str, Any] | None:
            g = await group(rig, frozen)
            return g if (g["open_task"] or {}).get("kind") == "await_unfreeze" else None

        g = await eventually(waiting)
        assert g["stage"] == "disbursement" and "Pilkada" in g["open_task"]["note"]

        async def working() -> dict[str, Any] | None:  # the freeze names TKM only: the wage bill is reserved
            g = await group(rig, other_programme)
            return g if "submit_muster" in {t["kind"] for t in g["open_tasks"]} else None

        await eventually(working)

    # Durable: no worker for a while, then a new one; the group still waits, nothing reserved or paid.
    await asyncio.sleep(1.5)
    async with worker_on(rig):
        await asyncio.sleep(2.5)  # a couple of re-checks by the new worker
        g = await group(rig, frozen)
        assert (
            g["stage"] == "disbursement"
            and g["open_task"]["kind"] == "await_unfreeze"
            and g["payments"] == []
        )
        assert (
            await rig.pool.fetchval("SELECT count(*) FROM budget_reservations WHERE group_id = $1", frozen)
            == 0
        )
        assert not [line for line in rig.bank.statement() if line["transfer_id"].startswith(frozen)]
        # What was paid before the freeze is untouched.
        assert (await group(rig, paid_before))["payments"] == before["payments"]
        assert (
            await rig.pool.fetchval("SELECT spent FROM budget_allocations WHERE program = 'tkm'")
            == spent_before
        )

        lift = {"reason": "masa pilkada selesai"}
        resp = await rig.http.post(
            f"/budget/freezes/{freeze_id}/lift", json=lift, headers=rig.auth(Role.SUPERVISOR)
        )
        assert resp.status_code == 403
        resp = await rig.http.post(
            f"/budget/freezes/{freeze_id}/lift", json=lift, headers=rig.auth(Role.SUPERVISOR, **national)
        )
        assert resp.status_code == 200, resp.text
        resp = await rig.http.post(
            f"/budget/freezes/{freeze_id}/lift", json=lift, headers=rig.auth(Role.SUPERVISOR, **national)
        )
        assert resp.status_code == 409

        g = await reaches(rig, frozen, "mentoring")
        assert [(p["amount"], p["status"]) for p in g["payments"]] == [(10_000_000, "paid")]
    paid = {line["transfer_id"]: line["amount"] for line in rig.bank.statement()}
    # Two TKM groups, once each; the Padat Karya workers are paid by the week, from muster rolls.
    assert sorted(paid.values()) == [10_000_000] * 2
    reserved = await rig.pool.fetchrow(
        "SELECT amount, status FROM budget_reservations WHERE reservation_id = $1", f"{other_programme}:0"
    )
    assert (reserved["amount"], reserved["status"]) == (10_000_000, "reserved")
    assert (await group(rig, paid_before))["payments"] == before["payments"]
    events = [
        r["event"]
        for r in await rig.pool.fetch("SELECT event FROM audit_log WHERE group_id = $1 ORDER BY seq", frozen)
    ]
    assert "disbursement_frozen" in events and events[-1] == "aid_paid"
