"""The console's reconciliation page (Rekonsiliasi): finance in the group's region lists the open
mismatches and resolves one through its form; auditors read, never resolve; other roles are refused.
The mismatches come from a real reconciliation run against the bank simulator over HTTP.

Before issue 10's scenario 11 there was no such page: mismatches were written and never shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from activities.bank_client import BankClient
from activities.reconciliation import ReconciliationActivities
from jps.contracts.activities import ReconcileRequest, TransferSpec
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, submit
from tests.console.conftest import ConsoleLogin, alerts, heading, html_lang
from tests.sim_fixtures import BankAdmin, Simulators


async def _mismatches(stack: Stack, http: httpx.AsyncClient, sims: Simulators, bank: BankAdmin) -> str:
    """A group in 3171 whose recorded payment the bank's statement shows with another amount, and a
    payment the bank made that nobody here instructed; one reconciliation run finds both."""
    gid: str = (await submit(http, stack, factories.proposal(Program.TKM)))["group_id"]
    tid = f"{gid}-A1-00"
    await stack.pool.execute(
        """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                                 bank_code, account_no, amount, status, instructed_at)
           VALUES ($1, $1, $2, 'B', 1, 'Kelompok', '002', '1234567890', 10000000, 'paid', $3)""",
        tid,
        gid,
        datetime.now(UTC),
    )
    async with BankClient(sims.bank_url) as client:
        await client.create_transfer(
            TransferSpec(
                transfer_id=tid,
                batch_id="B",
                beneficiary="Kelompok",
                bank_code="002",
                account_no="1234567890",
                amount=10_000_000,
            )
        )
        bank.wait_settled(tid)
        bank.plant("amount_differs", transfer_id=tid, amount=10_250_000)
        bank.plant("paid_not_recorded", amount=500_000)
        result = await ReconciliationActivities(stack.pool, client).reconcile_payments(
            ReconcileRequest(run_id=f"console-{uuid.uuid4().hex[:6]}")
        )
    assert result.recorded("opened") == 2
    return tid


async def test_finance_resolves_a_mismatch_on_the_page_and_auditors_read_it(
    stack: Stack,
    http: httpx.AsyncClient,
    console: ConsoleLogin,
    simulators: Simulators,
    bank_sim: BankAdmin,
) -> None:
    tid = await _mismatches(stack, http, simulators, bank_sim)
    mid = await stack.pool.fetchval("SELECT id FROM reconciliation_mismatches WHERE transfer_id = $1", tid)

    finance = await console(Role.FINANCE, officer="fin-jakpus", regions=["3171"])
    page = await finance.get("/rekonsiliasi")
    assert page.status_code == 200 and html_lang(page.text) == "id"
    assert heading(page.text) == "Selisih rekonsiliasi bank" and 'href="/rekonsiliasi"' in page.text
    assert tid in page.text and "Jumlah berbeda" in page.text
    assert "Rp 10.250.000" in page.text and "Rp 10.000.000" in page.text
    assert "planted-" not in page.text  # a payment without a group: national officers only
    assert f'action="/rekonsiliasi/{mid}/selesaikan"' in page.text

    short = await finance.post(
        f"/rekonsiliasi/{mid}/selesaikan", data={"resolution": "bank_corrected", "reason": "ok"}
    )
    assert short.status_code == 422 and "Alasan" in alerts(short.text)
    assert (
        await stack.pool.fetchval("SELECT resolved_at FROM reconciliation_mismatches WHERE id = $1", mid)
        is None
    )

    reason = "Bank mengoreksi rekening koran, surat 117/X/2020"
    done = await finance.post(
        f"/rekonsiliasi/{mid}/selesaikan", data={"resolution": "bank_corrected", "reason": reason}
    )
    assert done.status_code == 303 and done.headers["location"] == f"/rekonsiliasi?done={mid}"
    after = await finance.get(done.headers["location"])
    assert (
        f"Selisih #{mid} diselesaikan." in after.text
        and f'action="/rekonsiliasi/{mid}/selesaikan"' not in after.text
    )
    resolved = await finance.get("/rekonsiliasi?show=resolved&lang=en")
    assert html_lang(resolved.text) == "en" and heading(resolved.text) == "Bank reconciliation mismatches"
    assert "The bank's records corrected" in resolved.text and reason in resolved.text
    assert "fin-jakpus" in resolved.text
    row = await stack.pool.fetchrow(
        "SELECT actor, reason, details FROM audit_log WHERE event = 'reconciliation_mismatch_resolved'"
    )
    assert (row["actor"], row["reason"], row["details"]["transfer_id"]) == ("fin-jakpus", reason, tid)

    # Resolved twice: the page says why, nothing changes.
    twice = await finance.post(
        f"/rekonsiliasi/{mid}/selesaikan?lang=en",
        data={"resolution": "explained", "reason": "again, by mistake"},
    )
    assert twice.status_code == 409 and "already resolved" in alerts(twice.text)

    auditor = await console(Role.AUDITOR, officer="auditor-bpk", regions=["*"])
    read = await auditor.get("/rekonsiliasi")
    assert read.status_code == 200 and "planted-" in read.text and "/selesaikan" not in read.text
    assert "Hanya petugas keuangan yang dapat menyelesaikan selisih" in read.text
    stray = await stack.pool.fetchval("SELECT id FROM reconciliation_mismatches WHERE group_id IS NULL")
    refused = await auditor.post(
        f"/rekonsiliasi/{stray}/selesaikan", data={"resolution": "explained", "reason": "auditors only read"}
    )
    assert refused.status_code == 403

    registrar = await console(Role.REGISTRAR, regions=["31"])
    assert (await registrar.get("/rekonsiliasi")).status_code == 403
    assert 'href="/rekonsiliasi"' not in (await registrar.get("/")).text
