"""The LPJ and recovery on a group's console page, over HTTP against the real stack: a mentor's form
uploads receipts and submits the lines (one multipart post), a refused form stores nothing and names
the line, a verifier sends it back and accepts the revision, receipts are served to officers of the
region only; a rejected LPJ's receivable is partly repaid by finance and the rest written off by a
supervisor, each through its form."""

from __future__ import annotations

import re
from typing import Any

import httpx

from jps.domain.roles import Role
from tests.api.conftest import Stack, state_of, today
from tests.console.conftest import ConsoleLogin, alerts
from tests.console.lpj_groups import PAID, paid_tkm, row
from tests.evidence_files import pdf, png


async def files_of(stack: Stack, gid: str) -> int:
    count: int = await stack.pool.fetchval("SELECT count(*) FROM files WHERE group_id = $1", gid)
    return count


async def test_a_mentor_submits_an_lpj_with_receipts_a_verifier_sends_it_back_and_accepts_the_revision(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    gid = await paid_tkm(http, stack)
    url = f"/kelompok/{gid}"
    mentor = await console(Role.MENTOR)
    page = (await mentor.get(url)).text
    assert 'id="lpj"' in page and "Laporan pertanggungjawaban (LPJ)" in page
    assert "Belum diajukan" in page and "Ajukan LPJ penggunaan bantuan" in page  # status and open task
    assert f'action="{url}/lpj" enctype="multipart/form-data"' in page
    assert page.count('name="l9_receipt_file"') == 1 and 'name="l10_' not in page  # ten rows

    receipts = {
        "l0_receipt_file": ("nota mesin.pdf", pdf(f"{gid} mesin jahit"), "application/pdf"),
        "l2_receipt_file": ("nota kain.pdf", pdf(f"{gid} kain"), "application/pdf"),
        "l0_photo_file": ("mesin.png", png((10, 20, 30)), "image/png"),
    }
    # 50/50: outside the policy's split. Refused naming the lines, and no file is kept.
    split = {
        **row(0, "capital_goods", "5.000.000", "Toko Mesin Jaya"),
        **row(2, "working_capital", "5.000.000", "UD Kain Indah"),
    }
    refused = await mentor.post(f"{url}/lpj", data=split, files=receipts)
    assert refused.status_code == 422
    assert "Baris belanja: capital_goods is 50% of the total; the policy asks at least 60%" in alerts(
        refused.text
    )
    assert await files_of(stack, gid) == 0
    assert 'value="UD Kain Indah"' in refused.text  # the rows come back as posted

    # A "receipt" that is no PDF, JPEG or PNG: the form's row is named (the third row: Baris 3).
    fake = {**receipts, "l2_receipt_file": ("nota.pdf", b"MZ\x90\x00 not a receipt", "application/pdf")}
    good = {
        **row(0, "capital_goods", "7.000.000", "Toko Mesin Jaya"),
        **row(2, "working_capital", "Rp 3.000.000", "UD Kain Indah"),
        "notes": "nota asli ada di sekretariat kelompok",
    }
    bad_file = await mentor.post(f"{url}/lpj", data=good, files=fake)
    assert bad_file.status_code == 422
    assert "Baris 3 · Kwitansi: the file&#39;s content is not" in alerts(bad_file.text)
    assert await files_of(stack, gid) == 0

    trainer = await console(Role.TRAINER)  # in the region, without the role: refused, audited, nothing kept
    wrong_role = await trainer.post(f"{url}/lpj", data=good, files=receipts)
    assert wrong_role.status_code == 403 and "submit-lpj needs the role" in alerts(wrong_role.text)
    assert await files_of(stack, gid) == 0

    done = await mentor.post(f"{url}/lpj", data=good, files=receipts)
    assert done.status_code == 303, alerts(done.text)
    assert done.headers["location"] == f"{url}?done=submit-lpj"
    state = await state_of(stack, gid)
    assert state.lpj is not None and state.lpj.status == "under_review" and state.lpj.submitted == PAID
    assert await files_of(stack, gid) == 3
    page = (await mentor.get(done.headers["location"])).text
    assert "Tersimpan: Ajukan LPJ." in page and "Sedang diperiksa" in page and "Versi 1" in page
    links = re.findall(r'href="/berkas/(F-[0-9A-Z]{26})"', page)
    assert len(set(links)) == 3 and "nota mesin.pdf" in page and "mesin.png" in page
    assert f'action="{url}/lpj"' not in page  # nothing left to submit while it is under review

    # the receipts, served through the console to officers of the region only
    served = await mentor.get(f"/berkas/{links[0]}")
    assert served.status_code == 200 and served.content.startswith(b"%PDF-")
    assert served.headers["content-disposition"].startswith("attachment")
    outsider = await console(Role.VERIFIER, officer="verifier-jabar", regions=["32"])
    assert (await outsider.get(f"/berkas/{links[0]}")).status_code == 404
    assert (await mentor.get("/berkas/F-NOSUCHFILE")).status_code == 422

    verifier = await console(Role.VERIFIER)
    page = (await verifier.get(url)).text
    assert f'action="{url}/aksi/review-lpj"' in page and "Periksa LPJ" in page
    no_notes = await verifier.post(f"{url}/aksi/review-lpj", data={"decision": "revise"})
    assert no_notes.status_code == 422 and "notes" in alerts(no_notes.text)
    sent_back = await verifier.post(
        f"{url}/aksi/review-lpj", data={"decision": "revise", "notes": "nota kain buram; unggah ulang"}
    )
    assert sent_back.status_code == 303, alerts(sent_back.text)

    # The mentor finds the lines sent back on the form, the reviewer's notes above, and a new receipt.
    page = (await mentor.get(url)).text
    assert "Perlu revisi" in page and "nota kain buram; unggah ulang" in page
    assert 'value="7.000.000"' in page and 'value="Toko Mesin Jaya"' in page
    chosen = re.findall(r'<option value="(F-[0-9A-Z]{26})" selected>', page)
    assert len(chosen) == 3  # row 1's receipt and photo, row 2's receipt
    form = {
        **row(0, "capital_goods", "7.000.000", "Toko Mesin Jaya", receipt=chosen[0], photo=chosen[1]),
        **row(1, "working_capital", "3.000.000", "UD Kain Indah"),
    }
    clear = {"l1_receipt_file": ("nota kain jelas.pdf", pdf(f"{gid} kain, jelas"), "application/pdf")}
    again = await mentor.post(f"{url}/lpj", data=form, files=clear)
    assert again.status_code == 303, alerts(again.text)

    accepted = await verifier.post(f"{url}/aksi/review-lpj", data={"decision": "accept"})
    assert accepted.status_code == 303, alerts(accepted.text)
    state = await state_of(stack, gid)
    assert state.lpj is not None and state.lpj.status == "accepted" and state.lpj.accounted == PAID
    assert state.receivable is None and state.stage == "mentoring"  # the visits are still to come
    page = (await verifier.get(f"{url}?lang=en")).text
    assert "Use-of-funds report (LPJ)" in page and "Version 2" in page and "Accepted" in page
    assert "nota kain jelas.pdf" in page


async def test_a_rejected_lpj_is_recovered_in_part_and_the_rest_written_off_through_the_forms(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    gid = await paid_tkm(http, stack, name="Kelompok Tani Subur")
    url = f"/kelompok/{gid}"
    mentor = await console(Role.MENTOR)
    form = {
        **row(0, "capital_goods", "8.000.000", "Toko Tani"),
        **row(1, "working_capital", "2.000.000", "Kios Pupuk"),
    }
    files = {
        f"l{i}_receipt_file": (f"nota-{i}.pdf", pdf(f"{gid} nota {i}"), "application/pdf") for i in (0, 1)
    }
    assert (await mentor.post(f"{url}/lpj", data=form, files=files)).status_code == 303
    verifier = await console(Role.VERIFIER)
    rejected = await verifier.post(
        f"{url}/aksi/review-lpj", data={"decision": "reject", "notes": "barang tidak ada di lokasi"}
    )
    assert rejected.status_code == 303, alerts(rejected.text)
    assert (await state_of(stack, gid)).stage == "recovery"

    finance = await console(Role.FINANCE)
    page = (await finance.get(url)).text
    assert 'class="badge stage-recovery"' in page and "Pemulihan dana (tuntutan ganti rugi)" in page
    assert "LPJ ditolak" in page and "Rp 10.000.000" in page and "Pulihkan dana (TGR)" in page
    assert f'action="{url}/aksi/record-repayment"' in page
    assert f'action="{url}/aksi/write-off-receivable"' not in page  # a supervisor's

    too_much = await finance.post(
        f"{url}/aksi/record-repayment",
        data={"amount": "12.000.000", "paid_on": today(), "reference": "NTPN 0A1B2C3D"},
    )
    assert too_much.status_code == 422 and "Jumlah: more than the 10,000,000" in alerts(too_much.text)
    paid = await finance.post(
        f"{url}/aksi/record-repayment",
        data={"amount": "4.000.000", "paid_on": today(), "reference": "NTPN 0A1B2C3D"},
    )
    assert paid.status_code == 303, alerts(paid.text)

    supervisor = await console(Role.SUPERVISOR)
    page = (await supervisor.get(url)).text
    assert re.search(r'id="receivable-outstanding">Rp 6\.000\.000<', page)
    assert "Angsuran" in page and "NTPN 0A1B2C3D" in page
    assert f'action="{url}/aksi/write-off-receivable"' in page
    written = await supervisor.post(
        f"{url}/aksi/write-off-receivable",
        data={"amount": "6.000.000", "reason": "usaha tutup; anggota tidak mampu membayar"},
    )
    assert written.status_code == 303, alerts(written.text)

    state: Any = await state_of(stack, gid)
    assert state.stage == "completed" and state.receivable.outstanding == 0
    page = (await supervisor.get(f"{url}?lang=en")).text
    assert "Recovery (aid owed back)" in page and "Write-off" in page and "Repayment" in page
    assert re.search(r'id="receivable-outstanding">Rp 0<', page)
    settled = await stack.pool.fetchrow(
        "SELECT recovered, written_off FROM receivables WHERE group_id = $1", gid
    )
    assert dict(settled) == {"recovered": 4_000_000, "written_off": 6_000_000}
