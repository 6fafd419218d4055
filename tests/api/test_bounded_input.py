"""Issue 10, scenario 5, over HTTP: a date or an amount an officer sends that the workflow could not
compute with is a 422 naming the field, never a 500 or a wedged group. Before the bounds,
`ends_on: 9999-12-31` overflowed the due-date arithmetic inside the update's handler, failing the
workflow task on every retry: the group answered nothing after it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, state_of, submit, today

BEYOND_BIGINT = 2**63  # one more than PostgreSQL's bigint holds


def _field_named(resp: dict[str, Any], field: str) -> bool:
    """The 422's detail names `field`: as its location, or (a cross-field check) in its message."""
    detail = resp["detail"]
    if isinstance(detail, str):  # a refusal that names no field
        return False
    return any(e["loc"][-1] == field or field in e["msg"] for e in detail)


async def test_unworkable_training_dates_are_422_and_the_group_still_answers(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    proposal = factories.proposal()
    gid = (await submit(http, stack, proposal))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    first_day = date.fromisoformat(today())
    far = (first_day + timedelta(days=400)).isoformat()

    unworkable = [
        ("ends_on", today(), "9999-12-31"),  # the date that wedged groups
        ("ends_on", today(), (first_day + timedelta(days=120)).isoformat()),  # 120 days long
        ("starts_on", far, far),  # 400 days ahead
    ]
    for field, starts_on, ends_on in unworkable:
        body = {"starts_on": starts_on, "ends_on": ends_on, "venue": "BLK"}
        resp = await act(http, stack, gid, "schedule-training", Role.TRAINER, body, expect=422)
        assert _field_named(resp, field), (body, resp)

    # the group still answers, and the next valid schedule is taken at once
    g = await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today(), "ends_on": (first_day + timedelta(days=2)).isoformat(), "venue": "BLK"},
    )
    assert g["open_task"]["kind"] == "record_attendance" and len(g["training"]) == 1
    assert (await state_of(stack, gid)).training[0].venue == "BLK"

    # an amount beyond bigint (or just beyond any policy) is the body's 422, not a 500
    niks = [m.nik for m in proposal.members]
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": niks})
    for amount in (BEYOND_BIGINT, 10**12 + 1, -BEYOND_BIGINT):
        resp = await act(
            http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": amount}, expect=422
        )
        assert resp["detail"][0]["loc"] == ["body", "amount"], resp
    g = await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
    assert g["approved_amount"] == 10_000_000


async def test_a_budget_allocation_beyond_bigint_is_422_not_500(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """The allocation is written to a bigint column: beyond it asyncpg raised inside the route (a 500
    that dropped the connection). Now the body's bound refuses it, and the allocation stays."""
    national_finance = stack.auth(Role.FINANCE, regions=["*"])
    before = (await http.get("/budget/allocations", headers=national_finance)).json()
    for amount in (BEYOND_BIGINT, 10**14 + 1):
        resp = await http.put(
            "/budget/allocations/tkm/31",
            json={"amount": amount, "reason": "DIPA 2020 revisi 2"},
            headers=national_finance,
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["detail"][0]["loc"] == ["body", "amount"]
    assert (await http.get("/budget/allocations", headers=national_finance)).json() == before
    ok = await http.put(
        "/budget/allocations/tkm/31",
        json={"amount": 10**14, "reason": "DIPA 2020 revisi 2"},
        headers=national_finance,
    )
    assert ok.status_code == 200 and ok.json()["amount"] == 10**14
