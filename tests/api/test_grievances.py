"""Grievances (pengaduan) over HTTP against the real stack: filed on the public page and by SMS through
the notification simulator's inbound side (a duplicate, a bad signature, a reply, a reply from a number
nobody asked), acknowledged and resolved by an officer in scope within the SLA, one left alone that
escalates on a compressed policy, the officer a misconduct case is about kept out, the bank's own
status of a payment grievance's transfer, the group's timeline, and the public forms' 429."""

# Over 400 lines on purpose: the grievance's whole public and officer surface against one stack, with
# the SMS and page helpers they share; each test is one scenario.

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx

from api.deps import Services
from api.main import create_app
from infra.grievances import file_grievance
from jps.domain.grievances import DEFAULT_GRIEVANCE_POLICY, CategoryRule, GrievanceCategory
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, submit, today, wait_for_stage
from tests.sim_fixtures import NotifyAdmin

OUTSIDER_NIK = "3201014507900009"  # a valid NIK in no group


async def _group(http: httpx.AsyncClient, stack: Stack) -> tuple[str, Any]:
    proposal = factories.proposal(Program.TKM, size=10)
    created = await submit(http, stack, proposal)
    return created["group_id"], proposal


async def _case(http: httpx.AsyncClient, stack: Stack, gid: str, role: Role, **kw: Any) -> dict[str, Any]:
    resp = await http.get(f"/grievances/{gid}", headers=stack.auth(role, **kw))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _step(
    http: httpx.AsyncClient,
    stack: Stack,
    gid: str,
    action: str,
    role: Role,
    body: dict[str, Any],
    *,
    expect: int = 200,
    **kw: Any,
) -> dict[str, Any]:
    resp = await http.post(f"/grievances/{gid}/actions/{action}", json=body, headers=stack.auth(role, **kw))
    assert resp.status_code == expect, f"{action}: {resp.status_code} {resp.text}"
    out: dict[str, Any] = resp.json()
    return out


