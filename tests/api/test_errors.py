"""Every refusal over HTTP: 401 (token), 403 (role, region, maker-checker), 409 (stage, NIK), 422 (body,
policy, workflow's data checks, Idempotency-Key), the authorization matrix, idempotent submission,
and the audit rows refused attempts leave."""

# Over 400 lines on purpose: every refusal status of the API in one place, with the authorization matrix
# they share, so a new refusal is added beside the others.

from __future__ import annotations

import asyncio
import gc
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.errors import REFUSALS
from infra.lifecycle import update_with_start
from jps.auth import mint_token
from jps.contracts.names import REGISTERED_UPDATE, WORKFLOW_TYPE
from jps.domain.actions import ACTIONS
from jps.domain.models import GroupSummary
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import JWT_SECRET, Stack, act, submit, today

# ---- 401 ----


def _expired() -> str:
    return mint_token(
        JWT_SECRET,
        officer_id="x",
        roles=[Role.VERIFIER],
        regions=["*"],
        now=datetime.now(UTC) - timedelta(days=2),
        ttl=timedelta(hours=1),
    )


BAD_TOKENS: dict[str, dict[str, str]] = {
    "missing": {},
    "not bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
    "garbage": {"Authorization": "Bearer not-a-jwt"},
    "wrong secret": {
        "Authorization": "Bearer "
        + mint_token(
            "another-secret-of-at-least-32-bytes!", officer_id="x", roles=[Role.AUDITOR], regions=["*"]
        )
    },
    "expired": {"Authorization": f"Bearer {_expired()}"},
    "unknown role": {
        "Authorization": "Bearer "
        + jwt.encode({"sub": "x", "roles": ["minister"], "regions": ["*"], "exp": 4102444800}, JWT_SECRET)
    },
    "bad region": {
        "Authorization": "Bearer "
        + jwt.encode(
            {"sub": "x", "roles": ["auditor"], "regions": ["Jakarta"], "exp": 4102444800}, JWT_SECRET
        )
    },
    "no exp": {
        "Authorization": "Bearer "
        + jwt.encode({"sub": "x", "roles": ["auditor"], "regions": ["*"]}, JWT_SECRET)
    },
}

PROTECTED = [
    ("GET", "/groups"),
    ("POST", "/groups"),
    ("GET", "/groups/TKM-3171-AAAAAAAAAA"),
    ("GET", "/groups/TKM-3171-AAAAAAAAAA/history"),
    ("POST", "/groups/TKM-3171-AAAAAAAAAA/actions/verify"),
    ("POST", "/groups/bulk/verify"),
    ("POST", "/groups/import"),
    ("GET", "/tasks"),
    ("GET", "/reports/summary"),
    ("GET", "/audit"),
    ("GET", "/audit/verify"),
]


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_missing_or_bad_token_is_401(stack: Stack, http: httpx.AsyncClient, case: str) -> None:
    for method, path in PROTECTED:
        resp = await http.request(method, path, headers=BAD_TOKENS[case], json={})
        assert resp.status_code == 401, (case, method, path, resp.text)
        assert "detail" in resp.json()
        assert resp.headers["www-authenticate"] == "Bearer"


# ---- 403 on endpoints ----


async def test_role_required_for_endpoints(stack: Stack, http: httpx.AsyncClient) -> None:
    verifier = stack.auth(Role.VERIFIER)
    assert (await http.get("/audit", headers=verifier)).status_code == 403
    assert (await http.get("/audit/verify", headers=verifier)).status_code == 403
    resp = await http.post("/groups", headers=verifier, json=factories.proposal().model_dump(mode="json"))
    assert resp.status_code == 403
    files = {"file": ("g.csv", b"group_ref\n", "text/csv")}
    assert (await http.post("/groups/import", headers=verifier, files=files)).status_code == 403


async def test_submission_outside_scope_is_403(stack: Stack, http: httpx.AsyncClient) -> None:
    resp = await http.post(
        "/groups",
        json=factories.proposal(region="3171").model_dump(mode="json"),
        headers=stack.auth(Role.REGISTRAR, regions=["32"]),
    )
    assert resp.status_code == 403
    assert "3171" in resp.json()["detail"]
    refused = await stack.pool.fetchrow("SELECT * FROM audit_log WHERE event = 'proposal_refused'")
    assert refused["actor"] == "registrar-1" and refused["details"] == {"action": "submit", "status": 403}


