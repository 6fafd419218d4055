"""The rest of the surface over HTTP: health, metrics, the bank's signed callbacks, the inbox with
claims, listing filters, NIK masking, and an OpenAPI document that declares every error and example."""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg
import httpx

from api.deps import Services
from api.main import create_app
from jps.domain.roles import Role
from jps.signing import signed_headers
from tests import factories
from tests.api.conftest import Stack, act, submit, today, wait_for_stage

# ---- health and metrics ----


async def test_health_reports_each_part(stack: Stack, http: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    resp = await http.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "api": "up", "postgres": "up", "temporal": "up"}

    # the same API pointed at a Temporal that is not there: 503, and it says which part is down
    broken = stack.settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    app = create_app(services=Services.build(broken, pool))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as local,
    ):
        resp = await local.get("/health")
        assert resp.status_code == 503
        assert resp.json() == {"status": "degraded", "api": "up", "postgres": "up", "temporal": "down"}
        assert "127.0.0.1" not in resp.text  # no host, no exception text: those go to the log


async def test_metrics_count_requests_by_route_and_status(stack: Stack, http: httpx.AsyncClient) -> None:
    await http.get("/groups/TKM-3171-NOSUCHGRP0", headers=stack.auth(Role.AUDITOR))
    await http.get("/groups", headers=stack.auth(Role.AUDITOR))
    text = (await http.get("/metrics")).text
    assert re.search(
        r'jps_http_requests_total\{method="GET",route="/groups/\{group_id\}",status="404"\} [1-9]', text
    )
    assert (
        'jps_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/groups",status="200"}' in text
    )
    assert "NOSUCHGRP0" not in text  # route templates, never raw paths


# ---- the bank's callbacks ----


async def test_bank_callback_signature_and_duplicates(stack: Stack, http: httpx.AsyncClient) -> None:
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
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 9_000_000})
    group = await wait_for_stage(http, stack, gid, "mentoring")
    [payment] = group["payments"]
    secret = stack.settings.bank_hmac_secret

    def signed(payload: dict[str, Any], key: str = secret) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        return {"content": body, "headers": {"Content-Type": "application/json", **signed_headers(body, key)}}

    paid = {"transfer_id": payment["transfer_id"], "status": "paid", "amount": 9_000_000}
    # the bank already called back once; the same callback again changes nothing
    resp = await http.post("/payments/callback", **signed(paid))
    assert resp.status_code == 200 and resp.json()["group_id"] == gid
    after = (await http.get(f"/groups/{gid}", headers=stack.auth(Role.AUDITOR))).json()
    assert after["stage"] == "mentoring" and after["payments"] == group["payments"]
    # a late contradicting callback is ignored by the workflow (the first result stands)
    failed = {**paid, "status": "failed", "reason": "account closed"}
    assert (await http.post("/payments/callback", **signed(failed))).status_code == 200
    assert (await http.get(f"/groups/{gid}", headers=stack.auth(Role.AUDITOR))).json()[
        "paid_amount"
    ] == 9_000_000

    bad = signed(paid, key="not-the-bank")
    assert (await http.post("/payments/callback", **bad)).status_code == 401
    tampered = signed(paid)
    tampered["content"] = tampered["content"].replace(b"9000000", b"9900000")
    assert (await http.post("/payments/callback", **tampered)).status_code == 401
    assert (await http.post("/payments/callback", json=paid)).status_code == 401  # unsigned
    unknown = signed({**paid, "transfer_id": "TKM-3171-NOSUCHGRP0-A1-00"})
    assert (await http.post("/payments/callback", **unknown)).status_code == 404
    garbled = signed({"transfer_id": payment["transfer_id"], "status": "maybe"})
    assert (await http.post("/payments/callback", **garbled)).status_code == 422


# ---- the inbox ----


