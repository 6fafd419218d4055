"""The console's forms for the payment steps of issue 10, through HTTP against the real stack:
`resolve-payment` for finance while a payment investigation is open (a transfer of the attempt in
flight picked from those still pending, no account number in clear), `release-share` for a
supervisor on a Padat Karya group whose worker's account the bank refused (the worker picked by
number, no NIK in clear). Each form is shown to the officer and task it answers, not to others, and
posting it reaches the workflow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg
import httpx

from activities.db import ReadModelActivities
from jps.contracts.activities import TransitionRecord
from jps.domain.models import GroupSummary, Payment, Proposal, Task
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind
from tests import factories
from tests.api.conftest import Stack, act, state_of, submit, today, wait_for_stage, wait_for_task
from tests.console.conftest import ConsoleLogin, alerts
from tests.sim_fixtures import BankAdmin

INVESTIGATED = "PK-3171-INVESTIGA01"
REFUSED_TKM = "TKM-3171-REFUSEDAC01"
PaymentStatus = Literal["pending", "paid", "failed"]


def _task(kind: TaskKind, roles: list[Role], now: datetime, note: str = "") -> Task:
    return Task(
        kind=kind, roles=roles, opened_at=now - timedelta(days=3), due_at=now + timedelta(days=2), note=note
    )


def _payment(
    group_id: str, attempt: int, n: int, proposal: Proposal, member: int, status: PaymentStatus
) -> Payment:
    worker = proposal.members[member]
    account = worker.bank_account or proposal.bank_account
    tid = f"{group_id}-A{attempt}-{n:02d}"
    return Payment(
        transfer_id=tid,
        idempotency_key=tid,
        beneficiary=worker.name if proposal.program == Program.PADAT_KARYA else proposal.name,
        bank_code=account.bank_code,
        account_no=account.account_no,
        amount=1_000_000,
        status=status,
        attempt=attempt,
        member_nik=worker.nik if proposal.program == Program.PADAT_KARYA else None,
    )


async def write_disbursing_group(
    pool: asyncpg.Pool, group_id: str, proposal: Proposal, tasks: list[Task], payments: list[Payment]
) -> None:
    """A group in disbursement as the workflow records it (`record_transition`), with these open
    tasks and payments."""
    now = datetime.now(UTC)
    state = GroupSummary(
        group_id=group_id,
        program=proposal.program,
        name=proposal.name,
        region_code=proposal.region_code,
        stage=Stage.DISBURSEMENT,
        submitted_by="registrar-1",
        submitted_at=now - timedelta(days=20),
        requested_amount=proposal.requested_amount,
        approved_amount=proposal.requested_amount,
        approved_by="finance-1",
        open_tasks=tasks,
        payments=payments,
        seq=1,
    )
    step = TransitionRecord(
        group_id=group_id,
        seq=1,
        at=now,
        event="test_step",
        stage=Stage.DISBURSEMENT,
        from_stage=None,
        state=state,
        proposal=proposal,
    )
    assert await ReadModelActivities(pool).record_transition(step)


def transfer_options(page: str) -> list[str]:
    found = re.search(r'<select id="rp-transfer" name="transfer_id" required>(.*?)</select>', page, re.S)
    return re.findall(r'<option value="([^"]+)">', found.group(1)) if found else []


def member_options(page: str) -> list[str]:
    found = re.search(r'<select id="rs-member" name="member_no" required>(.*?)</select>', page, re.S)
    return re.findall(r'<option value="(\d+)">', found.group(1)) if found else []


async def test_resolve_payment_is_offered_to_finance_on_an_open_investigation(
    stack: Stack, http: httpx.AsyncClient, console: ConsoleLogin
) -> None:
    """The second attempt's transfer to worker 2 waits for the bank past the investigation period:
    finance sees the form with that transfer only (not the first attempt's, not a paid one), its
    account masked; a supervisor, and finance on a group without an investigation, see no form."""
    proposal = factories.proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)
    now = datetime.now(UTC)
    payments = [
        _payment(INVESTIGATED, 1, 1, proposal, 0, "paid"),
        _payment(INVESTIGATED, 1, 2, proposal, 1, "failed"),
        _payment(INVESTIGATED, 2, 1, proposal, 1, "pending"),
    ]
    tasks = [
        _task(TaskKind.AWAIT_BANK, [Role.FINANCE], now),
        _task(TaskKind.INVESTIGATE_PAYMENT, [Role.FINANCE], now, note="no final word on 1 transfer(s)"),
    ]
    await write_disbursing_group(stack.pool, INVESTIGATED, proposal, tasks, payments)
    url = f"/kelompok/{INVESTIGATED}"

    finance = await console(Role.FINANCE)
    page = (await finance.get(url)).text
    assert f'action="{url}/aksi/resolve-payment"' in page
    assert "Tutup penelusuran pembayaran" in page and "Hasil menurut bank" in page
    assert transfer_options(page) == [f"{INVESTIGATED}-A2-01"]
    assert re.findall(r'name="outcome" value="(\w+)"', page) == ["paid", "failed"]
    worker = proposal.members[1]
    assert worker.bank_account is not None
    assert worker.bank_account.account_no not in page  # masked in the form, as everywhere
    assert f"******{worker.bank_account.account_no[-4:]}" in page
    assert worker.nik not in page
    english = (await finance.get(f"{url}?lang=en")).text
    assert "Close the payment investigation" in english and "the bank's own status agrees" in english

    supervisor = await console(Role.SUPERVISOR)
    assert "aksi/resolve-payment" not in (await supervisor.get(url)).text

    # finance on a group in disbursement that waits on nothing to investigate: no form
    gid = (await submit(http, stack, factories.proposal(Program.TKM)))["group_id"]
    await _to_disbursement(http, stack, gid)
    assert "aksi/resolve-payment" not in (await finance.get(f"/kelompok/{gid}")).text

    # posted all the same, the form reaches the workflow, whose refusal is the page's error
    refused = await finance.post(
        f"/kelompok/{gid}/aksi/resolve-payment",
        data={"transfer_id": f"{gid}-A1-01", "outcome": "paid", "reason": "surat bank 12/2020"},
    )
    assert refused.status_code == 409
    assert "resolve-payment is not expected now (open task: approve_disbursement)" in alerts(refused.text)
    short = await finance.post(
        f"/kelompok/{gid}/aksi/resolve-payment",
        data={"transfer_id": f"{gid}-A1-01", "outcome": "maybe", "reason": "x"},
    )
    assert short.status_code == 422
    problems = alerts(short.text)  # in English: the officer chose it above
    assert "Outcome, as the bank reports it: Input should be" in problems and "Reason:" in problems


async def _to_disbursement(http: httpx.AsyncClient, stack: Stack, gid: str) -> None:
    """Verified, trained, everyone present: the group waits for finance's approval."""
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today(), "ends_on": today(), "venue": "Balai Desa"},
    )
    niks = [m.nik for m in (await state_of(stack, gid)).proposal.members]
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": niks})


