"""The public status lookup over HTTP (issue 14): a member of a paid TKM group sees the group's stage,
next step and the group's transfer; a Padat Karya worker sees their own wage only; a wrong NIK and an
unknown group get the very same 404; a flood gets 429; lookups are counted without the NIK; the
console's public page answers the same, in Bahasa Indonesia and in English."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.main import create_app
from jps.domain.models import Proposal
from jps.domain.nik import mask_nik
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, submit, today, wait_for_stage
from tests.sim_fixtures import ThreadedServer

TKM_PAID = 10_000_000
PK_PAID = 20_000_000  # 10 workers, an equal share each (the earlier rule; no muster rolls)


async def paid(http: httpx.AsyncClient, stack: Stack, proposal: Proposal, amount: int) -> str:
    gid: str = (await submit(http, stack, proposal))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    training = {"starts_on": today(), "ends_on": today(), "venue": "BLK Jakarta Timur"}
    await act(http, stack, gid, "schedule-training", Role.TRAINER, training)
    niks = [m.nik for m in proposal.members]
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": niks})
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": amount})
    await wait_for_stage(http, stack, gid, "mentoring")
    return gid


async def lookup(http: httpx.AsyncClient, group_id: str, nik: str) -> httpx.Response:
    return await http.get("/public/status", params={"group_id": group_id, "nik": nik})


async def test_a_member_sees_the_group_s_stage_and_transfer_and_nothing_about_others(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    proposal = factories.proposal(Program.TKM, size=12, amount=TKM_PAID, account_no="1234567890")
    gid = await paid(http, stack, proposal, TKM_PAID)
    member = proposal.members[5]  # any member, not only the leader

    resp = await lookup(http, gid, member.nik)  # no Authorization header: public
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["group_id"] == gid and body["program"] == "tkm"
    assert body["stage"] == "mentoring"
    assert body["stage_text"] == "Bantuan sudah dibayar; tahap pendampingan"
    assert body["next_step_code"] in ("report_visit", "submit_lpj")
    assert body["next_step"] and body["due_at"]
    [payment] = body["payments"]
    assert payment["amount"] == TKM_PAID and payment["status"] == "paid" and payment["paid_at"]
    assert payment["account_masked"] == "******7890"
    # Nothing about the other members: no NIK, masked or not, no name, no phone.
    text = resp.text
    for other in proposal.members:
        assert other.nik not in text and mask_nik(other.nik) not in text
        assert other.phone not in text and f'"{other.name}"' not in text


async def test_a_padat_karya_worker_sees_their_own_wage_only(
    stack: Stack, http: httpx.AsyncClient, equal_split_http: httpx.AsyncClient
) -> None:
    # Paid at once in equal shares (a group submitted before the weekly wage rule): a wage per worker
    # without driving muster rolls; weekly wages in the lookup: tests/api/test_verification_wages.py.
    proposal = factories.proposal(Program.PADAT_KARYA, size=10, amount=PK_PAID)
    gid = await paid(equal_split_http, stack, proposal, PK_PAID)
    worker = proposal.members[3]
    assert worker.bank_account is not None

    body = (await lookup(http, gid, worker.nik)).json()
    assert body["program"] == "padat_karya"
    [wage] = body["payments"]
    assert wage["amount"] == PK_PAID // 10 and wage["status"] == "paid"
    assert wage["account_masked"].endswith(worker.bank_account.account_no[-4:])
    assert wage["account_masked"].count("*") == len(worker.bank_account.account_no) - 4


async def test_a_wrong_nik_and_an_unknown_group_answer_the_same_404(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    proposal = factories.proposal(Program.TKM, size=10)
    gid = (await submit(http, stack, proposal))["group_id"]
    member = proposal.members[0]
    stranger = factories.member(99).nik  # a valid NIK, in no group

    assert (await lookup(http, gid, member.nik)).status_code == 200  # in verification: no payment yet
    wrong_nik = await lookup(http, gid, stranger)
    unknown_group = await lookup(http, "TKM-3171-ZZZZZZZZZZ", member.nik)
    for resp in (wrong_nik, unknown_group):
        assert resp.status_code == 404
    assert wrong_nik.content == unknown_group.content
    assert {k: v for k, v in wrong_nik.headers.items() if k not in ("date",)} == {
        k: v for k, v in unknown_group.headers.items() if k not in ("date",)
    }
    # Bad shapes are a 422 naming the field (that says nothing about who exists).
    bad = await http.get("/public/status", params={"group_id": gid, "nik": "12345"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "nik"]


async def test_lookups_are_counted_by_outcome_without_the_nik(stack: Stack, http: httpx.AsyncClient) -> None:
    proposal = factories.proposal(Program.TKM, size=10)
    gid = (await submit(http, stack, proposal))["group_id"]
    nik = proposal.members[1].nik
    await lookup(http, gid, nik)
    await lookup(http, gid, factories.member(98).nik)
    metrics = (await http.get("/metrics")).text
    assert 'jps_public_status_lookups_total{outcome="found"}' in metrics
    assert 'jps_public_status_lookups_total{outcome="not_found"}' in metrics
    assert 'route="/public/status"' in metrics
    assert nik not in metrics and gid not in metrics


@pytest.fixture
async def strict_api(stack: Stack) -> AsyncIterator[str]:
    """The API with 3 status lookups a minute per client."""
    settings = stack.settings.model_copy(update={"public_status_per_minute": 3})
    server = ThreadedServer(create_app(settings), "api-strict-status").start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_a_flood_of_lookups_gets_429(stack: Stack, strict_api: str) -> None:
    async with httpx.AsyncClient(base_url=strict_api, timeout=30) as http:
        answers = [
            (await lookup(http, "TKM-3171-ZZZZZZZZZZ", factories.member(90 + i).nik)).status_code
            for i in range(5)
        ]
        assert answers == [404, 404, 404, 429, 429]
        flooded = await lookup(http, "TKM-3171-ZZZZZZZZZZ", factories.member(97).nik)
        assert flooded.status_code == 429 and int(flooded.headers["retry-after"]) >= 1
        # The console's page shares the limiter: the same client is refused there too.
        page = await http.post(
            "/cek-status", data={"group_id": "TKM-3171-ZZZZZZZZZZ", "nik": "3171014507900001"}
        )
        assert page.status_code == 429 and "Terlalu banyak percobaan" in page.text
        metrics = (await http.get("/metrics")).text
        assert 'jps_public_status_lookups_total{outcome="rate_limited"}' in metrics


async def test_the_public_page_shows_the_same_answer_in_both_languages(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    proposal = factories.proposal(Program.TKM, size=12, amount=TKM_PAID, name="Kelompok Sari Rasa")
    gid = await paid(http, stack, proposal, TKM_PAID)
    nik = proposal.members[2].nik

    form = await http.get("/cek-status")
    assert form.status_code == 200 and '<html lang="id">' in form.text and "Cek status bantuan" in form.text
    found = await http.post("/cek-status", data={"group_id": gid, "nik": nik})
    assert found.status_code == 200
    assert "Kelompok Sari Rasa" in found.text and "Rp 10.000.000" in found.text and "******7890" in found.text
    assert "Bantuan sudah dibayar; tahap pendampingan" in found.text
    assert nik not in found.text  # the answer never repeats the NIK

    english = await http.post("/cek-status?lang=en", data={"group_id": gid, "nik": nik})
    assert '<html lang="en">' in english.text and "Aid paid; mentoring" in english.text

    # ?lang=en stays remembered in a cookie: ?lang=id switches back.
    wrong = await http.post("/cek-status?lang=id", data={"group_id": gid, "nik": factories.member(95).nik})
    unknown = await http.post("/cek-status", data={"group_id": "TKM-3171-ZZZZZZZZZZ", "nik": nik})
    assert wrong.status_code == unknown.status_code == 404
    assert "Data tidak ditemukan" in wrong.text and "Data tidak ditemukan" in unknown.text
    bad = await http.post("/cek-status", data={"group_id": gid, "nik": "123"})
    assert bad.status_code == 422 and "NIK harus 16 angka" in bad.text
