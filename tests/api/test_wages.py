"""Issue 13 over HTTP, against the real stack (PostgreSQL, Temporal, the bank simulator): a Padat
Karya group paid by muster rolls works three weeks with a different attendance per worker each week;
every worker is paid exactly days × rate for each week, once (the bank's own ledger says so); one
exception is struck and one accepted by a supervisor; a failed transfer is owed and paid after the
account is fixed; the wage bill's reservation balances to the rupiah; the handover completes it.

The policy with the wage rule is the deployment's policy file (JPS_POLICY_FILE): an API of this
module's own serves it, beside the session's (same Temporal task queue, same worker)."""

# Over 400 lines on purpose: one long story over HTTP (three weeks of rolls, a strike, a failure, the
# handover) whose steps depend on each other; split, each part would have to replay the weeks before.

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from activities.bank_client import BankClient
from jps.domain.calendar import WIB, local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.domain.wages import WorkRole, Worksite
from tests.api.conftest import Stack, act, policy_api, wait_for_stage
from tests.evidence_files import jpeg, pdf
from tests.factories import proposal
from tests.sim_fixtures import BankAdmin, Simulators
from tools.repair import repair_failed

SITE = Worksite(lat=-6.2, lon=106.85, radius_m=200)
RATES = {WorkRole.FOREMAN: 150_000, WorkRole.SKILLED: 125_000, WorkRole.WORKER: 100_000}
PLANNED = 9  # three days in each of three weeks


@pytest.fixture(scope="module")
def wage_api(api_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    rule = {"planned_workdays": PLANNED}
    with policy_api(api_stack, tmp_path_factory, {"padat_karya": {"wages": rule}}, "wages") as url:
        yield url


@pytest.fixture
async def whttp(stack: Stack, wage_api: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=wage_api, timeout=60) as client:
        yield client


def pk_proposal() -> Proposal:
    p = proposal(Program.PADAT_KARYA, size=10, region="3171", amount=10_000_000)
    roles = {0: WorkRole.FOREMAN, 1: WorkRole.SKILLED}
    members = [
        m.model_copy(update={"work_role": roles.get(i, WorkRole.WORKER)}) for i, m in enumerate(p.members)
    ]
    return p.model_copy(update={"members": members, "worksite": SITE})


async def upload_photo(
    http: httpx.AsyncClient,
    stack: Stack,
    gid: str,
    day: date,
    *,
    lat: float = SITE.lat,
    data: bytes | None = None,
) -> str:
    captured = datetime.combine(day, time(9, 30), tzinfo=WIB)
    resp = await http.post(
        f"/groups/{gid}/files",
        files={"file": ("lokasi.jpg", data or jpeg(day.toordinal() % 250), "image/jpeg")},
        data={
            "purpose": "worksite_photo",
            "lat": str(lat),
            "lon": str(SITE.lon),
            "captured_at": captured.isoformat(),
        },
        headers=stack.auth(Role.MENTOR),
    )
    assert resp.status_code == 201, resp.text
    fid: str = resp.json()["file_id"]
    return fid


async def wage_runs(http: httpx.AsyncClient, stack: Stack, gid: str) -> dict[str, dict[str, Any]]:
    resp = await http.get(f"/groups/{gid}/wage-runs", headers=stack.auth(Role.AUDITOR, regions=["*"]))
    assert resp.status_code == 200, resp.text
    return {w["week_starts_on"]: w for w in resp.json()["items"]}


async def until(what: str, check: Any) -> Any:
    async with asyncio.timeout(45):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.2)
    raise AssertionError(what)


async def open_tasks(http: httpx.AsyncClient, stack: Stack, gid: str) -> set[str]:
    g = (await http.get(f"/groups/{gid}", headers=stack.auth(Role.AUDITOR, regions=["*"]))).json()
    return {t["kind"] for t in g.get("open_tasks", [])}