async def test_inbox_claims_and_escalations(stack: Stack, http: httpx.AsyncClient) -> None:
    a = (await submit(http, stack, factories.proposal(name="Kelompok A")))["group_id"]
    b = (await submit(http, stack, factories.proposal(name="Kelompok B")))["group_id"]
    c = (await submit(http, stack, factories.proposal(name="Kelompok C", region="3273")))["group_id"]
    verifier = stack.auth(Role.VERIFIER, regions=["31"])
    inbox = (await http.get("/tasks", headers=verifier)).json()
    assert inbox["total"] == 2 and {i["group_id"] for i in inbox["items"]} == {a, b}
    assert all(i["task"]["kind"] == "verify" and i["task"]["roles"] == ["verifier"] for i in inbox["items"])
    assert (await http.get("/tasks", headers=stack.auth(Role.TRAINER))).json()["total"] == 0

    # B is overdue and escalated to the region's supervisor (the workflow's timers do this over days;
    # the read model, the group's row and its task's, is set as they would leave it)
    await stack.pool.execute(
        "UPDATE groups SET task_due_at = now() - interval '4 days', escalation_level = 2 WHERE group_id = $1",
        b,
    )
    await stack.pool.execute(
        "UPDATE group_tasks SET due_at = now() - interval '4 days', escalation_level = 2 WHERE group_id = $1",
        b,
    )
    inbox = (await http.get("/tasks", headers=verifier)).json()["items"]
    assert [i["group_id"] for i in inbox] == [b, a]
    assert inbox[0]["task"]["overdue"] is True and inbox[0]["task"]["escalation_level"] == 2
    supervisor = (await http.get("/tasks", headers=stack.auth(Role.SUPERVISOR, regions=["31"]))).json()
    assert [i["group_id"] for i in supervisor["items"]] == [b]
    assert (await http.get("/tasks?overdue=true", headers=verifier)).json()["total"] == 1
    listed = (await http.get("/groups?overdue=true", headers=verifier)).json()
    assert [g["group_id"] for g in listed["items"]] == [b]

    claimed = await http.post(f"/tasks/{a}/claim", headers=stack.auth(Role.VERIFIER, officer="verifier-2"))
    assert claimed.status_code == 200 and claimed.json()["open_task"]["claimed_by"] == "verifier-2"
    taken = await http.post(f"/tasks/{a}/claim", headers=stack.auth(Role.VERIFIER, officer="verifier-3"))
    assert taken.status_code == 409 and "verifier-2" in taken.json()["detail"]
    mine = (
        await http.get("/tasks?claimed=me", headers=stack.auth(Role.VERIFIER, officer="verifier-2"))
    ).json()
    assert [i["group_id"] for i in mine["items"]] == [a]
    released = await http.post(f"/tasks/{a}/release", headers=stack.auth(Role.VERIFIER, officer="verifier-2"))
    assert released.status_code == 200 and released.json()["open_task"]["claimed_by"] is None
    assert (await http.post(f"/tasks/{c}/claim", headers=verifier)).status_code == 403  # outside scope
    assert (await http.post(f"/tasks/{a}/claim", headers=stack.auth(Role.AUDITOR))).status_code == 403


# ---- listing and masking ----


async def test_listing_filters_and_masks(stack: Stack, http: httpx.AsyncClient) -> None:
    p1 = factories.proposal(name="Kelompok Tenun Ikat")
    g1 = (await submit(http, stack, p1))["group_id"]
    g2 = (await submit(http, stack, factories.proposal(name="Kelompok Bengkel", region="3172")))["group_id"]
    await act(http, stack, g2, "verify", Role.VERIFIER, {"decision": "approve"})
    auditor = stack.auth(Role.AUDITOR, regions=["*"])

    async def ids(query: str) -> list[str]:
        resp = await http.get(f"/groups{query}", headers=auditor)
        assert resp.status_code == 200, resp.text
        return [g["group_id"] for g in resp.json()["items"]]

    assert await ids("") == [g2, g1]  # newest first
    assert await ids("?stage=training") == [g2]
    assert await ids("?program=padat_karya") == []
    assert await ids("?region=3172") == [g2]
    assert await ids("?q=tenun") == [g1]
    assert await ids(f"?q={g1[-6:].lower()}") == [g1]
    assert await ids(f"?q={p1.members[4].nik}") == [g1]
    assert await ids("?page=2&size=1") == [g1]
    assert (await http.get("/groups?size=1", headers=auditor)).json()["total"] == 2
    assert (await http.get("/groups?region=Jakarta", headers=auditor)).status_code == 422
    assert (await http.get("/groups?size=0", headers=auditor)).status_code == 422

    detail = await http.get(f"/groups/{g1}", headers=auditor)
    body = detail.json()
    assert (
        body["open_task"]["kind"] == "verify"
        and body["open_task"]["due_at"]
        and body["escalation_level"] == 0
    )
    assert body["members"][0]["nik"] == p1.members[0].nik[:4] + "********" + p1.members[0].nik[-4:]
    assert "birth_date" not in body["members"][0]
    assert body["bank_account"]["account_no"] == "******7890"
    for resp in (detail, await http.get(f"/groups?q={p1.members[4].nik}", headers=auditor)):
        assert not any(m.nik in resp.text for m in p1.members)


# ---- the OpenAPI document ----


async def test_openapi_declares_errors_and_examples(stack: Stack, http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    # The gateways' signed calls (the bank's callbacks, members' SMS) carry an HMAC, not a token.
    public = {"/health", "/metrics", "/payments/callback", "/inbound/sms", "/auth/token"}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            if path not in public and not path.startswith("/public/"):  # members' own, no sign-in
                assert {"401", "403"} <= codes, (method, path, codes)
                assert op.get("security"), (method, path)
            if op.get("requestBody") or op.get("parameters"):
                assert "422" in codes, (method, path, codes)
            if "/actions/" in path:
                assert {"404", "409", "422"} <= codes, (method, path)
    schemas = spec["components"]["schemas"]
    missing = [
        name for name, schema in schemas.items() if not (schema.get("examples") or schema.get("example"))
    ]
    assert missing == [], f"schemas without an example: {missing}"