async def test_reading_a_group_outside_scope_is_403_and_listing_hides_it(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    gid = (await submit(http, stack, factories.proposal(region="3171")))["group_id"]
    bandung = stack.auth(Role.VERIFIER, regions=["3273"])
    assert (await http.get(f"/groups/{gid}", headers=bandung)).status_code == 403
    assert (await http.get(f"/groups/{gid}/history", headers=bandung)).status_code == 403
    assert (await http.get("/groups", headers=bandung)).json()["total"] == 0
    assert (await http.get("/groups", headers=stack.auth(Role.VERIFIER, regions=["3171"]))).json()[
        "total"
    ] == 1
    assert (await http.get("/groups/TKM-3171-NOSUCHGRP0", headers=bandung)).status_code == 404


# ---- 422 ----


async def test_invalid_proposal_names_the_field(stack: Stack, http: httpx.AsyncClient) -> None:
    registrar = stack.auth(Role.REGISTRAR)
    body = factories.proposal().model_dump(mode="json")
    body["members"][3]["nik"] = "3171016213900001"  # month 13
    resp = await http.post("/groups", json=body, headers=registrar)
    assert resp.status_code == 422
    [error] = resp.json()["detail"]
    assert error["loc"][:3] == ["body", "members", 3] and "nik" in error["msg"]
    assert "3171016213900001" not in resp.text  # the NIK is not echoed back

    body = factories.proposal().model_dump(mode="json")
    body["members"][0]["phone"] = "081234"
    resp = await http.post("/groups", json=body, headers=registrar)
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "members", 0, "phone"]


async def test_policy_violations_are_422_naming_the_field(stack: Stack, http: httpx.AsyncClient) -> None:
    registrar = stack.auth(Role.REGISTRAR)
    resp = await http.post(
        "/groups", headers=registrar, json=factories.proposal(amount=90_000_000).model_dump(mode="json")
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "requested_amount"]
    resp = await http.post(
        "/groups", headers=registrar, json=factories.proposal(size=5).model_dump(mode="json")
    )
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "members"]


async def test_action_body_and_workflow_data_checks_are_422(stack: Stack, http: httpx.AsyncClient) -> None:
    proposal = factories.proposal()
    gid = (await submit(http, stack, proposal))["group_id"]
    # the verifier's reason is required to reject (the workflow's check)
    resp = await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "reject"}, expect=422)
    assert resp["detail"][0]["loc"] == ["body", "notes"]
    # a decision that does not exist (the body model's check)
    resp = await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "maybe"}, expect=422)
    assert resp["detail"][0]["loc"] == ["body", "decision"]
    # officer in the body is not a field a client may send
    resp = await act(
        http,
        stack,
        gid,
        "verify",
        Role.VERIFIER,
        {"decision": "approve", "officer": {"id": "boss", "roles": ["verifier"], "regions": ["*"]}},
        expect=422,
    )
    assert resp["detail"][0]["loc"] == ["body", "officer"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    # cross-field check of the argument model: ends before it starts
    resp = await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": "2031-01-10", "ends_on": "2031-01-09", "venue": "BLK"},
        expect=422,
    )
    assert resp["detail"][0]["loc"][0] == "body" and "ends_on" in resp["detail"][0]["msg"]
    resp = await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": "2020-01-10", "ends_on": "2020-01-11", "venue": "BLK"},
        expect=422,
    )
    assert resp["detail"][0]["loc"] == ["body", "starts_on"]
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today(), "ends_on": today(), "venue": "BLK"},
    )
    resp = await act(
        http,
        stack,
        gid,
        "record-attendance",
        Role.TRAINER,
        {"attended_niks": ["3171010101800009"]},
        expect=422,
    )
    assert resp["detail"][0]["loc"] == ["body", "attended_niks", 0]
    assert "3171010101800009" not in str(resp)
    await act(
        http,
        stack,
        gid,
        "record-attendance",
        Role.TRAINER,
        {"attended_niks": [m.nik for m in proposal.members]},
    )
    resp = await act(
        http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 12_000_000}, expect=422
    )
    assert resp["detail"][0]["loc"] == ["body", "amount"] and "requested" in resp["detail"][0]["msg"]
    resp = await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 0}, expect=422)
    assert resp["detail"][0]["loc"] == ["body", "amount"]


# ---- 409 ----


