"""The managers' reports over HTTP (`/reports/funnel`, `/stalls`, `/allocation`, `/lpj-status`, `/lpj`
with its CSV and XLSX, the summary's and the ledger's accounts) against rows inserted straight into
the read model (tests/dashboard_rows.py): each figure as computed by hand, bad parameters a 422 naming
the field, and an officer of another region seeing nothing of these."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
from openpyxl import load_workbook

from jps.domain.roles import Role
from jps.domain.stages import STAGE_ORDER
from tests import dashboard_rows as rows
from tests.api.conftest import Stack
from tests.dashboard_rows import GROUPS, M, today, wib

ACCOUNT_PARTS = ("no_lpj_owed", "accounted", "awaiting_lpj", "under_recovery", "recovered", "written_off")


def national(stack: Stack) -> dict[str, str]:
    return stack.auth(Role.AUDITOR, regions=["*"])


def acct(item: dict[str, int]) -> tuple[int, ...]:
    return tuple(item[k] for k in ("paid", *ACCOUNT_PARTS))


async def test_funnel_counts_each_programme_by_stage_as_of_a_day(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    await rows.insert(stack.pool)
    for as_of in ("2020-09-04", "2020-09-09", "2020-11-20", None):
        url = "/reports/funnel" + (f"?as_of={as_of}" if as_of else "")
        resp = await http.get(url, headers=national(stack))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        for program in body["programs"]:
            assert [s["stage"] for s in program["stages"]] == [s.value for s in STAGE_ORDER]
            expected: dict[str, int] = {}
            for g in GROUPS:
                if g.program != program["program"]:
                    continue
                cutoff = wib(as_of) + timedelta(days=1) if as_of else wib("2100-01-01")
                stage = rows.stage_at(g, cutoff)
                if stage:
                    expected[stage] = expected.get(stage, 0) + 1
            got = {s["stage"]: s["groups"] for s in program["stages"] if s["groups"]}
            assert got == expected, (as_of, program["program"])
            assert program["groups"] == sum(expected.values())
    now = (await http.get("/reports/funnel", headers=national(stack))).json()
    tkm = {s["stage"]: s["groups"] for s in now["programs"][0]["stages"]}
    assert (tkm["verification"], tkm["mentoring"], tkm["recovery"]) == (1, 5, 1)


async def test_stalls_median_days_and_overdue_per_province_and_stage(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    await rows.insert(stack.pool)
    body = (await http.get("/reports/stalls?as_of=2020-09-30", headers=national(stack))).json()
    assert body["steps"][:5] == ["proposal", "verification", "training", "disbursement", "mentoring"]
    assert [p["code"] for p in body["provinces"]] == ["11", "31", "32"]
    cells = {(c["province"], c["step"]): c for c in body["cells"]}
    # Jakarta's verification: G1 4 days, G2 2, G6 1, G7 still there, 30 (to the end of 30 Sept)
    jkt = cells[("31", "verification")]
    assert (jkt["stays"], jkt["median_days"], jkt["overdue"]) == (4, 3.0, 1)
    # West Java's training: G3 4 days, G4 2, G5 1, G8 since 5 Sept (26 days to the end of 30 Sept)
    jabar = cells[("32", "training")]
    assert (jabar["stays"], jabar["median_days"], jabar["overdue"]) == (4, 3.0, 0)
    # one programme: Padat Karya's Jakarta verification is G6 alone, and G7's task is not its
    pk = (
        await http.get("/reports/stalls?as_of=2020-09-30&program=padat_karya", headers=national(stack))
    ).json()
    pk_cells = {(c["province"], c["step"]): c for c in pk["cells"]}
    assert (pk_cells[("31", "verification")]["stays"], pk_cells[("31", "verification")]["overdue"]) == (1, 0)
    # before the task fell due nothing is overdue
    early = (await http.get("/reports/stalls?as_of=2020-09-05", headers=national(stack))).json()
    assert all(c["overdue"] == 0 for c in early["cells"])


async def test_allocation_and_lpj_status_per_programme_and_region(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    await rows.insert(stack.pool)
    items = (await http.get("/reports/allocation", headers=national(stack))).json()["items"]
    by = {(i["program"], i["region_code"]): i for i in items}
    assert (by[("tkm", "31")]["amount"], by[("tkm", "31")]["spent"]) == (100 * M, 20 * M)
    assert (by[("tkm", "32")]["spent"], by[("tkm", "32")]["reserved"]) == (30 * M, 5 * M)
    assert by[("tkm", "32")]["available"] == 165 * M
    assert by[("padat_karya", "31")]["spent"] == 20 * M

    status = (await http.get("/reports/lpj-status", headers=national(stack))).json()
    assert status["as_of"] == today().isoformat()
    lpj = {(i["program"], i["region_code"]): i for i in status["items"]}
    assert set(lpj) == {("tkm", "11"), ("tkm", "31"), ("tkm", "32")}
    jkt, jabar, aceh = lpj[("tkm", "31")], lpj[("tkm", "32")], lpj[("tkm", "11")]
    assert (jkt["accepted_groups"], jkt["accepted_amount"]) == (1, 10 * M)
    assert (jkt["under_recovery_groups"], jkt["under_recovery_amount"]) == (1, 5 * M)
    assert (jabar["on_time_groups"], jabar["on_time_amount"]) == (1, 8 * M)
    assert (jabar["overdue_groups"], jabar["overdue_amount"]) == (1, 10 * M)
    assert (jabar["settled_groups"], jabar["settled_amount"]) == (1, 3 * M)
    assert (aceh["on_time_groups"], aceh["on_time_amount"]) == (1, 5 * M)


async def test_lpj_list_json_csv_and_xlsx(stack: Stack, http: httpx.AsyncClient) -> None:
    await rows.insert(stack.pool)
    # a supplier-style name that a spreadsheet would run
    await stack.pool.execute("UPDATE groups SET name = '=HYPERLINK(\"http://x\")' WHERE group_id = 'G5'")
    page = (await http.get("/reports/lpj?size=2", headers=national(stack))).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    g2, g5 = page["items"]
    assert g2["group_id"] == "G2" and g2["days_overdue"] == (today() - wib("2020-11-01").date()).days
    assert (g2["paid"], g2["accounted"], g2["awaiting"], g2["under_recovery"]) == (10 * M, 0, 0, 5 * M)
    assert (g2["recovered"], g2["written_off"], g2["status"]) == (3 * M, 2 * M, "overdue")
    assert (g5["group_id"], g5["days_overdue"], g5["awaiting"]) == ("G5", 10, 10 * M)
    rest = (await http.get("/reports/lpj?size=2&page=2", headers=national(stack))).json()
    assert {i["group_id"] for i in rest["items"]} == {"G3", "G9"}
    assert all(i["days_overdue"] == 0 for i in rest["items"])

    resp = await http.get("/reports/lpj?format=csv", headers=national(stack))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["group_id"] for r in table] == ["G2", "G5", "G3", "G9"]
    assert table[1]["name"].startswith("'=") and table[0]["under_recovery"] == str(5 * M)

    resp = await http.get("/reports/lpj?format=xlsx", headers=national(stack))
    assert resp.status_code == 200 and "spreadsheetml" in resp.headers["content-type"]
    sheet = load_workbook(io.BytesIO(resp.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "group_id" and [v[0] for v in values[1:]] == ["G2", "G5", "G3", "G9"]
    header = list(values[0])
    assert values[2][header.index("name")].startswith("'=")  # text, not a formula
    assert values[1][header.index("paid")] == 10 * M  # a number the spreadsheet can add


async def test_summary_and_ledger_accounts_add_up_to_the_rupiah(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    await rows.insert(stack.pool)
    summary = (await http.get("/reports/summary", headers=national(stack))).json()
    accounts = {(a["program"], a["region_code"]): a for a in summary["accounts"]}
    assert acct(accounts[("tkm", "31")]) == (20 * M, 0, 10 * M, 0, 5 * M, 3 * M, 2 * M)
    assert acct(accounts[("tkm", "32")]) == (30 * M, 0, 9 * M, 18 * M, 0, 3 * M, 0)
    assert acct(accounts[("tkm", "11")]) == (5 * M, 0, 0, 5 * M, 0, 0, 0)
    assert acct(accounts[("padat_karya", "31")]) == (20 * M, 20 * M, 0, 0, 0, 0, 0)
    for a in summary["accounts"]:
        assert a["paid"] == sum(a[k] for k in ACCOUNT_PARTS), a
    for p in summary["programs"]:
        assert (
            p["accounts"]["paid"]
            == p["paid_amount"]
            == sum(a["paid"] for a in summary["accounts"] if a["program"] == p["program"])
        )
        assert p["accounts"]["paid"] == sum(p["accounts"][k] for k in ACCOUNT_PARTS)

    ledger = (await http.get("/budget/ledger", headers=national(stack))).json()
    by = {(r["program"], r["region_code"]): r for r in ledger}
    for key, row in by.items():
        parts = row["accounts"]
        assert row["spent"] == parts["paid"] == sum(parts[k] for k in ACCOUNT_PARTS), key
    # the ledger and the report agree, programme by programme, to the rupiah
    for p in summary["programs"]:
        mine = [r["accounts"] for r in ledger if r["program"] == p["program"]]
        for k in ("paid", *ACCOUNT_PARTS):
            assert sum(m[k] for m in mine) == p["accounts"][k], (p["program"], k)

    # as of a past day: only what had happened by then (G2's receivable had not yet opened on 10 Nov;
    # on 22 Nov 3M was repaid and nothing written off yet)
    nov10 = (await http.get("/reports/summary?as_of=2020-11-10", headers=national(stack))).json()
    jkt = next(a for a in nov10["accounts"] if (a["program"], a["region_code"]) == ("tkm", "31"))
    assert acct(jkt) == (20 * M, 0, 10 * M, 10 * M, 0, 0, 0)
    nov22 = (await http.get("/reports/summary?as_of=2020-11-22", headers=national(stack))).json()
    jkt = next(a for a in nov22["accounts"] if (a["program"], a["region_code"]) == ("tkm", "31"))
    assert acct(jkt) == (20 * M, 0, 10 * M, 0, 7 * M, 3 * M, 0)


async def test_an_officer_of_another_region_sees_nothing_of_these(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    await rows.insert(stack.pool)
    bali = stack.auth(Role.VERIFIER, regions=["51"])
    funnel = (await http.get("/reports/funnel", headers=bali)).json()
    assert all(p["groups"] == 0 for p in funnel["programs"])
    assert (await http.get("/reports/stalls", headers=bali)).json()["cells"] == []
    assert (await http.get("/reports/allocation", headers=bali)).json()["items"] == []
    assert (await http.get("/reports/lpj-status", headers=bali)).json()["items"] == []
    assert (await http.get("/reports/lpj", headers=bali)).json()["total"] == 0
    assert "G2" not in (await http.get("/reports/lpj?format=csv", headers=bali)).text
    assert (await http.get("/reports/summary", headers=bali)).json()["accounts"] == []
    # Aceh's officer sees Aceh's group only
    aceh = stack.auth(Role.VERIFIER, officer="verifier-aceh", regions=["11"])
    assert [i["group_id"] for i in (await http.get("/reports/lpj", headers=aceh)).json()["items"]] == ["G9"]
    assert {c["province"] for c in (await http.get("/reports/stalls", headers=aceh)).json()["cells"]} == {
        "11"
    }
    assert [
        (i["program"], i["region_code"])
        for i in (await http.get("/reports/allocation", headers=aceh)).json()["items"]
    ] == [("tkm", "11")]


async def test_bad_parameters_are_a_422_naming_the_field(stack: Stack, http: httpx.AsyncClient) -> None:
    headers = national(stack)
    for url, field in [
        ("/reports/funnel?as_of=2020-13-01", "as_of"),
        ("/reports/funnel?as_of=1899-01-01", "as_of"),
        ("/reports/stalls?as_of=9999-12-31", "as_of"),
        ("/reports/stalls?program=bansos", "program"),
        ("/reports/lpj?format=pdf", "format"),
        ("/reports/lpj?size=501", "size"),
        ("/reports/lpj?page=0", "page"),
    ]:
        resp = await http.get(url, headers=headers)
        assert resp.status_code == 422, (url, resp.text)
        assert any(e["loc"][-1] == field for e in resp.json()["detail"]), (url, resp.text)
    assert (await http.get("/reports/funnel")).status_code == 401
    assert (await http.get("/budget/ledger", headers=stack.auth(Role.MENTOR))).status_code == 403