async def submit_roll(
    http: httpx.AsyncClient,
    stack: Stack,
    gid: str,
    week: date,
    attendance: dict[str, list[int]],
    evidence: dict[int, str],
    *,
    expect: int = 200,
) -> dict[str, Any]:
    entries = [
        {"nik": nik, "date": (week + timedelta(days=d)).isoformat(), "hours": 8}
        for nik, days in attendance.items()
        for d in days
    ]
    ev = [{"date": (week + timedelta(days=d)).isoformat(), "file_ids": [fid]} for d, fid in evidence.items()]
    return await act(
        http,
        stack,
        gid,
        "submit-muster",
        Role.MENTOR,
        {"week_starts_on": week.isoformat(), "entries": entries, "evidence": ev},
        expect=expect,
    )


async def test_three_weeks_of_rolls_pay_each_worker_days_times_rate_once(
    stack: Stack, whttp: httpx.AsyncClient, bank_sim: BankAdmin
) -> None:
    http = whttp
    p = pk_proposal()
    resp = await http.post("/groups", json=p.model_dump(mode="json"), headers=stack.auth(Role.REGISTRAR))
    assert resp.status_code == 201, resp.text
    gid = resp.json()["group_id"]
    m = [x.nik for x in p.members]
    role = {x.nik: x.work_role for x in p.members}
    today = local_date(datetime.now(UTC))
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today.isoformat(), "ends_on": today.isoformat(), "venue": "Balai Desa"},
    )
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": m})
    await act(
        http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000}, officer="finance-1"
    )
    await until("the wage bill reserved", lambda: has_task(http, stack, gid, "submit_muster"))

    monday = today - timedelta(days=today.weekday())
    weeks = [monday - timedelta(days=21), monday - timedelta(days=14), monday - timedelta(days=7)]
    # A different attendance per worker each week (days 0..2 are Monday..Wednesday).
    attendance = [
        {m[0]: [0, 1, 2], m[1]: [0, 1], m[2]: [0, 2], m[3]: [1]},
        {m[0]: [0, 1], m[3]: [0, 1, 2], m[4]: [0, 1, 2], m[5]: [2]},
        {m[1]: [0, 1, 2], m[2]: [1], m[6]: [0, 2], m[7]: [0, 1, 2]},
    ]

    # Bad input is refused with the field named, and writes nothing.
    photo0 = await upload_photo(http, stack, gid, weeks[0])
    future = today + timedelta(days=1)
    refused = await act(
        http,
        stack,
        gid,
        "submit-muster",
        Role.MENTOR,
        {
            "week_starts_on": (future - timedelta(days=future.weekday())).isoformat(),
            "entries": [{"nik": m[0], "date": future.isoformat(), "hours": 8}],
        },
        expect=422,
    )
    says(refused, "entries.0.date", "future")
    refused = await submit_roll(http, stack, gid, weeks[0], {m[0]: [0, 0]}, {0: photo0}, expect=422)
    says(refused, "entries.1.date", "counted twice")
    refused = await act(
        http,
        stack,
        gid,
        "submit-muster",
        Role.MENTOR,
        {
            "week_starts_on": weeks[0].isoformat(),
            "entries": [{"nik": m[0], "date": weeks[0].isoformat(), "hours": 13}],
        },
        expect=422,
    )
    says(refused, "entries.0.hours")
    resp = await http.post(
        f"/groups/{gid}/files",
        files={"file": ("lokasi.pdf", pdf(), "application/pdf")},
        data={"purpose": "worksite_photo"},
        headers=stack.auth(Role.MENTOR),
    )
    assert resp.status_code == 201, resp.text
    refused = await submit_roll(
        http, stack, gid, weeks[0], {m[0]: [0]}, {0: resp.json()["file_id"]}, expect=422
    )
    says(refused, "evidence.0.file_ids.0", "not an image")
    assert await stack.pool.fetchval("SELECT count(*) FROM muster_rolls WHERE group_id = $1", gid) == 0

    # Week 1: Wednesday has no photo: m0's and m2's Wednesdays are exceptions.
    ev1 = {0: photo0, 1: await upload_photo(http, stack, gid, weeks[0] + timedelta(days=1))}
    g = await submit_roll(http, stack, gid, weeks[0], attendance[0], ev1)
    assert "review_muster" in {t["kind"] for t in g["open_tasks"]}
    rolls = (await http.get(f"/groups/{gid}/rolls", headers=stack.auth(Role.SUPERVISOR))).json()["items"]
    exceptions = [e for e in rolls[0]["entries"] if e["exception"]]
    assert sorted(e["exception"] for e in exceptions) == ["no_evidence", "no_evidence"]
    wed = (weeks[0] + timedelta(days=2)).isoformat()
    await act(
        http,
        stack,
        gid,
        "review-muster",
        Role.SUPERVISOR,
        {
            "decisions": [
                {
                    "nik": m[0],
                    "date": wed,
                    "accept": True,
                    "reason": "the village head's photo, sent by WhatsApp",
                },
                {"nik": m[2], "date": wed, "accept": False, "reason": "not seen on site that day"},
            ]
        },
        officer="supervisor-1",
    )
    # A rate that is not the policy's is refused; then finance releases the run.
    refused = await act(
        http,
        stack,
        gid,
        "approve-wages",
        Role.FINANCE,
        {"week_starts_on": weeks[0].isoformat(), "rates": {"worker": 90_000}},
        expect=422,
    )
    says(refused, "rates.worker", "not the policy's rate")
    await act(http, stack, gid, "approve-wages", Role.FINANCE, {"week_starts_on": weeks[0].isoformat()})
    await until("week 1 paid", lambda: week_settled(http, stack, gid, weeks[0]))
    refused = await submit_roll(http, stack, gid, weeks[0], {m[9]: [0]}, {0: photo0}, expect=422)
    says(refused, "week_starts_on", "already paid")
    accepted_days = [
        {m[0]: 3, m[1]: 2, m[2]: 1, m[3]: 1},  # m2's Wednesday struck
        {m[0]: 2, m[3]: 3, m[4]: 3, m[5]: 1},
        {m[1]: 3, m[2]: 1, m[6]: 2, m[7]: 3},
    ]

    # Week 2: clean, accepted at once; worker 3's account is closed at the bank: owed, then fixed.
    ev2 = {d: await upload_photo(http, stack, gid, weeks[1] + timedelta(days=d)) for d in range(3)}
    g = await submit_roll(http, stack, gid, weeks[1], attendance[1], ev2)
    acct3 = p.members[3].bank_account
    assert acct3 is not None
    bank_sim.close_account(acct3.account_no)
    await act(http, stack, gid, "approve-wages", Role.FINANCE, {"week_starts_on": weeks[1].isoformat()})
    await until("worker 3 owed", lambda: has_task(http, stack, gid, "fix_wage_account"))
    run2 = (await wage_runs(http, stack, gid))[weeks[1].isoformat()]
    assert run2["owed"] == 3 * RATES[role[m[3]]] and run2["paid"] == run2["total"] - run2["owed"]
    # Progress report during the work period.
    await act(
        http,
        stack,
        gid,
        "report-visit",
        Role.MENTOR,
        {
            "visit_no": 1,
            "visited_on": today.isoformat(),
            "business_status": "running",
            "progress_percent": 60,
        },
    )
    new_acct = {"bank_code": "009", "account_no": "8880003333", "holder_name": p.members[3].name}
    await act(
        http,
        stack,
        gid,
        "update-bank-account",
        Role.REGISTRAR,
        {"bank_account": new_acct, "member_nik": m[3]},
    )
    await until("worker 3 paid", lambda: nothing_owed(http, stack, gid, weeks[1]))

    # Week 3, then the work period is over: mentoring, with the handover as the last visit.
    ev3 = {d: await upload_photo(http, stack, gid, weeks[2] + timedelta(days=d)) for d in range(3)}
    await submit_roll(http, stack, gid, weeks[2], attendance[2], ev3)
    await act(http, stack, gid, "approve-wages", Role.FINANCE, {"week_starts_on": weeks[2].isoformat()})
    g = await wait_for_stage(http, stack, gid, "mentoring")

    # Each worker paid exactly days × rate for each week, once, by the bank's own statement.
    runs = await wage_runs(http, stack, gid)
    paid_by_bank = [t for t in bank_sim.statement() if t["transfer_id"].startswith(gid)]
    counts = Counter(t["transfer_id"] for t in paid_by_bank)
    assert all(c == 1 for c in counts.values())
    by_tid = {t["transfer_id"]: t["amount"] for t in paid_by_bank}
    for week, days in zip(weeks, accepted_days, strict=True):
        lines = {ln["nik_masked"]: ln for ln in runs[week.isoformat()]["lines"]}
        assert len(lines) == len(days)
        for nik, n in days.items():
            line = next(ln for ln in lines.values() if ln["nik_masked"][-4:] == nik[-4:])
            assert line["days"] == n and line["amount"] == n * RATES[role[nik]] and line["status"] == "paid"
            assert by_tid[line["transfer_id"]] == line["amount"]
        assert runs[week.isoformat()]["owed"] == 0
    total = sum(n * RATES[role[nik]] for days in accepted_days for nik, n in days.items())
    assert sum(by_tid.values()) == total
    # The reservation balances to the rupiah: drawn = paid, the rest released, nothing reserved.
    res = await stack.pool.fetchrow("SELECT * FROM budget_reservations WHERE reservation_id = $1", f"{gid}:0")
    assert res["amount"] == 10_000_000 and res["drawn"] == total and res["status"] == "settled"
    alloc = await stack.pool.fetchrow(
        "SELECT * FROM budget_allocations WHERE program = 'padat_karya' AND region_code = '31'"
    )
    assert alloc["reserved"] == 0 and alloc["spent"] == total
    report = (await http.get("/reports/wages", headers=stack.auth(Role.AUDITOR, regions=["*"]))).json()
    row = next(r for r in report["groups"] if r["group_id"] == gid)
    assert row["workdays_worked"] == PLANNED and row["wages_paid"] == total and row["wages_owed"] == 0
    assert row["exceptions"] == 2 and row["exceptions_struck"] == 1

    handover = g["visits"][-1]
    assert handover["handover"]
    await act(
        http,
        stack,
        gid,
        "report-visit",
        Role.MENTOR,
        {
            "visit_no": handover["visit_no"],
            "visited_on": today.isoformat(),
            "business_status": "running",
            "progress_percent": 100,
            "handover": True,
        },
    )
    await wait_for_stage(http, stack, gid, "completed")


