"""The grievance pages over HTTP: the public form's refusals (a field named, 422), the follow-up form
with someone else's NIK (the same words as an unknown number), the case list in English, a refusal
on the case page, and the officer a case is about getting 404 for its page."""

from __future__ import annotations

import httpx

from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, submit
from tests.console.conftest import ConsoleLogin


async def test_public_form_refusals_and_the_officers_pages(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    bad = await http.post(
        "/pengaduan-baru", data={"nik": "12", "phone": "0812", "category": "other", "text": "x"}
    )
    assert bad.status_code == 422 and "NIK" in bad.text and 'id="grievance-problems"' in bad.text

    proposal = factories.proposal(Program.TKM, size=10)
    gid = (await submit(http, stack, proposal))["group_id"]
    member = proposal.members[0]
    sent = await http.post(
        "/pengaduan-baru",
        data={
            "nik": member.nik,
            "phone": member.phone,
            "group_id": gid,
            "category": "misconduct",
            "about_officer": "supervisor-bad",
            "text": "Diminta uang administrasi.",
        },
    )
    assert sent.status_code == 201 and "GRV-" in sent.text and member.nik not in sent.text
    case_id = sent.text.split('data-grievance="')[1].split('"')[0]

    wrong = await http.post(
        "/pengaduan-baru/lanjut",
        data={"grievance_id": case_id, "nik": "3201014507900009", "kind": "reopen", "text": "x"},
    )
    unknown = await http.post(
        "/pengaduan-baru/lanjut",
        data={"grievance_id": "GRV-AAAAAAAAAA", "nik": member.nik, "kind": "reopen", "text": "x"},
    )
    assert wrong.status_code == unknown.status_code == 404
    assert "tidak cocok" in wrong.text and "tidak cocok" in unknown.text

    supervisor = await console(Role.SUPERVISOR, officer="supervisor-good")
    listing = await supervisor.get("/pengaduan?lang=en")
    assert listing.status_code == 200 and case_id in listing.text and 'lang="en"' in listing.text
    refused = await supervisor.post(
        f"/pengaduan/{case_id}/aksi/resolve", data={"decision": "upheld", "reason": "terlalu cepat"}
    )
    assert refused.status_code == 409 and "not allowed while the grievance is filed" in refused.text

    accused = await console(Role.SUPERVISOR, officer="supervisor-bad")
    assert case_id not in (await accused.get("/pengaduan")).text
    assert (await accused.get(f"/pengaduan/{case_id}")).status_code == 404
