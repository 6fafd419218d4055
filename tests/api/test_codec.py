"""The codec endpoint the Temporal UI calls (`POST /codec/decode`) over HTTP: a real group's sealed
start input, as Temporal stores it, opened for an auditor; refused to a finance officer; every decode
audited without the payload; no `/codec/encode`. And the history's Temporal UI link, for auditors only."""

from __future__ import annotations

import base64
import json

import httpx
from google.protobuf.json_format import MessageToDict
from temporalio.api.enums.v1 import EventType

from jps.domain.roles import Role
from jps.sealing import ENCODING
from tests import factories
from tests.api.conftest import Stack, submit


async def _sealed_start_input(stack: Stack, gid: str) -> dict[str, object]:
    """The start event's input payload exactly as the server holds it (not decoded)."""
    async for event in stack.client.get_workflow_handle(gid).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payload = event.workflow_execution_started_event_attributes.input.payloads[0]
            as_json: dict[str, object] = MessageToDict(payload)
            return as_json
    raise AssertionError("no start event")


async def test_an_auditor_decodes_a_group_s_payloads_and_the_decode_is_audited(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    proposal = factories.proposal()
    gid = (await submit(http, stack, proposal))["group_id"]
    sealed = await _sealed_start_input(stack, gid)
    assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING  # type: ignore[index]
    plain = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": "e30="}
    body = {"payloads": [sealed, plain]}

    auditor = stack.auth(Role.AUDITOR, regions=["*"], officer="auditor-9")
    resp = await http.post(f"/codec/decode?group_id={gid}", json=body, headers=auditor)
    assert resp.status_code == 200, resp.text
    opened, passed = resp.json()["payloads"]
    assert base64.b64decode(opened["metadata"]["encoding"]) == b"json/plain"
    start_input = json.loads(base64.b64decode(opened["data"]))
    assert start_input["group_id"] == gid
    assert {m["nik"] for m in start_input["proposal"]["members"]} == {m.nik for m in proposal.members}
    assert passed == plain  # written before the codec: as it was

    for role in (Role.FINANCE, Role.SUPERVISOR):
        refused = await http.post("/codec/decode", json=body, headers=stack.auth(role, regions=["*"]))
        assert refused.status_code == 403
    assert (await http.post("/codec/decode", json=body)).status_code == 401
    assert (await http.post("/codec/encode", json=body, headers=auditor)).status_code in (404, 405)

    rows = await stack.pool.fetch("SELECT * FROM audit_log WHERE event = 'payloads_decoded'")
    assert len(rows) == 1
    row = rows[0]
    assert (row["actor"], row["group_id"]) == ("auditor-9", gid)
    details = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    assert details["count"] == 2
    assert proposal.members[0].nik not in json.dumps(dict(row), default=str)


async def test_codec_preflight_answers_the_temporal_ui_origin_only(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    ui = stack.settings.temporal_ui_url.rstrip("/")
    ok = await http.options("/codec/decode", headers={"Origin": ui, "Access-Control-Request-Method": "POST"})
    assert ok.headers.get("access-control-allow-origin") == ui
    other = await http.options(
        "/codec/decode", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in other.headers


async def test_the_temporal_ui_link_is_for_auditors_only(stack: Stack, http: httpx.AsyncClient) -> None:
    gid = (await submit(http, stack, factories.proposal()))["group_id"]
    auditor = (await http.get(f"/groups/{gid}/history", headers=stack.auth(Role.AUDITOR))).json()
    assert auditor["temporal_ui_url"].endswith(f"/workflows/{gid}")
    verifier = (await http.get(f"/groups/{gid}/history", headers=stack.auth(Role.VERIFIER))).json()
    assert verifier["temporal_ui_url"] is None

    for role, shown in ((Role.AUDITOR, True), (Role.VERIFIER, False)):
        http.cookies.set("jps_console_token", stack.token(role))
        page = await http.get(f"/kelompok/{gid}/riwayat")
        assert page.status_code == 200
        assert (f"/workflows/{gid}" in page.text) is shown
    http.cookies.clear()