def says(refused: dict[str, Any], field: str, text: str = "") -> None:
    """The refusal names `field` (a body field's dotted path) and says `text`."""
    detail = refused["detail"]
    if isinstance(detail, list):
        where = [".".join(str(x) for x in e["loc"][1:]) for e in detail]
        what = " ".join(e["msg"] for e in detail)
    else:
        where, what = [detail], detail
    # A field's own rule names it in `loc`; a rule across fields (a day counted twice) in the message.
    assert (any(field in w for w in where) or f"{field}" in what) and text in what, detail


async def has_task(http: httpx.AsyncClient, stack: Stack, gid: str, kind: str) -> bool:
    return kind in await open_tasks(http, stack, gid)


async def week_settled(http: httpx.AsyncClient, stack: Stack, gid: str, week: date) -> bool:
    run = (await wage_runs(http, stack, gid)).get(week.isoformat())
    return run is not None and run["status"] == "settled"


async def nothing_owed(http: httpx.AsyncClient, stack: Stack, gid: str, week: date) -> bool:
    run = (await wage_runs(http, stack, gid)).get(week.isoformat())
    return run is not None and run["status"] == "settled" and run["owed"] == 0 and run["paid"] == run["total"]


async def to_the_rolls(http: httpx.AsyncClient, stack: Stack, p: Proposal) -> str:
    """Submit the group and take it to its work period: trained, wage bill approved and reserved."""
    resp = await http.post("/groups", json=p.model_dump(mode="json"), headers=stack.auth(Role.REGISTRAR))
    assert resp.status_code == 201, resp.text
    gid: str = resp.json()["group_id"]
    today = local_date(datetime.now(UTC)).isoformat()
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    await act(
        http,
        stack,
        gid,
        "schedule-training",
        Role.TRAINER,
        {"starts_on": today, "ends_on": today, "venue": "Balai Desa"},
    )
    niks = [x.nik for x in p.members]
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": niks})
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": 10_000_000})
    await until("the wage bill reserved", lambda: has_task(http, stack, gid, "submit_muster"))
    return gid


