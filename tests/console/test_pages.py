"""The officers' console through HTTP against the real stack: sign-in, language, the pages, the
action forms acting through the workflow, region scope, NIK masking and the auditor's pages."""

from __future__ import annotations

import re

import httpx

from api.console.session import LANG_COOKIE, TOKEN_COOKIE
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, state_of, submit, today, wait_for_stage
from tests.api.test_tasks import GROUP, write_group_with_two_tasks
from tests.console.conftest import ConsoleLogin, alerts, heading, html_lang


async def _post(client: httpx.AsyncClient, url: str, data: dict[str, object]) -> httpx.Response:
    return await client.post(url, data=data)


async def test_sign_in_language_and_sign_out(stack: Stack, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=stack.url, follow_redirects=False) as client:
        # not signed in: every page leads to the sign-in form, which remembers where the officer was going
        resp = await client.get("/kelompok?stage=training")
        assert resp.status_code == 303
        assert resp.headers["location"] == "/masuk?next=%2Fkelompok%3Fstage%3Dtraining"
        page = await client.get("/masuk")
        assert page.status_code == 200 and html_lang(page.text) == "id"
        assert heading(page.text) == "Masuk"

        bad = await client.post("/masuk", data={"token": "not-a-token"})
        assert bad.status_code == 401 and "Token tidak berlaku" in bad.text
        assert TOKEN_COOKIE not in client.cookies

        resp = await client.post(
            "/masuk",
            data={"token": "Bearer " + stack.token(Role.VERIFIER), "next": "/kelompok?stage=training"},
        )
        assert resp.status_code == 303 and resp.headers["location"] == "/kelompok?stage=training"
        cookie = resp.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie

        inbox = await client.get("/")
        assert inbox.status_code == 200 and html_lang(inbox.text) == "id"
        assert heading(inbox.text) == "Kotak tugas"
        assert "Petugas verifier" in inbox.text
        assert "no-store" in inbox.headers["cache-control"]

        # English on request, remembered in a cookie, and back
        en = await client.get("/?lang=en")
        assert html_lang(en.text) == "en" and heading(en.text) == "Inbox"
        assert client.cookies.get(LANG_COOKIE) == "en"
        groups = await client.get("/kelompok")
        assert html_lang(groups.text) == "en" and heading(groups.text) == "Groups"
        summary = await client.get("/ringkasan?lang=id")
        assert html_lang(summary.text) == "id" and heading(summary.text) == "Ringkasan per program dan tahap"
        assert html_lang((await client.get("/")).text) == "id"

        # a form posted from another site is refused even with the cookie
        foreign = await client.post("/keluar", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403 and "situs lain" in foreign.text

        out = await client.post("/keluar")
        assert out.status_code == 303 and out.headers["location"] == "/masuk?keluar=1"
        assert TOKEN_COOKIE not in client.cookies
        assert (await client.get("/")).status_code == 303

    # the JSON API keeps its paths and answers JSON
    assert (await http.get("/groups")).status_code == 401
    assert (await http.get("/health")).headers["content-type"].startswith("application/json")


async def test_an_officer_walks_a_tkm_group_through_the_console_forms(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    proposal = factories.proposal(Program.TKM, size=20, amount=10_000_000)
    gid = (await submit(http, stack, proposal))["group_id"]
    url = f"/kelompok/{gid}"

    verifier = await console(Role.VERIFIER)
    inbox = await verifier.get("/")
    assert gid in inbox.text and "Verifikasi dokumen dan lapangan" in inbox.text
    page = await verifier.get(url)
    assert page.status_code == 200 and heading(page.text) == proposal.name
    assert f'action="{url}/aksi/verify"' in page.text
    assert "Rp 10.000.000" in page.text

    # claim from the inbox, then approve through the form
    claimed = await _post(verifier, f"{url}/klaim", {"next": "/"})
    assert claimed.status_code == 303 and claimed.headers["location"] == "/"
    assert (await state_of(stack, gid)).open_task.claimed_by == "verifier-1"  # type: ignore[union-attr]
    done = await _post(verifier, f"{url}/aksi/verify", {"decision": "approve", "notes": "dokumen lengkap"})
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=verify"
    assert (await state_of(stack, gid)).stage == "training"  # the workflow moved it
    page = await verifier.get(done.headers["location"])
    assert "Tersimpan: Keputusan verifikasi. Tahap sekarang: Pelatihan." in page.text
    assert f"{url}/aksi/verify" not in page.text  # nothing left for a verifier to do here

    # the same form again: the workflow refuses, and the page says why (409, no stack trace)
    again = await _post(verifier, f"{url}/aksi/verify", {"decision": "approve"})
    assert again.status_code == 409
    assert "Alur kerja menolak tindakan ini" in again.text
    assert "verify is not allowed in stage training" in alerts(again.text)
    assert "Traceback" not in again.text

    trainer = await console(Role.TRAINER)
    bad_dates = await _post(
        trainer,
        f"{url}/aksi/schedule-training",
        {"starts_on": today(), "ends_on": "2020-01-01", "venue": "BLK"},
    )
    assert bad_dates.status_code == 422 and "ends_on" in alerts(bad_dates.text)
    ok = await _post(
        trainer,
        f"{url}/aksi/schedule-training",
        {"starts_on": today(), "ends_on": today(), "venue": "BLK Jakarta Timur"},
    )
    assert ok.status_code == 303, alerts(ok.text)
    page = await trainer.get(url)
    boxes = re.findall(r'name="member" value="(\d+)"', page.text)
    assert boxes == [str(n) for n in range(1, 21)]  # members are picked by number, never by NIK
    attended = await trainer.post(f"{url}/aksi/record-attendance", data={"member": boxes[:18]})
    assert attended.status_code == 303, alerts(attended.text)
    state = await state_of(stack, gid)
    assert state.stage == "disbursement" and state.training[-1].attended == 18

    finance = await console(Role.FINANCE)
    too_much = await _post(finance, f"{url}/aksi/approve-disbursement", {"amount": "Rp 99.000.000"})
    assert too_much.status_code == 422
    assert "Jumlah: above the requested amount" in alerts(too_much.text)  # the workflow's reason
    approved = await _post(
        finance, f"{url}/aksi/approve-disbursement", {"amount": "10.000.000", "notes": "sesuai"}
    )
    assert approved.status_code == 303, alerts(approved.text)
    group = await wait_for_stage(http, stack, gid, "mentoring")
    assert group["paid_amount"] == 10_000_000

    mentor = await console(Role.MENTOR)
    page = await mentor.get(url)
    assert 'name="visit_no" required min="1" value="1"' in page.text
    visit = await _post(
        mentor,
        f"{url}/aksi/report-visit",
        {
            "visit_no": "1",
            "visited_on": today(),
            "business_status": "running",
            "monthly_revenue": "3.500.000",
        },
    )
    assert visit.status_code == 303, alerts(visit.text)
    reported = (await state_of(stack, gid)).visits[0]
    assert reported.reported_by == "mentor-1" and reported.monthly_revenue == 3_500_000

    # the timeline shows what happened and downloads as CSV; the Temporal UI link is for auditors only
    history = await mentor.get(f"{url}/riwayat")
    assert history.status_code == 200
    for label in ("Verifikasi disetujui", "Pelatihan dijadwalkan", "Bantuan dibayar", "Kunjungan dilaporkan"):
        assert label in history.text
    assert f"/namespaces/{stack.settings.temporal_namespace}/workflows/{gid}" not in history.text
    csv = await mentor.get(f"{url}/riwayat.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert (
        csv.text.startswith("at,event,stage,officer,reason,details") and "verification_approved" in csv.text
    )


async def test_refusals_by_role_and_region_are_pages(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    gid = (await submit(http, stack, factories.proposal(Program.TKM)))["group_id"]
    url = f"/kelompok/{gid}"

    outsider = await console(Role.VERIFIER, officer="verifier-jabar", regions=["32"])
    page = await outsider.get(url)
    assert page.status_code == 403 and html_lang(page.text) == "id"
    assert heading(page.text) == "Akses ditolak" and "outside your scope" in page.text
    assert proposal_name_absent(page.text)
    refused = await _post(outsider, f"{url}/aksi/verify", {"decision": "approve"})
    assert refused.status_code == 403
    assert gid not in (await outsider.get("/kelompok")).text
    assert (await state_of(stack, gid)).stage == "verification"
    en = await outsider.get(f"{url}?lang=en")
    assert en.status_code == 403 and html_lang(en.text) == "en" and heading(en.text) == "Access denied"

    # in the region but without the role: the group's page, with the reason on it
    trainer = await console(Role.TRAINER)
    wrong_role = await _post(trainer, f"{url}/aksi/verify", {"decision": "approve"})
    assert wrong_role.status_code == 403 and "verify needs the role verifier" in alerts(wrong_role.text)
    assert heading(wrong_role.text) == "Kelompok Usaha Maju Jaya"
    audit = await stack.pool.fetch("SELECT actor, event FROM audit_log WHERE event = 'action_refused'")
    assert {(r["actor"], r["event"]) for r in audit} >= {
        ("verifier-jabar", "action_refused"),
        ("trainer-1", "action_refused"),
    }

    assert (await outsider.get("/kelompok/TKM-3171-NOSUCHGRP1")).status_code == 404
    assert (await trainer.get("/catatan-audit")).status_code == 403
    bad_filter = await trainer.get("/kelompok?stage=nowhere&region=3")
    assert bad_filter.status_code == 422 and "Kode wilayah" in bad_filter.text


def proposal_name_absent(page: str) -> bool:
    return "Kelompok Usaha Maju Jaya" not in page


async def test_no_page_shows_a_nik_in_clear(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    proposal = factories.proposal(Program.PADAT_KARYA, size=20, amount=20_000_000)
    gid = (await submit(http, stack, proposal))["group_id"]
    niks = [m.nik for m in proposal.members]
    url = f"/kelompok/{gid}"

    auditor = await console(Role.AUDITOR, regions=["*"])
    trainer = await console(Role.TRAINER)
    verifier = await console(Role.VERIFIER)
    await _post(verifier, f"{url}/aksi/verify", {"decision": "approve", "notes": f"checked KTP {niks[0]}"})
    await _post(
        trainer,
        f"{url}/aksi/schedule-training",
        {"starts_on": today(), "ends_on": today(), "venue": "Balai Desa"},
    )
    # a bad member number is refused without echoing anything
    await trainer.post(f"{url}/aksi/record-attendance", data={"member": ["1", "99"]})

    pages = []
    for client, path in [
        (verifier, "/"),
        (trainer, "/"),
        (trainer, url),
        (verifier, url),
        (auditor, url),
        (auditor, f"{url}/riwayat"),
        (auditor, f"{url}/riwayat.csv"),
        (auditor, "/kelompok"),
        (auditor, f"/kelompok?q={niks[3]}"),
        (auditor, "/ringkasan"),
        (auditor, "/catatan-audit"),
        (auditor, f"/catatan-audit?group_id={gid}"),
        (auditor, "/?lang=en"),
        (auditor, f"{url}?lang=en"),
    ]:
        resp = await client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        pages.append((path, resp.text))
    by_nik = dict(pages)[f"/kelompok?q={niks[3]}"]
    assert gid in by_nik  # the search by full NIK found it, and the search box shows it masked
    assert f"{niks[3][:4]}********{niks[3][-4:]}" in by_nik
    assert "checked KTP" in dict(pages)[f"{url}/riwayat"]
    for path, text in pages:
        for nik in niks:
            assert nik not in text, f"{path} shows a NIK in clear"
    assert f"{niks[0][:4]}********{niks[0][-4:]}" in dict(pages)[url]


async def test_auditor_reads_the_audit_log_and_its_chain_check(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    gid = (await submit(http, stack, factories.proposal(Program.TKM)))["group_id"]
    auditor = await console(Role.AUDITOR, officer="auditor-bpk", regions=["*"])

    inbox = await auditor.get("/")
    assert "Auditor tidak menerima tugas" in inbox.text and 'href="/catatan-audit"' in inbox.text
    audit = await auditor.get("/catatan-audit")
    assert audit.status_code == 200 and heading(audit.text) == "Catatan audit"
    assert "Proposal diajukan" in audit.text and gid in audit.text

    check = await auditor.get("/catatan-audit/verifikasi")
    assert check.status_code == 200 and "Rantai utuh" in check.text
    rows = await stack.pool.fetchval("SELECT count(*) FROM audit_log")
    assert f"{rows} baris diperiksa" in check.text

    # tampering shows on the page as a broken chain
    await stack.pool.execute(
        "UPDATE audit_log SET reason = 'diubah' WHERE id = (SELECT min(id) FROM audit_log)"
    )
    broken = await auditor.get("/catatan-audit/verifikasi?lang=en")
    assert "Chain BROKEN at row #1" in broken.text and "row content changed" in broken.text

    # the auditor reads every group but has no action form and cannot act
    page = await auditor.get(f"/kelompok/{gid}")
    assert page.status_code == 200 and "/aksi/" not in page.text and "/klaim" not in page.text
    refused = await _post(auditor, f"/kelompok/{gid}/aksi/verify", {"decision": "approve"})
    assert refused.status_code == 403


async def test_summary_and_lists_format_money_and_dates_the_indonesian_way(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    for i in range(3):
        await submit(
            http, stack, factories.proposal(Program.TKM, name=f"Kelompok Tani {i}", amount=9_500_000)
        )
    officer = await console(Role.SUPERVISOR)
    summary = await officer.get("/ringkasan")
    assert summary.status_code == 200
    assert "Rp 28.500.000" in summary.text  # 3 × 9.500.000 requested, in verification
    assert re.search(r">\s*60\s*</td>", summary.text)  # 3 groups of 20 people
    past = await officer.get("/ringkasan?as_of=2020-10-02")
    assert past.status_code == 200 and "02/10/2020" in past.text
    assert (await officer.get("/ringkasan?as_of=kemarin")).status_code == 422

    listing = await officer.get("/kelompok?q=tani&program=tkm&stage=verification&region=31")
    assert listing.status_code == 200 and listing.text.count('href="/kelompok/TKM-') == 3
    assert re.search(r"\d{2}/\d{2}/\d{4}", listing.text)
    overdue_only = await officer.get("/kelompok?overdue=1")
    assert "Tidak ada data." in overdue_only.text


async def test_a_group_with_two_open_tasks_shows_both(stack: Stack, console: ConsoleLogin) -> None:
    """The inbox lists each open task on its own line, each with a claim form naming its task; the
    group's page shows every open task, and the form of each one the stage allows (the visit's form,
    though the overdue bank details are the most urgent task)."""
    await write_group_with_two_tasks(stack.pool)
    url = f"/kelompok/{GROUP}"
    officer = await console([Role.MENTOR, Role.FINANCE], officer="both-1")

    inbox = (await officer.get("/")).text
    assert inbox.count(f'href="{url}"') == 2
    assert "Laporkan kunjungan pendampingan" in inbox and "Perbaiki data rekening" in inbox
    assert '<input type="hidden" name="task" value="report_visit">' in inbox  # claimable: nobody has it
    assert 'value="update_bank_account"' not in inbox  # claimed by finance-7: no form

    page = (await officer.get(url)).text
    assert "Tugas-tugas terbuka" in page
    assert 'id="task-report_visit"' in page and 'id="task-update_bank_account"' in page
    assert "finance-7" in page and "rekening ditolak bank" in page
    assert f'action="{url}/aksi/report-visit"' in page  # not the most urgent task, shown all the same
    assert '<input type="hidden" name="task" value="report_visit">' in page

    # a mentor alone sees one line, and on the page one form
    mentor = await console(Role.MENTOR)
    assert (await mentor.get("/")).text.count(f'href="{url}"') == 1
    page = (await mentor.get(url)).text
    assert f'action="{url}/aksi/report-visit"' in page and "aksi/update-bank-account" not in page
