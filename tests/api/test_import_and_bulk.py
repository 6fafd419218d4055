"""Importing groups (CSV and XLSX; good rows, bad rows, a dry run, a re-import, the background path) and
bulk decisions with a result per group."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import openpyxl

from api.importer import COLUMNS, parse
from jps.domain.models import Proposal
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.domain.wages import WorkRole, Worksite
from tests import factories
from tests.api.conftest import Stack, act, submit, today, wait_for_stage


def rows_of(ref: str, p: Proposal) -> list[dict[str, Any]]:
    rows = []
    for i, m in enumerate(p.members):
        group = (
            {
                "program": p.program.value,
                "group_name": p.name,
                "region_code": p.region_code,
                "requested_amount": f"{p.requested_amount:,}".replace(",", "."),
                "description": p.description,
                "group_bank_code": p.bank_account.bank_code,
                "group_account_no": p.bank_account.account_no,
                "group_account_holder": p.bank_account.holder_name,
                **(
                    {
                        "worksite_lat": p.worksite.lat,
                        "worksite_lon": p.worksite.lon,
                        "worksite_radius_m": p.worksite.radius_m,
                    }
                    if p.worksite
                    else {}
                ),
            }
            if i == 0
            else {}
        )
        account = m.bank_account
        rows.append(
            {
                "group_ref": ref,
                **group,
                "nik": m.nik,
                "member_name": m.name,
                "birth_date": m.birth_date.isoformat() if m.birth_date else "",
                "gender": m.gender.value if m.gender else "",
                "phone": m.phone,
                "is_leader": "ya" if m.is_leader else "tidak",
                "bank_code": account.bank_code if account else "",
                "account_no": account.account_no if account else "",
                "account_holder": account.holder_name if account else "",
                "work_role": "" if m.work_role == WorkRole.WORKER else m.work_role.value,  # empty: a worker
            }
        )
    return rows


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([row.get(c, "") for c in COLUMNS])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


async def upload(
    http: httpx.AsyncClient, stack: Stack, name: str, data: bytes, **params: Any
) -> httpx.Response:
    return await http.post(
        "/groups/import",
        params=params,
        files={"file": (name, data)},
        headers=stack.auth(Role.REGISTRAR, regions=["31"]),
    )


def mixed_file() -> tuple[list[dict[str, Any]], dict[str, Proposal]]:
    """G-OK is valid; G-BAD has a bad NIK (line 24) and a bad phone (line 30); G-LEAD has two
    leaders; G-DUP repeats a NIK of G-OK (line 67, its second line)."""
    good, bad, lead, dup = (
        factories.proposal(name=f"Kelompok {n}") for n in ("Satu", "Dua", "Tiga", "Empat")
    )
    rows = rows_of("G-OK", good)  # lines 2-21
    bad_rows = rows_of("G-BAD", bad)  # lines 22-41
    bad_rows[2]["nik"] = "3171016213900001"
    bad_rows[8]["phone"] = "0812-555"
    lead_rows = rows_of("G-LEAD", lead)  # lines 42-61
    lead_rows[4]["is_leader"] = "ya"
    dup_rows = rows_of("G-DUP", dup)  # lines 62-81
    dup_rows[5]["nik"] = good.members[1].nik
    dup_rows[5]["birth_date"] = good.members[1].birth_date.isoformat() if good.members[1].birth_date else ""
    dup_rows[5]["gender"] = good.members[1].gender.value if good.members[1].gender else ""
    return rows + bad_rows + lead_rows + dup_rows, {"G-OK": good}


def refused(job: dict[str, Any]) -> list[tuple[int, str, str, str | None]]:
    return [
        (r["row"], r["group_ref"], r["status"], r["field"])
        for r in job["results"]
        if r["status"] in ("invalid", "conflict", "failed")
    ]


async def test_import_reports_each_bad_row_and_creates_the_good_groups(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    rows, _ = mixed_file()
    data = to_csv(rows)

    dry = await upload(http, stack, "kelompok.csv", data, dry_run="true")
    assert dry.status_code == 200, dry.text
    job = dry.json()
    assert job["status"] == "done" and job["dry_run"] and (job["rows"], job["groups"]) == (80, 4)
    expected = [
        (24, "G-BAD", "invalid", "nik"),
        (30, "G-BAD", "invalid", "phone"),
        (42, "G-LEAD", "invalid", "is_leader"),
        (67, "G-DUP", "conflict", "nik"),
    ]
    assert refused(job) == expected
    assert [r["status"] for r in job["results"] if r["group_ref"] == "G-OK"] == ["valid"]
    assert "3171016213900001" not in dry.text
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 0  # the dry run changed nothing

    real = await upload(http, stack, "kelompok.csv", data)
    job = real.json()
    assert refused(job) == expected
    [ok] = [r for r in job["results"] if r["group_ref"] == "G-OK"]
    assert ok["status"] == "created" and ok["group_id"].startswith("TKM-3171-") and job["created"] == 1
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 1

    # the registrar fixes the file and imports it again: only the fixed groups are created
    rows[22].update(nik="3171010101909901", birth_date="", gender="")
    rows[28]["phone"] = "+6281255500001"
    again = (await upload(http, stack, "kelompok.csv", to_csv(rows))).json()
    statuses = {r["group_ref"]: r["status"] for r in again["results"] if r["field"] is None}
    assert statuses == {"G-OK": "existing", "G-BAD": "created"}, again["results"]
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 2


async def test_import_xlsx_in_the_background(stack: Stack, http: httpx.AsyncClient) -> None:
    proposals = [factories.proposal(name=f"Kelompok {i}", region="3172") for i in range(3)]
    pk = factories.proposal(Program.PADAT_KARYA, name="Padat Karya Jalan", region="3173")
    rows = [r for i, p in enumerate([*proposals, pk]) for r in rows_of(f"X-{i}", p)]
    resp = await upload(http, stack, "kelompok.xlsx", to_xlsx(rows), background="true")
    assert resp.status_code == 202
    location = resp.headers["location"]
    job = resp.json()
    async with asyncio.timeout(60):
        while job["status"] == "running":
            await asyncio.sleep(0.2)
            job = (await http.get(location, headers=stack.auth(Role.REGISTRAR, regions=["31"]))).json()
    assert job["status"] == "done" and job["created"] == 4 and refused(job) == []
    assert job["processed_groups"] == job["groups"] == 4
    # another officer cannot read someone else's job
    other = await http.get(location, headers=stack.auth(Role.REGISTRAR, officer="registrar-9"))
    assert other.status_code == 404
    programs = await stack.pool.fetch(
        "SELECT program, count(*) FROM groups GROUP BY program ORDER BY program"
    )
    assert [(r[0], r[1]) for r in programs] == [("padat_karya", 1), ("tkm", 3)]


def test_import_reads_the_worksite_and_each_members_work_role() -> None:
    p = factories.proposal(Program.PADAT_KARYA, size=12, roles={0: WorkRole.FOREMAN, 1: WorkRole.SKILLED})
    rows = rows_of("PK-1", p)
    assert rows[1]["work_role"] == "skilled" and rows[2]["work_role"] == ""
    rows[0].update(worksite_lat="-6,25", worksite_lon="106,8", worksite_radius_m="")  # decimal commas
    rows[0]["work_role"], rows[1]["work_role"], rows[3]["work_role"] = "Mandor", "tukang", "pekerja"
    [group] = parse("pk.csv", to_csv(rows)).groups
    assert group.errors == [] and group.proposal is not None
    assert group.proposal.worksite == Worksite(lat=-6.25, lon=106.8, radius_m=200)  # radius: the default
    roles = [m.work_role for m in group.proposal.members]
    assert roles == [WorkRole.FOREMAN, WorkRole.SKILLED] + [WorkRole.WORKER] * 10

    rows[0].update(worksite_lat="", worksite_lon="106.8", worksite_radius_m="50000")
    rows[4]["work_role"] = "kuli"
    [group] = parse("pk.csv", to_csv(rows)).groups
    assert group.proposal is None
    assert sorted((e.line, e.column) for e in group.errors) == [
        (2, "worksite_lat"),
        (2, "worksite_radius_m"),
        (6, "work_role"),
    ]
    assert (
        "'kuli' is not worker, skilled or foreman" in {e.column: e.reason for e in group.errors}["work_role"]
    )


async def test_import_refuses_a_padat_karya_group_without_its_worksite(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """Padat Karya pays weekly wages from muster rolls by default: a group names its worksite."""
    with_site = factories.proposal(Program.PADAT_KARYA, name="Padat Karya Saluran")
    without = factories.proposal(Program.PADAT_KARYA, name="Padat Karya Jalan", worksite=None)
    rows = rows_of("PK-SITE", with_site) + rows_of("PK-NONE", without)
    job = (await upload(http, stack, "pk.csv", to_csv(rows), dry_run="true")).json()
    assert refused(job) == [(22, "PK-NONE", "invalid", "worksite_lat")]
    [reason] = [r["reason"] for r in job["results"] if r["group_ref"] == "PK-NONE"]
    assert "worksite" in reason
    assert [r["status"] for r in job["results"] if r["group_ref"] == "PK-SITE"] == ["valid"]


async def test_import_refuses_unreadable_files_and_out_of_scope_rows(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    resp = await upload(http, stack, "x.csv", b"name,phone\nBudi,+6281\n")
    assert resp.status_code == 422 and "missing columns" in resp.json()["detail"]
    resp = await upload(http, stack, "x.xlsx", b"PK\x03\x04 not really a zip")
    assert resp.status_code == 422
    resp = await upload(http, stack, "x.csv", b"")
    assert resp.status_code == 422
    bandung = factories.proposal(region="3273")
    job = (await upload(http, stack, "x.csv", to_csv(rows_of("B-1", bandung)))).json()
    assert refused(job) == [(2, "B-1", "invalid", "region_code")]
    too_much = factories.proposal(amount=30_000_000)
    job = (await upload(http, stack, "x.csv", to_csv(rows_of("T-1", too_much)))).json()
    assert refused(job) == [(2, "T-1", "invalid", "requested_amount")]


async def test_bulk_verification_and_disbursement_with_a_result_per_group(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    proposals = [factories.proposal(name=f"Kelompok {i}") for i in range(3)]
    ids = [(await submit(http, stack, p))["group_id"] for p in proposals]
    bandung = (await submit(http, stack, factories.proposal(region="3273")))["group_id"]
    verifier = stack.auth(Role.VERIFIER, regions=["31"])

    resp = await http.post(
        "/groups/bulk/verify",
        json={"group_ids": [*ids, bandung, "TKM-3171-NOSUCHGRP0"], "args": {"decision": "approve"}},
        headers=verifier,
    )
    assert resp.status_code == 200
    out = resp.json()
    assert (out["succeeded"], out["failed"]) == (3, 2)
    assert [(r["group_id"], r["status"], r["stage"]) for r in out["results"]] == [
        *[(g, 200, "training") for g in ids],
        (bandung, 403, None),
        ("TKM-3171-NOSUCHGRP0", 404, None),
    ]
    # a second approval of the same groups: each refused for its stage
    again = (
        await http.post(
            "/groups/bulk/verify", json={"group_ids": ids, "args": {"decision": "approve"}}, headers=verifier
        )
    ).json()
    assert [r["status"] for r in again["results"]] == [409, 409, 409]

    resp = await http.post(
        "/groups/bulk/schedule-training",
        json={"group_ids": ids, "args": {"starts_on": today(), "ends_on": today(), "venue": "BLK"}},
        headers=stack.auth(Role.TRAINER),
    )
    assert resp.json()["succeeded"] == 3
    for gid, p in zip(ids, proposals, strict=True):
        await act(
            http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": [m.nik for m in p.members]}
        )

    # the finance officer approves all three at their requested amounts (amount omitted)
    resp = await http.post(
        "/groups/bulk/approve-disbursement",
        json={"group_ids": ids, "args": {"notes": "batch 1"}},
        headers=stack.auth(Role.FINANCE),
    )
    out = resp.json()
    assert out["succeeded"] == 3, out
    for gid in ids:
        group = await wait_for_stage(http, stack, gid, "mentoring")
        assert group["approved_amount"] == 10_000_000 and group["paid_amount"] == 10_000_000

    resp = await http.post(
        "/groups/bulk/verify", json={"group_ids": [], "args": {"decision": "approve"}}, headers=verifier
    )
    assert resp.status_code == 422


async def test_jps_import_command(stack: Stack, tmp_path: Path) -> None:
    from tests.api.test_seed_and_reports import run_cli

    good = factories.proposal(name="Kelompok Baik")
    bad = factories.proposal(name="Kelompok Salah")
    bad_rows = rows_of("C-2", bad)
    bad_rows[3]["phone"] = "12345"
    path = tmp_path / "kelompok.csv"
    path.write_bytes(to_csv(rows_of("C-1", good) + bad_rows))

    stack.token(Role.REGISTRAR)  # registrar-1 of region 31, in the directory
    code, out = await run_cli(stack, "import", str(path), "--officer", "unknown-registrar", "--dry-run")
    assert code == 1 and "not an active officer" in out, out
    code, out = await run_cli(stack, "import", str(path), "--officer", "registrar-1", "--dry-run")
    assert code == 1, out
    assert "C-2" in out and "phone" in out and "1 valid" in out
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 0

    code, out = await run_cli(stack, "import", str(path), "--officer", "registrar-1")
    assert code == 1 and "1 created" in out, out
    assert await stack.pool.fetchval("SELECT count(*) FROM groups") == 1

    path.write_bytes(to_csv(rows_of("C-1", good)))
    code, out = await run_cli(stack, "import", str(path), "--officer", "registrar-1")
    assert code == 0 and "1 already imported" in out, out
