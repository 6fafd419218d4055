"""A group's timeline from its Temporal history (JSON and CSV, with the UI link), the fallback to the
audit log once the history is gone, and the audit log's hash chain catching a changed or removed row
(over HTTP and through `jps audit verify`), and its anchors across a rotation of the anchor key."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from api.deps import Services
from api.main import create_app
from infra.audit import append_audit
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, submit, today
from tests.api.test_seed_and_reports import run_cli


async def _group_in_training(stack: Stack, http: httpx.AsyncClient) -> tuple[str, list[str]]:
    proposal = factories.proposal()
    gid = (await submit(http, stack, proposal))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve", "notes": "lengkap"})
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today(), "ends_on": today(), "venue": "BLK Jakarta Timur"},
    )
    await act(
        http,
        stack,
        gid,
        "record-attendance",
        Role.TRAINER,
        {"attended_niks": [m.nik for m in proposal.members[:10]]},
    )
    return gid, [m.nik for m in proposal.members]


async def test_history_from_temporal_as_json_and_csv(stack: Stack, http: httpx.AsyncClient) -> None:
    gid, niks = await _group_in_training(stack, http)
    auditor = stack.auth(Role.AUDITOR, regions=["*"], officer="auditor-7")
    resp = await http.get(f"/groups/{gid}/history", headers=auditor)
    assert resp.status_code == 200
    history = resp.json()
    assert history["source"] == "temporal"
    assert (
        history["temporal_ui_url"] == f"{stack.settings.temporal_ui_url}/namespaces/default/workflows/{gid}"
    )
    events = [(e["event"], e["stage"], e["officer"]) for e in history["events"]]
    assert events == [
        ("workflow_started", None, None),
        ("proposal_submitted", "verification", "registrar-1"),
        ("verification_approved", "training", "verifier-1"),
        ("training_scheduled", "training", "trainer-1"),
        ("training_attendance_insufficient", "training", "trainer-1"),
    ]
    verified = history["events"][2]
    assert verified["reason"] == "lengkap" and verified["details"]["from_stage"] == "verification"
    assert history["events"][4]["details"] == {"attempt": 1, "attended": 10, "members": 20}
    assert not any(nik in resp.text for nik in niks)
    times = [e["at"] for e in history["events"]]
    assert times == sorted(times)

    resp = await http.get(f"/groups/{gid}/history?format=csv", headers=auditor)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["event"] for r in rows] == [e[0] for e in events]
    assert rows[2]["officer"] == "verifier-1" and rows[2]["reason"] == "lengkap"


async def test_history_falls_back_to_the_audit_log_when_temporal_forgot(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    gid = (await submit(http, stack, factories.proposal()))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "reject", "notes": "fiktif"})
    # What the namespace's retention leaves years later: the read model and the audit log in
    # PostgreSQL, and a Temporal that has never heard of the workflow id. The group's rows are
    # copied under an id Temporal does not know (the dev server deletes histories only eventually).
    old = gid[:-10] + "RETENTION0"
    await stack.pool.execute(
        """INSERT INTO groups SELECT $2, program, name, region_code, stage, member_count, requested_amount,
               approved_amount, paid_amount, task_kind, task_roles, task_due_at, escalation_level, claimed_by,
               submitted_by, submitted_at, updated_at, paid_at, closed_at, last_seq, state
           FROM groups WHERE group_id = $1""",
        gid,
        old,
    )
    async with stack.pool.acquire() as conn, conn.transaction():
        for row in await conn.fetch("SELECT * FROM audit_log WHERE group_id = $1 ORDER BY id", gid):
            await append_audit(
                conn,
                group_id=old,
                seq=row["seq"],
                at=row["at"],
                actor=row["actor"],
                actor_roles=row["actor_roles"],
                event=row["event"],
                stage=row["stage"],
                reason=row["reason"],
                details=row["details"],
            )
    history = (
        await http.get(f"/groups/{old}/history", headers=stack.auth(Role.AUDITOR, regions=["*"]))
    ).json()
    assert history["source"] == "audit_log"
    assert [(e["event"], e["stage"], e["officer"], e["reason"]) for e in history["events"]] == [
        ("proposal_submitted", "verification", "registrar-1", ""),
        ("verification_rejected", "rejected", "verifier-1", "fiktif"),
    ]


async def test_audit_log_and_tamper_detection(stack: Stack, http: httpx.AsyncClient) -> None:
    gid, _ = await _group_in_training(stack, http)
    await act(
        http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"}, expect=409
    )  # refused: audited
    auditor = stack.auth(Role.AUDITOR, regions=["*"])

    page = (await http.get("/audit?size=2", headers=auditor)).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["items"][0]["event"] == "action_refused"
    mine = (await http.get(f"/audit?group_id={gid}&actor=trainer-1", headers=auditor)).json()
    assert [r["event"] for r in mine["items"]] == ["training_attendance_insufficient", "training_scheduled"]
    assert all(r["hash"] and r["prev_hash"] for r in mine["items"])
    elsewhere = (await http.get("/audit", headers=stack.auth(Role.AUDITOR, regions=["32"]))).json()
    assert elsewhere["total"] == 0

    assert (await http.get("/audit/verify", headers=auditor)).json() == {
        "valid": True,
        "rows": 5,
        "broken_at_id": None,
        "problem": None,
    }
    code, out = await run_cli(stack, "audit", "verify")
    assert code == 0 and "5 rows" in out

    # someone edits a row's reason in the database
    target = await stack.pool.fetchval("SELECT id FROM audit_log WHERE event = 'verification_approved'")
    await stack.pool.execute("UPDATE audit_log SET reason = 'approved by the minister' WHERE id = $1", target)
    verdict = (await http.get("/audit/verify", headers=auditor)).json()
    assert verdict == {
        "valid": False,
        "rows": target - 1,
        "broken_at_id": target,
        "problem": "row content changed",
    }
    code, out = await run_cli(stack, "audit", "verify")
    assert code == 1 and "BROKEN" in out and f"row id {target}" in out

    # put it back, then remove a row instead
    await stack.pool.execute("UPDATE audit_log SET reason = 'lengkap' WHERE id = $1", target)
    assert (await http.get("/audit/verify", headers=auditor)).json()["valid"] is True
    await stack.pool.execute("DELETE FROM audit_log WHERE id = $1", target + 1)
    verdict = (await http.get("/audit/verify", headers=auditor)).json()
    assert verdict["valid"] is False and verdict["broken_at_id"] == target + 2
    assert verdict["problem"] == "row missing before it"


async def _cut(stack: Stack, after_id: int) -> list[dict[str, object]]:
    """Delete the rows after `after_id` (an intruder cutting the tail); return them to put back."""
    rows = [
        dict(r) for r in await stack.pool.fetch("SELECT * FROM audit_log WHERE id > $1 ORDER BY id", after_id)
    ]
    await stack.pool.execute("DELETE FROM audit_log WHERE id > $1", after_id)
    return rows


async def _put_back(stack: Stack, rows: list[dict[str, object]]) -> None:
    for row in rows:
        columns = list(row)
        placeholders = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        await stack.pool.execute(
            f"INSERT INTO audit_log ({', '.join(columns)}) VALUES ({placeholders})", *row.values()
        )


async def test_audit_anchor_shows_a_cut_tail_and_an_emptied_table(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """Deleting the last rows, or all of them, leaves a chain that verifies on its own; the signed
    anchors of its head (a file apart from the table) show it."""
    from infra.audit import AuditAnchors

    gid, _ = await _group_in_training(stack, http)
    auditor = stack.auth(Role.AUDITOR, regions=["*"])
    untouched = (await http.get("/audit/verify", headers=auditor)).json()
    assert untouched["valid"] is True and untouched["rows"] == 4
    anchors = AuditAnchors(stack.settings.anchor_file, stack.settings.audit_anchor_key)
    assert [(a["rows"], a["forged"]) for a in anchors.read()] == [(4, False)]  # the verified head

    # one more step, anchored by the outbox sweep's checkpoint (what the worker does every minute)
    await act(http, stack, gid, "cancel", Role.SUPERVISOR, {"reason": "dibatalkan"})
    async with stack.pool.acquire() as conn:
        assert await anchors.checkpoint(conn) is True
        assert await anchors.checkpoint(conn) is False  # the head has not moved
    total = await stack.pool.fetchval("SELECT count(*) FROM audit_log")
    last = await stack.pool.fetchval("SELECT max(id) FROM audit_log")
    assert anchors.read()[-1]["rows"] == total > 4

    # the tail cut: the remaining chain is intact, the anchor counts more rows
    tail = await _cut(stack, last - 2)
    verdict = (await http.get("/audit/verify", headers=auditor)).json()
    assert verdict["valid"] is False and verdict["rows"] == total - 2
    assert verdict["broken_at_id"] == last - 1
    assert (
        verdict["problem"].startswith("rows missing at the end: the anchor of ")
        and f"counts {total} rows" in verdict["problem"]
    )
    code, out = await run_cli(stack, "audit", "verify")  # the command reads the same anchors
    assert code == 1 and "BROKEN" in out and "rows missing at the end" in out
    await _put_back(stack, tail)
    assert (await http.get("/audit/verify", headers=auditor)).json() == {
        "valid": True,
        "rows": total,
        "broken_at_id": None,
        "problem": None,
    }

    # the table emptied
    everything = await _cut(stack, 0)
    verdict = (await http.get("/audit/verify", headers=auditor)).json()
    assert verdict["valid"] is False and verdict["rows"] == 0 and verdict["broken_at_id"] == 1
    assert "the table is empty" in verdict["problem"]
    await _put_back(stack, everything)
    assert (await http.get("/audit/verify", headers=auditor)).json()["valid"] is True

    # an anchor forged without the key is itself a finding
    with anchors.path.open("a") as f:
        f.write('{"rows": 1, "head": "x", "at": "2026-01-01T00:00:00+00:00", "mac": "00"}\n')
    verdict = (await http.get("/audit/verify", headers=auditor)).json()
    assert (
        verdict["valid"] is False
        and verdict["problem"] == f"anchor {len(anchors.read())} has a wrong signature"
    )


async def test_the_anchor_key_rotates_and_the_anchors_it_signed_still_verify(
    stack: Stack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """`JPS_AUDIT_ANCHOR_KEY` rotated with the old key in `JPS_AUDIT_ANCHOR_OLD_KEYS`: the anchors
    the old key signed (one written before anchors named their key too) still verify and still show
    a cut tail; new anchors are signed with the new key. Rotated without the old key, the old
    anchors are findings, not silently dropped."""
    from infra.audit import AuditAnchors, anchor_key_id

    old_key, new_key = "old-anchor-key-" + "o" * 32, "new-anchor-key-" + "n" * 32
    path = tmp_path / "anchors.jsonl"
    auditor = stack.auth(Role.AUDITOR, regions=["*"])
    gid = (await submit(http, stack, factories.proposal()))["group_id"]

    async with _api(stack, audit_anchor_path=path, audit_anchor_key=old_key) as api:
        assert (await api.get("/audit/verify", headers=auditor)).json()["valid"] is True
    [first] = AuditAnchors(path, old_key).read()
    assert first["kid"] == anchor_key_id(old_key) and not first["forged"]
    # an anchor as written before anchors carried a `kid`, signed with the old key
    legacy = {k: v for k, v in first.items() if k not in ("kid", "forged")}
    with path.open("a") as f:
        f.write(json.dumps(legacy) + "\n")

    async with _api(stack, audit_anchor_path=path, audit_anchor_key=new_key) as api:
        verdict = (await api.get("/audit/verify", headers=auditor)).json()
        assert verdict["valid"] is False and verdict["problem"] == "anchor 1 has a wrong signature"

    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve", "notes": "lengkap"})
    rotated = {"audit_anchor_path": path, "audit_anchor_key": new_key, "audit_anchor_old_keys": old_key}
    async with _api(stack, **rotated) as api:
        assert (await api.get("/audit/verify", headers=auditor)).json()["valid"] is True
        anchors = AuditAnchors(path, new_key, (old_key,)).read()
        assert [(a.get("kid"), a["forged"]) for a in anchors] == [
            (anchor_key_id(old_key), False),
            (None, False),
            (anchor_key_id(new_key), False),  # the verified head, signed with the new key
        ]
        # the old key's anchor still shows a cut tail, even of rows the new key's anchor did not see
        tail = await _cut(stack, int(first["last_id"]) - 1)
        verdict = (await api.get("/audit/verify", headers=auditor)).json()
        assert verdict["valid"] is False and "rows missing at the end" in verdict["problem"]
        await _put_back(stack, tail)
        assert (await api.get("/audit/verify", headers=auditor)).json()["valid"] is True


@asynccontextmanager
async def _api(stack: Stack, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API with settings of this test's own, in process."""
    app = create_app(
        services=Services.build(stack.settings.model_copy(update=settings), stack.pool, stack.client)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        yield client
