"""A group of each programme walked through every step over HTTP by officers of the right roles."""

from __future__ import annotations

import httpx

from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, state_of, submit, today, wait_for_stage, wait_for_task
from tests.api.lpj_steps import account_for_the_aid
from tests.sim_fixtures import BankAdmin


async def test_tkm_group_from_proposal_to_completed(stack: Stack, http: httpx.AsyncClient) -> None:
    proposal = factories.proposal(Program.TKM, size=20, amount=10_000_000)
    created = await submit(http, stack, proposal)
    gid = created["group_id"]
    assert gid.startswith("TKM-3171-") and len(gid) == len("TKM-3171-") + 10
    assert created["stage"] == "verification"
    assert created["open_task"]["kind"] == "verify"
    assert all("*" in m["nik"] for m in created["members"])

    # revise loop: the verifier sends it back, the registrar resubmits
    g = await act(
        http, stack, gid, "verify", Role.VERIFIER, {"decision": "revise", "notes": "KTP scans missing"}
    )
    assert g["stage"] == "proposal"
    g = await act(http, stack, gid, "resubmit", Role.REGISTRAR, {"notes": "scans attached"})
    assert g["stage"] == "verification"

    g = await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve", "notes": "ok"})
    assert g["stage"] == "training" and g["open_task"]["kind"] == "schedule_training"
    g = await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today(), "ends_on": today(), "venue": "BLK Jakarta Timur"},
    )
    assert g["open_task"]["kind"] == "record_attendance"
    niks = [m.nik for m in proposal.members]
    g = await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": niks})
    assert g["stage"] == "disbursement" and g["open_task"]["kind"] == "approve_disbursement"

    # a colleague claims the task, then the finance officer approves
    g = await act(http, stack, gid, "claim", Role.FINANCE, {}, officer="finance-2")
    assert g["open_task"]["claimed_by"] == "finance-2"
    g = await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
    assert g["approved_amount"] == 10_000_000

    g = await wait_for_stage(http, stack, gid, "mentoring")
    assert g["paid_amount"] == 10_000_000
    assert [p["status"] for p in g["payments"]] == ["paid"]
    assert len(g["visits"]) == 3 and g["open_task"]["kind"] == "report_visit"

    g = await account_for_the_aid(http, stack, gid, 10_000_000)  # the LPJ, before the last visit
    assert g["lpj"]["status"] == "accepted" and g["stage"] == "mentoring"
    for visit_no in (1, 2, 3):
        g = await act(
            http,
            stack,
            gid,
            "report-visit",
            Role.MENTOR,
            {
                "visit_no": visit_no,
                "visited_on": today(),
                "business_status": "running",
                "monthly_revenue": 3_000_000,
            },
        )
    assert g["stage"] == "completed" and g["open_task"] is None
    assert (await state_of(stack, gid)).stage == "completed"


