"""The LPJ and recovery over HTTP (issue 12): receipts uploaded to the file store, an LPJ sent back,
resubmitted and accepted, the group completed; bad LPJs refused naming the field; an LPJ that never
comes escalates into recovery, is partly repaid and the rest written off, and the receivable's rows
agree with the group to the rupiah."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.main import create_app
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, submit, today, wait_for_stage
from tests.api.lpj_steps import lines_for, receipt, upload
from tests.sim_fixtures import ThreadedServer

PAID = 10_000_000


async def paid_tkm(http: httpx.AsyncClient, stack: Stack) -> str:
    proposal = factories.proposal(Program.TKM, size=12, amount=PAID)
    gid: str = (await submit(http, stack, proposal))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    day = today()
    training = {"starts_on": day, "ends_on": day, "venue": "BLK Jakarta Timur"}
    await act(http, stack, gid, "schedule-training", Role.TRAINER, training)
    niks = [m.nik for m in proposal.members]
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": niks})
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": PAID})
    await wait_for_stage(http, stack, gid, "mentoring")
    return gid


async def test_an_lpj_with_receipts_is_sent_back_resubmitted_accepted_and_the_group_completes(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    gid = await paid_tkm(http, stack)
    group = (await http.get(f"/groups/{gid}", headers=stack.auth(Role.AUDITOR, regions=["*"]))).json()
    assert group["lpj"]["status"] == "due" and group["lpj"]["paid"] == PAID
    assert {t["kind"] for t in group["open_tasks"]} == {"report_visit", "submit_lpj"}

    first = await lines_for(http, stack, gid, "v1")
    g = await act(http, stack, gid, "submit-lpj", Role.MENTOR, {"lines": first, "notes": "nota terlampir"})
    assert g["lpj"]["status"] == "under_review" and g["lpj"]["submitted"] == PAID
    # Once under review, a second submission is refused (409), and nothing is written.
    await act(http, stack, gid, "submit-lpj", Role.REGISTRAR, {"lines": first}, expect=409)
    g = await act(
        http, stack, gid, "review-lpj", Role.VERIFIER, {"decision": "revise", "notes": "nota kedua buram"}
    )
    assert g["lpj"]["status"] == "revise"

    # The revision: the same capital-goods receipt again (its own group may), a new working-capital one.
    second = [first[0], *(await lines_for(http, stack, gid, "v2"))[1:]]
    await act(http, stack, gid, "submit-lpj", Role.MENTOR, {"lines": second})
    g = await act(http, stack, gid, "review-lpj", Role.VERIFIER, {"decision": "accept"}, officer="verifier-2")
    assert g["lpj"]["status"] == "accepted" and g["lpj"]["accounted"] == PAID and g["receivable"] is None
    for visit_no in (1, 2, 3):
        body = {"visit_no": visit_no, "visited_on": today(), "business_status": "running"}
        g = await act(http, stack, gid, "report-visit", Role.MENTOR, body)
    assert g["stage"] == "completed"

    # Each version keeps its submitter's notes beside the verifier's.
    rows = await stack.pool.fetch(
        """SELECT version, total, decision, notes, review_notes FROM lpj_submissions
            WHERE group_id = $1 ORDER BY version""",
        gid,
    )
    assert [tuple(r) for r in rows] == [
        (1, PAID, "revise", "nota terlampir", "nota kedua buram"),
        (2, PAID, "accept", "", ""),
    ]
    lpj = await stack.pool.fetchrow("SELECT status, accounted, paid FROM lpj WHERE group_id = $1", gid)
    assert dict(lpj) == {"status": "accepted", "accounted": PAID, "paid": PAID}
    lines = await stack.pool.fetch("SELECT receipt_sha256 FROM lpj_lines WHERE group_id = $1", gid)
    assert len(lines) == 4 and len({r["receipt_sha256"] for r in lines}) == 3


async def test_bad_lpjs_are_refused_naming_the_field_and_nothing_is_written(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    gid = await paid_tkm(http, stack)
    other = await paid_tkm(http, stack)
    lines = await lines_for(http, stack, gid, "mine")
    await act(http, stack, gid, "submit-lpj", Role.MENTOR, {"lines": lines})

    async def refused(body: dict[str, Any], status: int = 422) -> str:
        resp = await http.post(
            f"/groups/{other}/actions/submit-lpj", json=body, headers=stack.auth(Role.MENTOR)
        )
        assert resp.status_code == status, resp.text
        return json.dumps(resp.json()["detail"])

    # Another group's receipt file: not a file of this group.
    assert '"lines", 0, "file_id"' in await refused({"lines": lines})
    # The same bytes uploaded again to this group: the receipt already accounts for another group's aid.
    copied = [
        {**line, "file_id": await upload(http, stack, other, receipt(f"{gid} mine {line['category']}"))}
        for line in lines
    ]
    detail = await refused({"lines": copied})
    assert '"lines", 0, "file_id"' in detail and "another group" in detail
    fresh = await lines_for(http, stack, other, "fresh")
    assert "spent_on" in await refused({"lines": [{**fresh[0], "spent_on": "2100-01-01"}, fresh[1]]})
    assert "more than the 10,000,000 paid" in await refused(
        {"lines": [{**fresh[0], "amount": 8_000_000}, fresh[1]]}
    )
    photo_not_image = [{**fresh[0], "photo_file_id": fresh[1]["file_id"]}, fresh[1]]
    assert '"lines", 0, "photo_file_id"' in await refused({"lines": photo_not_image})
    assert "amount" in await refused({"lines": [{**fresh[0], "amount": -5}]})
    count = await stack.pool.fetchval("SELECT count(*) FROM lpj_submissions WHERE group_id = $1", other)
    assert count == 0
    state = (await http.get(f"/groups/{other}", headers=stack.auth(Role.AUDITOR, regions=["*"]))).json()
    assert state["lpj"]["status"] == "due" and state["lpj"]["version"] == 0


@pytest.fixture
async def hurried(stack: Stack, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The same stack, but groups submitted through this API carry a policy whose LPJ is due two
    seconds after payment and escalates one and two seconds later (the policy travels with each
    group: only these groups hurry)."""
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {"tkm": {"lpj": {"due_after": 2}, "escalate_regional_after": 1, "escalate_national_after": 2}}
        )
    )
    server = ThreadedServer(
        create_app(stack.settings.model_copy(update={"policy_file": policy})), "api-lpj"
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            yield client
    finally:
        server.stop()


async def test_an_overdue_lpj_becomes_recovery_partly_repaid_the_rest_written_off(
    stack: Stack, hurried: httpx.AsyncClient
) -> None:
    gid = await paid_tkm(hurried, stack)
    g = await wait_for_stage(hurried, stack, gid, "recovery")
    assert g["lpj"]["status"] == "overdue"
    assert g["receivable"]["amount"] == PAID and g["receivable"]["outstanding"] == PAID
    assert [t["kind"] for t in g["open_tasks"]] == ["recover_receivable"]
    # Under recovery the members' NIKs are free: they may join another group.
    active = await stack.pool.fetchval("SELECT count(*) FROM members WHERE group_id = $1 AND active", gid)
    assert active == 0

    await act(
        hurried,
        stack,
        gid,
        "record-repayment",
        Role.FINANCE,
        {"amount": PAID + 1, "paid_on": today(), "reference": "NTPN-1"},
        expect=422,
    )
    await act(
        hurried,
        stack,
        gid,
        "record-repayment",
        Role.FINANCE,
        {"amount": 2_500_000, "paid_on": today(), "reference": "NTPN-1"},
    )
    g = await act(
        hurried,
        stack,
        gid,
        "record-repayment",
        Role.FINANCE,
        {"amount": 1_500_000, "paid_on": today(), "reference": "NTPN-2"},
    )
    assert g["stage"] == "recovery" and g["receivable"]["outstanding"] == 6_000_000
    await act(
        hurried,
        stack,
        gid,
        "write-off-receivable",
        Role.FINANCE,
        {"amount": 1, "reason": "tidak mampu"},
        expect=403,
    )
    g = await act(
        hurried,
        stack,
        gid,
        "write-off-receivable",
        Role.SUPERVISOR,
        {"amount": 6_000_000, "reason": "usaha tutup; tidak mampu"},
    )
    assert g["stage"] == "completed"

    row = await stack.pool.fetchrow(
        "SELECT amount, recovered, written_off, reason, settled_at FROM receivables WHERE group_id = $1", gid
    )
    assert (row["amount"], row["recovered"], row["written_off"], row["reason"]) == (
        PAID,
        4_000_000,
        6_000_000,
        "overdue",
    )
    assert row["settled_at"] is not None
    events = await stack.pool.fetch(
        "SELECT kind, amount FROM receivable_events WHERE group_id = $1 ORDER BY seq", gid
    )
    assert [(e["kind"], e["amount"]) for e in events] == [
        ("opened", PAID),
        ("repayment", 2_500_000),
        ("repayment", 1_500_000),
        ("write_off", 6_000_000),
    ]

    # The summary report and the budget ledger agree with the receivable, to the rupiah: this test's
    # database holds only this group, so its programme's province shows exactly its figures.
    auditor = stack.auth(Role.AUDITOR, regions=["*"])
    summary = (await hurried.get("/reports/summary", headers=auditor)).json()
    [tkm] = [a for a in summary["accounts"] if a["program"] == "tkm" and a["region_code"] == "31"]
    ledger = (await hurried.get("/budget/ledger", headers=stack.auth(Role.FINANCE, regions=["*"]))).json()
    [row] = [r for r in ledger if r["program"] == "tkm" and r["region_code"] == "31"]
    for accounts in (tkm, row["accounts"]):
        assert accounts["paid"] == PAID and accounts["recovered"] == 4_000_000
        assert accounts["written_off"] == 6_000_000 and accounts["under_recovery"] == 0
        assert accounts["accounted"] == accounts["awaiting_lpj"] == accounts["no_lpj_owed"] == 0
    assert row["spent"] == PAID