async def test_release_share_gives_up_a_refused_workers_share_from_the_console(
    stack: Stack,
    http: httpx.AsyncClient,
    equal_split_http: httpx.AsyncClient,
    bank_sim: BankAdmin,
    console: ConsoleLogin,
) -> None:
    """Worker 5's account is closed: the bank refuses that transfer for good, the group waits on
    `update_bank_account`. The supervisor sees `release-share` with worker 5 alone, picked by number;
    registrar and finance see the bank-details form only. Posting it lets the group go on."""
    proposal = factories.proposal(Program.PADAT_KARYA, size=10, amount=10_000_000)
    closed = proposal.members[4]
    assert closed.bank_account is not None
    bank_sim.close_account(closed.bank_account.account_no)
    # A share of one wage bill: the group is submitted under the equal split (before the wage rule).
    gid = (await submit(equal_split_http, stack, proposal))["group_id"]
    await _to_disbursement(http, stack, gid)
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
    group = await wait_for_task(http, stack, gid, "update_bank_account")
    assert sorted(p["status"] for p in group["payments"]).count("paid") == 9
    url = f"/kelompok/{gid}"

    supervisor = await console(Role.SUPERVISOR)
    page = (await supervisor.get(url)).text
    assert f'action="{url}/aksi/release-share"' in page and "Lepaskan upah pekerja" in page
    assert member_options(page) == ["5"]
    assert 'data-confirm="Upah pekerja ini tidak akan dibayar' in page
    assert "aksi/update-bank-account" not in page
    for member in proposal.members:
        assert member.nik not in page

    for role in (Role.REGISTRAR, Role.FINANCE):
        other = (await (await console(role)).get(url)).text
        assert "aksi/update-bank-account" in other and "aksi/release-share" not in other

    # refusals come back on the page, naming the field, and change nothing
    unknown = await supervisor.post(
        f"{url}/aksi/release-share", data={"member_no": "99", "reason": "pekerja pindah ke luar kota"}
    )
    assert unknown.status_code == 422 and "no member number 99" in alerts(unknown.text)
    paid_worker = await supervisor.post(
        f"{url}/aksi/release-share", data={"member_no": "1", "reason": "pekerja pindah ke luar kota"}
    )
    assert paid_worker.status_code == 422
    assert "no refused, unpaid share for this worker" in alerts(paid_worker.text)  # the workflow's word
    assert (await state_of(stack, gid)).stage == Stage.DISBURSEMENT

    done = await supervisor.post(
        f"{url}/aksi/release-share", data={"member_no": "5", "reason": "pekerja pindah ke luar kota"}
    )
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=release-share", alerts(
        done.text
    )
    group = await wait_for_stage(http, stack, gid, "mentoring")
    [released] = [p for p in group["payments"] if p["status"] == "failed"]
    assert released["released_by"] == "supervisor-1"
    after = (await supervisor.get(done.headers["location"])).text
    assert "Tersimpan: Lepaskan upah pekerja. Tahap sekarang: Pendampingan." in after
    assert "aksi/release-share" not in after

    # Mentoring to its end: four visits over the API, the last one (the handover of the facility)
    # from the console's form, which says it is the handover; the group completes.
    for visit_no in (1, 2, 3, 4):
        body = {"visit_no": visit_no, "visited_on": today(), "business_status": "running"}
        await act(http, stack, gid, "report-visit", Role.MENTOR, body)
    mentor = await console(Role.MENTOR)
    page = (await mentor.get(url)).text
    assert 'name="visit_no" required min="1" value="5"' in page
    assert '<input type="hidden" name="handover" value="1">' in page
    form = {"visit_no": "5", "visited_on": today(), "business_status": "running", "handover": "1"}
    handed = await mentor.post(f"{url}/aksi/report-visit", data=form)
    assert handed.status_code == 303, alerts(handed.text)
    assert (await state_of(stack, gid)).stage == Stage.COMPLETED


async def test_release_share_is_not_offered_on_a_tkm_group(stack: Stack, console: ConsoleLogin) -> None:
    """TKM aid goes to the group's own account: its refused transfer is fixed, never given up."""
    proposal = factories.proposal(Program.TKM, account_no="9990001111")
    now = datetime.now(UTC)
    tasks = [_task(TaskKind.UPDATE_BANK_ACCOUNT, [Role.REGISTRAR, Role.FINANCE], now, note="account_closed")]
    await write_disbursing_group(
        stack.pool, REFUSED_TKM, proposal, tasks, [_payment(REFUSED_TKM, 1, 1, proposal, 0, "failed")]
    )
    url = f"/kelompok/{REFUSED_TKM}"
    supervisor = await console(Role.SUPERVISOR)
    page = (await supervisor.get(url)).text
    assert "aksi/release-share" not in page and "aksi/update-bank-account" not in page
    registrar = await console(Role.REGISTRAR)
    assert "aksi/update-bank-account" in (await registrar.get(url)).text