async def test_padat_karya_group_with_maker_checker_and_handover(
    stack: Stack, equal_split_http: httpx.AsyncClient
) -> None:
    """A group submitted before the weekly wage rule: the wage bill paid at once in equal shares.
    Under the rule (the default): tests/api/test_wages.py."""
    http = equal_split_http
    proposal = factories.proposal(Program.PADAT_KARYA, size=20, amount=40_000_000, region="3273")
    created = await submit(http, stack, proposal)
    gid = created["group_id"]
    assert gid.startswith("PK-3273-")
    assert all(m["bank_account"]["account_no"].startswith("*") for m in created["members"])

    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"}, regions=["32"])
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today(), "ends_on": today(), "venue": "Balai Desa"},
        regions=["3273"],
    )
    await act(
        http,
        stack,
        gid,
        "record-attendance",
        Role.TRAINER,
        {"attended_niks": [m.nik for m in proposal.members[:18]]},
        regions=["3273"],
    )
    # above the maker-checker threshold: the approver cannot authorize, another supervisor can
    g = await act(
        http,
        stack,
        gid,
        "approve-disbursement",
        Role.FINANCE,
        {"amount": 40_000_000},
        officer="pejabat-1",
        regions=["32"],
    )
    assert g["open_task"]["kind"] == "authorize_disbursement"
    refused = await act(
        http,
        stack,
        gid,
        "authorize-disbursement",
        Role.SUPERVISOR,
        {},
        officer="pejabat-1",
        regions=["32"],
        expect=403,
    )
    assert "maker-checker" in refused["detail"]
    await act(
        http,
        stack,
        gid,
        "authorize-disbursement",
        Role.SUPERVISOR,
        {"notes": "checked"},
        officer="supervisor-2",
        regions=["32"],
    )

    g = await wait_for_stage(http, stack, gid, "mentoring")
    assert len(g["payments"]) == 20 and sum(p["amount"] for p in g["payments"]) == 40_000_000
    assert all(p["member_nik"] and "*" in p["member_nik"] for p in g["payments"])
    assert len(g["visits"]) == 5 and g["visits"][-1]["handover"] is True
    for visit_no in range(1, 6):
        g = await act(
            http,
            stack,
            gid,
            "report-visit",
            Role.MENTOR,
            {
                "visit_no": visit_no,
                "visited_on": today(),
                "business_status": "running",
                "progress_percent": min(100, visit_no * 25),
            },
            regions=["32"],
        )
    assert g["stage"] == "completed"


async def test_training_attempts_then_supervisor_decides(stack: Stack, http: httpx.AsyncClient) -> None:
    proposal = factories.proposal()
    gid = (await submit(http, stack, proposal))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    few = {"attended_niks": [m.nik for m in proposal.members[:5]]}
    for attempt in (1, 2, 3):
        await act(
            http,
            stack,
            gid,
            "schedule-training",
            Role.TRAINER,
            {"starts_on": today(), "ends_on": today(), "venue": f"BLK sesi {attempt}"},
        )
        g = await act(http, stack, gid, "record-attendance", Role.TRAINER, few)
    assert g["open_task"]["kind"] == "decide_training" and len(g["training"]) == 3
    assert [t["attended"] for t in g["training"]] == [5, 5, 5]
    await act(
        http, stack, gid, "decide-training", Role.TRAINER, {"decision": "proceed", "notes": "x"}, expect=403
    )
    g = await act(
        http,
        stack,
        gid,
        "decide-training",
        Role.SUPERVISOR,
        {"decision": "proceed", "notes": "the group is ready"},
    )
    assert g["stage"] == "disbursement"


async def test_bank_refusal_then_new_account_then_paid(
    stack: Stack, http: httpx.AsyncClient, bank_sim: BankAdmin
) -> None:
    proposal = factories.proposal(account_no="4440001111")
    bank_sim.close_account("4440001111")
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
    g = await wait_for_task(http, stack, gid, "update_bank_account")
    assert [p["status"] for p in g["payments"]] == ["failed"]
    account = {"bank_code": "008", "account_no": "5550002222", "holder_name": proposal.name}
    g = await act(http, stack, gid, "update-bank-account", Role.REGISTRAR, {"bank_account": account})
    assert g["bank_account"]["account_no"] == "******2222"
    g = await wait_for_stage(http, stack, gid, "mentoring")
    assert [p["status"] for p in g["payments"]] == ["failed", "paid"] and g["paid_amount"] == 10_000_000


async def test_supervisor_cancels_before_the_money_moves(stack: Stack, http: httpx.AsyncClient) -> None:
    gid = (await submit(http, stack, factories.proposal()))["group_id"]
    await act(http, stack, gid, "cancel", Role.SUPERVISOR, {"reason": "ok"}, expect=422)  # too short a reason
    g = await act(http, stack, gid, "cancel", Role.SUPERVISOR, {"reason": "the group dissolved"})
    assert (
        g["stage"] == "cancelled" and g["outcome_reason"] == "the group dissolved" and g["open_task"] is None
    )
    await act(http, stack, gid, "cancel", Role.SUPERVISOR, {"reason": "again, once more"}, expect=409)
