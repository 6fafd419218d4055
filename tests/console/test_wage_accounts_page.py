"""A worker's new bank details above the weekly threshold in the console, over HTTP against the real
stack: the wages page lists the details waiting (member number, masked NIK, amount owed), a second
supervisor authorizes them from the page, and the owed wage goes to the new account, once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest

from jps.domain.roles import Role
from tests.api.conftest import Stack, act, policy_api
from tests.api.test_wages import has_task, nothing_owed, pk_proposal, to_the_rolls, until, upload_photo
from tests.console.conftest import ConsoleLogin, alerts
from tests.console.wage_groups import last_week
from tests.sim_fixtures import BankAdmin

THRESHOLD = 100_000  # a week's wages above this, and owed wages above it, need a supervisor


@pytest.fixture(scope="module")
def low_threshold_api(api_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    rule = {"planned_workdays": 9, "authorize_weekly_above": THRESHOLD}
    with policy_api(api_stack, tmp_path_factory, {"padat_karya": {"wages": rule}}, "low-threshold") as url:
        yield url


@pytest.fixture
async def lhttp(stack: Stack, low_threshold_api: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=low_threshold_api, timeout=60) as client:
        yield client


async def test_new_details_of_an_owed_worker_are_authorized_from_the_wages_page(
    stack: Stack, lhttp: httpx.AsyncClient, console: ConsoleLogin, bank_sim: BankAdmin
) -> None:
    p = pk_proposal().model_copy(update={"name": "Kelompok Saluran Tani"})
    gid = await to_the_rolls(lhttp, stack, p)
    worker = p.members[3]
    assert worker.bank_account is not None
    week = last_week()
    photos = {d: await upload_photo(lhttp, stack, gid, week + timedelta(days=d)) for d in range(3)}
    entries = [
        {"nik": m.nik, "date": (week + timedelta(days=d)).isoformat(), "hours": 8}
        for m in (p.members[2], worker)
        for d in range(3)
    ]
    evidence = [{"date": (week + timedelta(days=d)).isoformat(), "file_ids": [f]} for d, f in photos.items()]
    body = {"week_starts_on": week.isoformat(), "entries": entries, "evidence": evidence}
    await act(lhttp, stack, gid, "submit-muster", Role.MENTOR, body)
    bank_sim.close_account(worker.bank_account.account_no)
    await act(lhttp, stack, gid, "approve-wages", Role.FINANCE, {"week_starts_on": week.isoformat()})
    authorize_week = {"week_starts_on": week.isoformat()}
    await act(lhttp, stack, gid, "authorize-wages", Role.SUPERVISOR, authorize_week, officer="supervisor-a")
    await until("the worker owed", lambda: has_task(lhttp, stack, gid, "fix_wage_account"))

    new_account = {"bank_code": "009", "account_no": "8880004444", "holder_name": worker.name}
    await act(
        lhttp,
        stack,
        gid,
        "update-bank-account",
        Role.REGISTRAR,
        {"bank_account": new_account, "member_nik": worker.nik},
        officer="registrar-b",
    )
    await until("the details wait for a supervisor", lambda: has_task(lhttp, stack, gid, "authorize_wages"))

    url = f"/kelompok/{gid}/upah"
    owed = 3 * 100_000  # three days at the worker's rate
    finance_page = (await (await console(Role.FINANCE)).get(url)).text
    assert "Rekening baru menunggu otorisasi" in finance_page and "anggota no. 4" in finance_page
    assert "aksi/authorize-wages" not in finance_page.split('id="new-accounts"')[1].split("</section>")[0]
    assert worker.nik not in finance_page  # masked, as everywhere in the console

    # The registrar who entered the details cannot authorize them (not a supervisor), a supervisor can.
    supervisor = await console(Role.SUPERVISOR, officer="supervisor-c")
    page = (await supervisor.get(url)).text
    assert 'name="member_no" value="4"' in page and "Rp 300.000" in page
    done = await supervisor.post(f"{url}/aksi/authorize-wages", data={"member_no": "4", "notes": "cek KTP"})
    assert done.status_code == 303, alerts(done.text)
    await until("the owed wage paid", lambda: nothing_owed(lhttp, stack, gid, week))
    paid = [
        t
        for t in bank_sim.statement()
        if t["transfer_id"].startswith(gid) and t["account_no"] in (new_account["account_no"],)
    ]
    assert [t["amount"] for t in paid] == [owed]
    after = (await supervisor.get(url)).text
    assert 'id="new-accounts"' not in after
