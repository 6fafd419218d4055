"""Budget allocations and disbursement freezes over HTTP: national officers set them, others read them
in scope, every change is audited, and a frozen region's groups wait at disbursement."""

from __future__ import annotations

import asyncio

import httpx

from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, submit, today, wait_for_task


async def test_allocations(stack: Stack, http: httpx.AsyncClient) -> None:
    national = stack.auth(Role.FINANCE, regions=["*"], officer="finance-pusat")
    body = {"amount": 7_000_000_000, "reason": "DIPA 2020 revisi 2"}
    resp = await http.put("/budget/allocations/tkm/3171", json=body, headers=national)
    assert resp.status_code == 200
    assert resp.json() == {
        "program": "tkm",
        "region_code": "3171",
        "amount": 7_000_000_000,
        "reserved": 0,
        "spent": 0,
        "available": 7_000_000_000,
    }
    audit = await stack.pool.fetchrow("SELECT * FROM audit_log WHERE event = 'budget_allocated'")
    assert audit["actor"] == "finance-pusat" and audit["reason"] == "DIPA 2020 revisi 2"
    assert audit["details"]["amount"] == 7_000_000_000

    regional = stack.auth(Role.FINANCE, regions=["31"])
    assert (await http.put("/budget/allocations/tkm/3171", json=body, headers=regional)).status_code == 403
    verifier = stack.auth(Role.VERIFIER, regions=["*"])
    assert (await http.put("/budget/allocations/tkm/3171", json=body, headers=verifier)).status_code == 403
    assert (await http.get("/budget/allocations", headers=verifier)).status_code == 403
    bad = await http.put("/budget/allocations/tkm/Jakarta", json=body, headers=national)
    assert bad.status_code == 422

    jakarta_pusat = stack.auth(Role.SUPERVISOR, regions=["3171"])
    seen = (await http.get("/budget/allocations", headers=jakarta_pusat)).json()
    assert {(a["program"], a["region_code"]) for a in seen} == {
        ("tkm", "31"),
        ("tkm", "3171"),
        ("padat_karya", "31"),
    }
    seen = (await http.get("/budget/allocations", headers=regional)).json()
    assert {(a["program"], a["region_code"]) for a in seen} == {
        ("tkm", "31"),
        ("tkm", "3171"),
        ("padat_karya", "31"),
    }  # the fixture funds 31 and 32 for both programmes; 32 is outside the scope

    await stack.pool.execute(
        "UPDATE budget_allocations SET reserved = 10000000, spent = 90000000 WHERE region_code = '3171'"
    )
    resp = await http.put(
        "/budget/allocations/tkm/3171", json={"amount": 50_000_000, "reason": "cut"}, headers=national
    )
    assert resp.status_code == 409 and "reserved and spent" in resp.json()["detail"]


async def test_freeze_holds_disbursement_and_lifts(stack: Stack, http: httpx.AsyncClient) -> None:
    supervisor = stack.auth(Role.SUPERVISOR, regions=["*"], officer="direktur")
    assert (
        await http.post("/budget/freezes", json={"region_code": "31", "reason": "x"}, headers=supervisor)
    ).status_code == 422
    assert (
        await http.post(
            "/budget/freezes",
            json={"region_code": "31", "reason": "Pilkada 2020"},
            headers=stack.auth(Role.SUPERVISOR, regions=["31"]),
        )
    ).status_code == 403
    resp = await http.post(
        "/budget/freezes", json={"region_code": "31", "reason": "Pilkada 2020"}, headers=supervisor
    )
    assert resp.status_code == 201
    freeze = resp.json()
    assert freeze["frozen_by"] == "direktur" and freeze["lifted_at"] is None

    proposal = factories.proposal()
    gid = (await submit(http, stack, proposal))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today(), "ends_on": today(), "venue": "BLK"},
    )
    await act(
        http,
        stack,
        gid,
        "record-attendance",
        Role.TRAINER,
        {"attended_niks": [m.nik for m in proposal.members]},
    )
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
    group = await wait_for_task(http, stack, gid, "await_unfreeze")
    assert group["open_task"]["kind"] == "await_unfreeze" and "Pilkada" in group["open_task"]["note"]
    assert group["stage"] == "disbursement" and group["payments"] == []

    listed = (await http.get("/budget/freezes", headers=stack.auth(Role.AUDITOR))).json()
    assert [f["freeze_id"] for f in listed] == [freeze["freeze_id"]]
    lifted = await http.post(
        f"/budget/freezes/{freeze['freeze_id']}/lift", json={"reason": "selesai"}, headers=supervisor
    )
    assert lifted.status_code == 200 and lifted.json()["lifted_by"] == "direktur"
    again = await http.post(
        f"/budget/freezes/{freeze['freeze_id']}/lift", json={"reason": "selesai"}, headers=supervisor
    )
    assert again.status_code == 409
    assert (
        await http.post("/budget/freezes/999/lift", json={"reason": "selesai"}, headers=supervisor)
    ).status_code == 404
    events = [
        r["event"] for r in await stack.pool.fetch("SELECT event FROM audit_log WHERE group_id IS NULL")
    ]
    assert events == ["request_refused", "disbursements_frozen", "freeze_lifted"]  # the regional 403 too

    # The lift nudged the waiting group: it is paid now, not after the policy's one-day re-check.
    for _ in range(200):
        group = (await http.get(f"/groups/{gid}", headers=stack.auth(Role.AUDITOR))).json()
        if group["stage"] == "mentoring":
            break
        await asyncio.sleep(0.05)
    assert group["stage"] == "mentoring" and [p["status"] for p in group["payments"]] == ["paid"]