async def _sms_to(notify: NotifyAdmin, phone: str, template: str) -> dict[str, Any]:
    for _ in range(100):
        found = [m for m in notify.messages(recipient=phone) if m["template"] == template]
        if found:
            return found[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {template} SMS to {phone}: {notify.messages(recipient=phone)}")


async def _deliver(notify: NotifyAdmin, *messages: dict[str, Any], **faults: Any) -> list[dict[str, Any]]:
    """The simulator's admin call waits for the API, which waits for this test's worker: off the loop."""
    return await asyncio.to_thread(notify.deliver, *messages, **faults)


async def test_a_web_grievance_is_acknowledged_and_resolved_within_its_sla(
    stack: Stack, http: httpx.AsyncClient, notify_sim: NotifyAdmin
) -> None:
    gid, proposal = await _group(http, stack)
    member = proposal.members[3]
    filed = await http.post(
        "/public/grievances",
        json={
            "nik": member.nik,
            "phone": member.phone,
            "group_id": gid,
            "category": "excluded",
            "text": "Nama saya dicoret <b>tanpa</b> alasan.",
        },
    )
    assert filed.status_code == 201, filed.text
    ref = filed.json()
    assert set(ref) == {"grievance_id", "status", "due_at"} and ref["status"] == "filed"
    case_id = ref["grievance_id"]

    # The same answer's shape for a NIK in no group and an unknown group: no oracle.
    other = await http.post(
        "/public/grievances",
        json={
            "nik": OUTSIDER_NIK,
            "phone": "+6281200000001",
            "group_id": "TKM-3171-AAAAAAAAAA",
            "category": "excluded",
            "text": "Saya tidak terpilih.",
        },
    )
    assert other.status_code == 201 and set(other.json()) == set(ref) and other.json()["status"] == "filed"

    # Bad input: a 422 naming the field.
    for body, field in (
        ({"nik": "123", "phone": member.phone, "category": "other", "text": "x"}, "nik"),
        ({"nik": member.nik, "phone": "+15551234567", "category": "other", "text": "x"}, "phone"),
        ({"nik": member.nik, "phone": member.phone, "category": "other", "text": "a\x07b"}, "text"),
        ({"nik": member.nik, "phone": member.phone, "category": "other", "text": "x" * 2001}, "text"),
        ({"nik": member.nik, "phone": member.phone, "category": "bribe", "text": "x"}, "category"),
        (
            {
                "nik": member.nik,
                "phone": member.phone,
                "category": "other",
                "about_officer": "x",
                "text": "x",
            },
            "about_officer",
        ),
    ):
        resp = await http.post("/public/grievances", json=body)
        assert resp.status_code == 422, resp.text
        assert field in str(resp.json()["detail"])

    # A verifier of the region sees it in their inbox; one of another region does not.
    mine = (await http.get("/grievances?mine=true", headers=stack.auth(Role.VERIFIER))).json()
    assert case_id in [c["grievance_id"] for c in mine["items"]]
    elsewhere = await http.get(f"/grievances/{case_id}", headers=stack.auth(Role.VERIFIER, regions=["32"]))
    assert elsewhere.status_code == 404
    case = await _case(http, stack, case_id, Role.VERIFIER)
    assert case["nik_masked"] == member.nik[:4] + "********" + member.nik[-4:]
    assert member.phone not in str(case) and member.nik not in str(case)
    assert case["group_known"] and case["member_in_group"] and case["handler_role"] == "verifier"
    assert case["text"] == "Nama saya dicoret <b>tanpa</b> alasan."
    assert case["actions"] == ["acknowledge"]

    # The wrong role is refused by the workflow (403), the wrong step too (409).
    await _step(http, stack, case_id, "acknowledge", Role.FINANCE, {}, expect=403)
    await _step(
        http, stack, case_id, "resolve", Role.VERIFIER, {"decision": "upheld", "reason": "x"}, expect=409
    )

    out = await _step(http, stack, case_id, "acknowledge", Role.VERIFIER, {"note": "Diperiksa"})
    assert out["status"] == "acknowledged"
    out = await _step(
        http,
        stack,
        case_id,
        "resolve",
        Role.VERIFIER,
        {"decision": "upheld", "reason": "Dimasukkan kembali ke daftar"},
    )
    assert out["status"] == "resolved"
    case = await _case(http, stack, case_id, Role.VERIFIER)
    assert case["decision"] == "upheld"
    assert datetime.fromisoformat(case["decided_at"]) < datetime.fromisoformat(case["resolve_due_at"])
    assert [e["event"] for e in case["events"]] == ["filed", "acknowledged", "resolved"]

    # The complainant was told by SMS at each step.
    for template in ("grievance_filed", "grievance_acknowledged", "grievance_resolved"):
        sms = await _sms_to(notify_sim, member.phone, template)
        assert case_id in sms["body"] and member.nik not in sms["body"]

    # Reopened by the complainant (their NIK), not by someone else's: the same 404 as an unknown case.
    wrong = await http.post(f"/public/grievances/{case_id}/reopen", json={"nik": OUTSIDER_NIK, "text": "x"})
    unknown = await http.post(
        "/public/grievances/GRV-AAAAAAAAAA/reopen", json={"nik": member.nik, "text": "x"}
    )
    assert wrong.status_code == unknown.status_code == 404 and wrong.json() == unknown.json()
    reopened = await http.post(
        f"/public/grievances/{case_id}/reopen",
        json={"nik": member.nik, "text": "Nama saya belum ada di daftar."},
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "acknowledged"

    # The group's timeline shows its grievance.
    history = (
        await http.get(f"/groups/{gid}/history", headers=stack.auth(Role.AUDITOR, regions=["*"]))
    ).json()
    events = [e["event"] for e in history["events"]]
    assert "grievance_filed" in events and "grievance_resolved" in events


async def test_an_sms_grievance_a_duplicate_a_bad_signature_and_replies(
    stack: Stack, http: httpx.AsyncClient, notify_sim: NotifyAdmin
) -> None:
    gid, proposal = await _group(http, stack)
    member = proposal.members[1]
    notify_sim.inbound_config(
        inbound_url=f"{stack.url}/inbound/sms", inbound_secret=stack.settings.sms_hmac_secret
    )
    text = f"ADUAN {gid} {member.nik} PUNGLI ketua minta uang Rp 500.000"

    bad = await _deliver(
        notify_sim, {"from_phone": member.phone, "text": text, "message_id": "m-bad"}, bad_signature=True
    )
    assert [d["status"] for d in bad] == [401]
    assert (await http.post("/sms/inbound", json={"message_id": "x"})).status_code == 401  # DESIGN.md's path
    first, again = await _deliver(
        notify_sim, {"from_phone": member.phone, "text": text, "message_id": "m-1"}, duplicates=1
    )
    assert first["status"] == 200 and first["answer"]["handler"] == "grievance_keyword"
    assert again["status"] == 200 and again["answer"]["duplicate"] is True
    cases = (await http.get(f"/grievances?group_id={gid}", headers=stack.auth(Role.SUPERVISOR))).json()
    assert cases["total"] == 1  # the duplicate created nothing
    case_id = cases["items"][0]["grievance_id"]
    assert cases["items"][0]["category"] == "misconduct" and cases["items"][0]["channel"] == "sms"
    await _sms_to(notify_sim, member.phone, "grievance_filed")

    await _step(http, stack, case_id, "acknowledge", Role.SUPERVISOR, {})
    out = await _step(
        http, stack, case_id, "request-info", Role.SUPERVISOR, {"question": "Kapan dan di mana uang diminta?"}
    )
    assert out["status"] == "info_requested"
    await _sms_to(notify_sim, member.phone, "grievance_info_requested")

    # A reply from a number nobody asked is logged and ignored; two replies out of order: the asked
    # number's first delivered is taken, the other finds nothing asked any more.
    stranger = await _deliver(
        notify_sim, {"from_phone": "+6281299999999", "text": "Senin di balai desa", "message_id": "m-2"}
    )
    assert stranger[0]["answer"]["handled"] is False
    replies = await _deliver(
        notify_sim,
        {"from_phone": member.phone, "text": "Senin pagi di balai desa", "message_id": "m-3"},
        {"from_phone": member.phone, "text": "Saksi: Pak RT", "message_id": "m-4"},
        out_of_order=True,
    )
    assert [r["message_id"] for r in replies] == ["m-4", "m-3"]
    assert replies[0]["answer"]["handler"] == "grievance_reply" and replies[1]["answer"]["handled"] is False
    case = await _case(http, stack, case_id, Role.SUPERVISOR)
    assert case["status"] == "acknowledged"
    assert [e["event"] for e in case["events"]] == [
        "filed",
        "acknowledged",
        "info_requested",
        "info_provided",
    ]
    assert case["events"][-1]["text"] == "Saksi: Pak RT"

    out = await _step(
        http,
        stack,
        case_id,
        "resolve",
        Role.SUPERVISOR,
        {"decision": "referred", "reason": "Diteruskan ke Inspektorat"},
    )
    assert out["status"] == "resolved"
    assert await stack.pool.fetchval("SELECT count(*) FROM inbound_messages") == 4  # m-1, m-2, m-3, m-4


async def test_the_officer_a_misconduct_case_is_about_never_sees_nor_handles_it(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    gid, proposal = await _group(http, stack)
    member = proposal.members[2]
    resp = await http.post(
        "/grievances",
        json={
            "nik": member.nik,
            "phone": member.phone,
            "group_id": gid,
            "category": "misconduct",
            "about_officer": "supervisor-bad",
            "text": "Petugas meminta imbalan.",
        },
        headers=stack.auth(Role.REGISTRAR),
    )
    assert resp.status_code == 201, resp.text
    case_id = resp.json()["grievance_id"]
    bad = {"officer": "supervisor-bad"}
    listing = (await http.get("/grievances", headers=stack.auth(Role.SUPERVISOR, **bad))).json()
    assert case_id not in [c["grievance_id"] for c in listing["items"]]
    assert (
        await http.get(f"/grievances/{case_id}", headers=stack.auth(Role.SUPERVISOR, **bad))
    ).status_code == 404
    await _step(http, stack, case_id, "acknowledge", Role.SUPERVISOR, {}, expect=404, **bad)
    history = (await http.get(f"/groups/{gid}/history", headers=stack.auth(Role.SUPERVISOR, **bad))).json()
    assert not [e for e in history["events"] if e["event"].startswith("grievance_")]
    await _step(http, stack, case_id, "acknowledge", Role.SUPERVISOR, {}, officer="supervisor-good")
    case = await _case(http, stack, case_id, Role.SUPERVISOR, officer="supervisor-good")
    assert case["about_officer"] == "supervisor-bad" and case["filed_by"] == "registrar-1"
    assert case["channel"] == "walk_in"


async def test_a_case_left_alone_escalates_to_the_supervisor(stack: Stack, http: httpx.AsyncClient) -> None:
    quick = DEFAULT_GRIEVANCE_POLICY.model_copy(
        update={
            "categories": {
                **DEFAULT_GRIEVANCE_POLICY.categories,
                GrievanceCategory.OTHER: CategoryRule(
                    handler=Role.REGISTRAR,
                    acknowledge_within=timedelta(seconds=1),
                    resolve_within=timedelta(days=1),
                ),
            },
            "escalate_regional_after": timedelta(seconds=2),
            "escalate_national_after": timedelta(seconds=3),
        }
    )
    ref = await file_grievance(
        stack.client,
        nik=OUTSIDER_NIK.replace("32", "31", 1),
        phone="+6281200000002",
        group_id=None,
        category=GrievanceCategory.OTHER,
        text="Tidak ada yang menanggapi.",
        channel="web",
        task_queue=stack.settings.temporal_task_queue,
        policy=quick,
        request_id="escalation-test",
    )
    again = await file_grievance(
        stack.client,
        nik=OUTSIDER_NIK,
        phone="+6281200000002",
        group_id=None,
        category=GrievanceCategory.OTHER,
        text="x",
        channel="web",
        task_queue=stack.settings.temporal_task_queue,
        policy=quick,
        request_id="escalation-test",
    )
    assert again.grievance_id == ref.grievance_id  # idempotent on the request id
    case: dict[str, Any] = {}
    for _ in range(100):
        case = await _case(http, stack, ref.grievance_id, Role.REGISTRAR)
        if case["escalation_level"] >= 3:
            break
        await asyncio.sleep(0.1)
    assert case["escalation_level"] == 3, case
    assert [e["event"] for e in case["events"]] == [
        "filed",
        "reminder",
        "escalated_regional",
        "escalated_national",
    ]
    inbox = (await http.get("/grievances?mine=true", headers=stack.auth(Role.SUPERVISOR))).json()
    assert ref.grievance_id in [c["grievance_id"] for c in inbox["items"]]  # escalated to the supervisor


async def test_a_payment_grievance_shows_the_banks_own_status(stack: Stack, http: httpx.AsyncClient) -> None:
    gid, proposal = await _group(http, stack)
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve", "notes": "ok"})
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
    await wait_for_stage(http, stack, gid, "mentoring")
    member = proposal.members[0]
    filed = await http.post(
        "/public/grievances",
        json={
            "nik": member.nik,
            "phone": member.phone,
            "group_id": gid,
            "category": "payment_not_received",
            "text": "Uang belum masuk rekening kelompok.",
        },
    )
    case = await _case(http, stack, filed.json()["grievance_id"], Role.FINANCE)
    assert case["handler_role"] == "finance" and case["transfer_id"].startswith(gid)
    assert case["bank"]["bank_status"] == "paid" and case["bank"]["our_status"] == "paid"


@asynccontextmanager
async def _tight_app(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        services=Services.build(
            stack.settings.model_copy(update={"public_per_minute": 3}), stack.pool, stack.client
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        yield client


async def test_the_public_form_refuses_a_flood(stack: Stack) -> None:
    async with _tight_app(stack) as client:
        codes = [(await client.post("/public/grievances", json={"nik": "bad"})).status_code for _ in range(5)]
    assert codes == [422, 422, 422, 429, 429]


async def _answers(stack: Stack, phone: str) -> list[dict[str, Any]]:
    rows = await stack.pool.fetch(
        "SELECT id, template, body FROM notification_outbox WHERE recipient = $1 ORDER BY created_at", phone
    )
    return [dict(r) for r in rows]


async def test_an_unreadable_sms_grievance_is_answered_once_an_hour(
    stack: Stack, http: httpx.AsyncClient, notify_sim: NotifyAdmin
) -> None:
    gid, proposal = await _group(http, stack)
    member, other = proposal.members[2], proposal.members[3]
    notify_sim.inbound_config(
        inbound_url=f"{stack.url}/inbound/sms", inbound_secret=stack.settings.sms_hmac_secret
    )
    # A category nobody knows: the sender is told which part, and the format.
    bad = f"ADUAN {gid} {member.nik} RUSAK jalan rusak"
    answered = await _deliver(notify_sim, {"from_phone": member.phone, "text": bad, "message_id": "u-1"})
    assert answered[0]["answer"]["handler"] == "grievance_keyword"
    answers = await _answers(stack, member.phone)
    assert [a["template"] for a in answers] == ["grievance_sms_unreadable"]
    assert "kategori tidak terbaca" in answers[0]["body"] and "ADUAN <id kelompok" in answers[0]["body"]
    assert member.nik not in answers[0]["body"]
    # The gateway's retry of that message, and another bad one within the hour: no second answer.
    await _deliver(notify_sim, {"from_phone": member.phone, "text": bad, "message_id": "u-1"})
    await _deliver(notify_sim, {"from_phone": member.phone, "text": "ADUAN saja", "message_id": "u-2"})
    assert len(await _answers(stack, member.phone)) == 1

    # Well formed, for a group that does not exist: filed as any other (the answer is no oracle).
    unknown = f"ADUAN TKM-3171-AAAAAAAAAA {other.nik} BELUMTERIMA belum masuk"
    await _deliver(notify_sim, {"from_phone": other.phone, "text": unknown, "message_id": "u-3"})
    assert [a["template"] for a in await _answers(stack, other.phone)] == ["grievance_filed"]

    # A number abroad is never answered.
    await _deliver(notify_sim, {"from_phone": "+14155550100", "text": bad, "message_id": "u-4"})
    assert await _answers(stack, "+14155550100") == []