async def test_a_cancelled_groups_roll_gives_its_workers_days_back(
    stack: Stack, whttp: httpx.AsyncClient
) -> None:
    """A group cancelled before its first wage is paid: its roll's entries stop holding their
    workers' days in the same step, so the same people, in a new group, can be on a roll for them."""
    http = whttp
    p = pk_proposal()
    m = [x.nik for x in p.members]
    first = await to_the_rolls(http, stack, p)
    today = local_date(datetime.now(UTC))
    week = today - timedelta(days=today.weekday() + 7)
    await submit_roll(http, stack, first, week, {m[0]: [0, 1], m[1]: [0]}, {})  # no photos: exceptions
    held = "SELECT count(*) FROM muster_entries WHERE group_id = $1 AND claims"
    assert await stack.pool.fetchval(held, first) == 3
    await act(http, stack, first, "cancel", Role.SUPERVISOR, {"reason": "the village withdrew the site"})
    assert await stack.pool.fetchval(held, first) == 0
    reservation = "SELECT status FROM budget_reservations WHERE reservation_id = $1"
    assert await stack.pool.fetchval(reservation, f"{first}:0") == "released"

    second = await to_the_rolls(http, stack, p.model_copy(update={"name": "Kelompok Saluran Baru"}))
    g = await submit_roll(http, stack, second, week, {m[0]: [0, 1], m[1]: [0]}, {})
    assert "review_muster" in {t["kind"] for t in g["open_tasks"]}
    assert await stack.pool.fetchval(held, second) == 3