async def test_wrong_stage_is_409_and_audited(stack: Stack, http: httpx.AsyncClient) -> None:
    gid = (await submit(http, stack, factories.proposal()))["group_id"]
    resp = await act(
        http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 1_000_000}, expect=409
    )
    assert "verification" in resp["detail"]
    await act(
        http, stack, gid, "verify", Role.VERIFIER, {"decision": "reject", "notes": "fictitious members"}
    )
    resp = await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"}, expect=409)
    rows = await stack.pool.fetch("SELECT * FROM audit_log WHERE event = 'action_refused' ORDER BY id")
    assert [(r["actor"], r["details"]["action"], r["details"]["status"]) for r in rows] == [
        ("finance-1", "approve-disbursement", 409),
        ("verifier-1", "verify", 409),
    ]
    assert rows[0]["group_id"] == gid and rows[0]["stage"] == "verification" and rows[0]["seq"] is None


async def test_nik_in_another_active_group_is_409_naming_it(stack: Stack, http: httpx.AsyncClient) -> None:
    first = factories.proposal()
    gid = (await submit(http, stack, first))["group_id"]
    second = factories.proposal(name="Kelompok Kedua")
    body = second.model_dump(mode="json")
    body["members"][5] = first.members[7].model_dump(mode="json") | {"is_leader": False}
    resp = await http.post("/groups", json=body, headers=stack.auth(Role.REGISTRAR))
    assert resp.status_code == 409
    assert gid in resp.json()["detail"] and first.members[7].nik not in resp.text
    refused = await stack.pool.fetchrow("SELECT * FROM audit_log WHERE event = 'proposal_refused'")
    assert refused["actor"] == "registrar-1" and gid in refused["reason"]
    # once the first group is closed, its members are free again
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "reject", "notes": "duplicate"})
    resp = await http.post("/groups", json=body, headers=stack.auth(Role.REGISTRAR))
    assert resp.status_code == 201, resp.text


# ---- idempotent submission ----


async def test_idempotency_key_returns_the_first_result(stack: Stack, http: httpx.AsyncClient) -> None:
    proposal = factories.proposal()
    first = await submit(http, stack, proposal, key="batch-7/row-12")
    again = await submit(http, stack, proposal, key="batch-7/row-12")
    assert again["group_id"] == first["group_id"]
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 1
    # another registrar using the same key string gets their own group (the key is per registrar)
    other = factories.proposal()
    resp = await http.post(
        "/groups",
        json=other.model_dump(mode="json"),
        headers={**stack.auth(Role.REGISTRAR, officer="registrar-2"), "Idempotency-Key": "batch-7/row-12"},
    )
    assert resp.status_code == 201 and resp.json()["group_id"] != first["group_id"]
    # the same key with a different body is refused; so is one that would change the region
    changed = proposal.model_copy(update={"name": "Kelompok Lain"})
    resp = await http.post(
        "/groups",
        json=changed.model_dump(mode="json"),
        headers={**stack.auth(Role.REGISTRAR), "Idempotency-Key": "batch-7/row-12"},
    )
    assert resp.status_code == 422 and "Idempotency-Key" in resp.json()["detail"]
    moved = proposal.model_copy(update={"region_code": "3172"})
    resp = await http.post(
        "/groups",
        json=moved.model_dump(mode="json"),
        headers={**stack.auth(Role.REGISTRAR), "Idempotency-Key": "batch-7/row-12"},
    )
    assert resp.status_code == 422 and first["group_id"] in resp.json()["detail"]
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 2


async def test_idempotent_retry_after_the_group_closed(stack: Stack, http: httpx.AsyncClient) -> None:
    proposal = factories.proposal()
    first = await submit(http, stack, proposal, key="k-closed")
    await act(http, stack, first["group_id"], "verify", Role.VERIFIER, {"decision": "reject", "notes": "no"})
    again = await submit(http, stack, proposal, key="k-closed")
    assert again["group_id"] == first["group_id"] and again["stage"] == "rejected"


async def test_a_refused_start_leaves_no_outcome_unheard(stack: Stack, http: httpx.AsyncClient) -> None:
    # asyncio logs a failed future nobody awaited when it is collected, formatting its traceback
    # inside whatever the collector interrupted (jps/ast_lock.py): the SDK's future for a start that
    # was refused (the group's workflow ended) must be heard by `update_with_start`.
    gid = (await submit(http, stack, factories.proposal()))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "reject", "notes": "no"})
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            WORKFLOW_TYPE,
            id=gid,
            task_queue=stack.settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        outcome = weakref.ref(start._workflow_handle)
        with pytest.raises(WorkflowAlreadyStartedError):
            await update_with_start(stack.client, REGISTERED_UPDATE, start, GroupSummary)
        del start
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert outcome() is None  # collected, so a future nobody heard would have been reported
    assert [c["message"] for c in reported] == []