async def test_repair_failed_draws_a_wage_batch_the_bank_paid_after_the_workflow_ended(
    stack: Stack, whttp: httpx.AsyncClient, bank_sim: BankAdmin, simulators: Simulators
) -> None:
    """A week's wages are with the bank when the group's workflow is terminated; the bank pays them
    afterwards. `jps repair-failed` asks the bank about the outstanding wage transfers, draws what it
    paid from the wage bill's reservation, releases the rest, and the wage lines say paid."""
    http = whttp
    p = pk_proposal()
    m = [x.nik for x in p.members]
    gid = await to_the_rolls(http, stack, p)
    today = local_date(datetime.now(UTC))
    week = today - timedelta(days=today.weekday() + 7)
    await submit_roll(http, stack, gid, week, {m[0]: [0, 1], m[1]: [0]}, {})  # exceptions
    days = [(m[0], 0), (m[0], 1), (m[1], 0)]
    decisions = [
        {"nik": n, "date": (week + timedelta(days=d)).isoformat(), "accept": True, "reason": "seen on site"}
        for n, d in days
    ]
    await act(http, stack, gid, "review-muster", Role.SUPERVISOR, {"decisions": decisions})
    bank_sim.config(settle_delay_ms=4_000)
    await act(http, stack, gid, "approve-wages", Role.FINANCE, {"week_starts_on": week.isoformat()})
    tids = [f"{gid}-W{week:%Y%m%d}-00", f"{gid}-W{week:%Y%m%d}-01"]
    await until("the batch at the bank", lambda: asyncio.to_thread(lambda: all(map(bank_sim.transfer, tids))))
    await stack.client.get_workflow_handle(gid).terminate("closed in mid-payment (test)")
    wages = 2 * RATES[WorkRole.FOREMAN] + RATES[WorkRole.SKILLED]
    assert sum(bank_sim.wait_settled(t, timeout=15)["amount"] for t in tids) == wages

    async with BankClient(simulators.bank_url) as bank:
        found = await repair_failed(stack.pool, stack.client, bank, group_ids=[gid], operator="ops-budi")
    assert [(g.verdict, g.repaired) for g in found] == [("repair", True)]
    res = await stack.pool.fetchrow("SELECT * FROM budget_reservations WHERE reservation_id = $1", f"{gid}:0")
    assert (res["status"], res["drawn"]) == ("settled", wages)
    alloc = await stack.pool.fetchrow(
        "SELECT * FROM budget_allocations WHERE program = 'padat_karya' AND region_code = '31'"
    )
    assert (alloc["reserved"], alloc["spent"]) == (0, wages)
    lines = await stack.pool.fetch("SELECT status FROM wage_lines WHERE group_id = $1", gid)
    assert [r["status"] for r in lines] == ["paid", "paid"]
    assert await stack.pool.fetchval("SELECT paid FROM muster_rolls WHERE group_id = $1", gid) == wages
    assert await stack.pool.fetchval("SELECT stage FROM groups WHERE group_id = $1", gid) == "cancelled"