async def test_idempotent_retry_of_a_refused_submission_is_refused_again(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    first = factories.proposal()
    gid = (await submit(http, stack, first))["group_id"]
    body = factories.proposal(name="Kelompok Kedua").model_dump(mode="json")
    body["members"][2] = first.members[2].model_dump(mode="json") | {"is_leader": False}
    headers = {**stack.auth(Role.REGISTRAR), "Idempotency-Key": "dup-nik"}
    for _ in range(2):
        resp = await http.post("/groups", json=body, headers=headers)
        assert resp.status_code == 409 and gid in resp.json()["detail"]


# ---- the authorization matrix: roles × actions × in / out of scope ----

# Bodies that pass the body model but cannot change a group in verification (the workflow refuses
# them: wrong stage, or a missing reason), so the whole matrix runs against one group.
HARMLESS: dict[str, dict[str, Any]] = {
    "resubmit": {},
    "verify": {"decision": "reject"},
    "schedule-training": {"starts_on": "2031-01-10", "ends_on": "2031-01-11", "venue": "BLK"},
    "record-attendance": {"attended_niks": []},
    "decide-training": {"decision": "proceed", "notes": "n"},
    "approve-disbursement": {"amount": 1_000_000},
    "authorize-disbursement": {},
    "update-bank-account": {
        "bank_account": {"bank_code": "002", "account_no": "12345678", "holder_name": "X"}
    },
    "report-visit": {"visit_no": 1, "visited_on": "2020-10-01", "business_status": "running"},
    "cancel": {"reason": "x"},  # too short: 422 before anything changes
    # too short a reason, as for cancel (and the workflow has no handler for these yet: issue 10)
    "resolve-payment": {"transfer_id": "TKM-3171-AB12CD34EF-A1-00", "outcome": "paid", "reason": "x"},
    "release-share": {"member_nik": "3171014507900001", "reason": "x"},
    "claim": {"release": True},  # nobody claimed it: a release is refused
    # After the money only: refused in verification (and the receipt is no file of the group's).
    "submit-lpj": {
        "lines": [
            {
                "category": "capital_goods",
                "amount": 1_000_000,
                "spent_on": "2020-10-01",
                "supplier": "Toko",
                "file_id": "F-0000000000",
            }
        ]
    },
    "review-lpj": {"decision": "accept"},
    "record-repayment": {"amount": 1_000, "paid_on": "2020-10-01", "reference": "NTPN-1"},
    "write-off-receivable": {"amount": 1_000, "reason": "tidak mampu"},
    # Padat Karya paid by muster rolls only: refused for this TKM group in verification.
    "submit-muster": {
        "week_starts_on": "2020-10-05",
        "entries": [{"nik": "3171014507900001", "date": "2020-10-05", "hours": 8}],
    },
    "review-muster": {
        "decisions": [{"nik": "3171014507900001", "date": "2020-10-05", "accept": False, "reason": "absent"}]
    },
    "approve-wages": {"week_starts_on": "2020-10-05"},
    "authorize-wages": {"week_starts_on": "2020-10-05"},
}


async def test_authorization_matrix(
    stack: Stack, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(REFUSALS, "per_minute", 100_000)  # every refusal of the matrix is counted below
    # ... in windows of its own: the next tests' officers (verifier-1 among them) start under the limit.
    monkeypatch.setattr(REFUSALS, "_windows", {})
    gid = (await submit(http, stack, factories.proposal(region="3171")))["group_id"]
    refusals = 0
    for action, spec in ACTIONS.items():
        for role in Role:
            for scope, regions in (
                ("in", ["3171"]),
                ("province", ["31"]),
                ("national", ["*"]),
                ("out", ["32"]),
            ):
                resp = await http.post(
                    f"/groups/{gid}/actions/{action}",
                    json=HARMLESS[action],
                    headers=stack.auth(role, regions=regions),
                )
                allowed_role = role in spec.roles
                if scope == "out" or not allowed_role:
                    assert resp.status_code == 403, (action, role, scope, resp.text)
                elif action == "claim" and role is not Role.VERIFIER:
                    assert resp.status_code == 403, (action, role, scope, resp.text)  # not this task's role
                else:
                    assert resp.status_code in (409, 422), (action, role, scope, resp.text)
                refusals += resp.status_code in (403, 409)
    group = (await http.get(f"/groups/{gid}", headers=stack.auth(Role.AUDITOR))).json()
    assert group["stage"] == "verification" and group["open_task"]["claimed_by"] is None
    # An admin-only officer is refused before the action's guard (api.deps.CurrentOfficer): audited
    # as request_refused, with the route and the group, not as action_refused.
    audited = await stack.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE event IN ('action_refused', 'request_refused')"
    )
    assert audited == refusals
