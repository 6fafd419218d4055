"""Refusals and scope (issue 11): every 403 is audited, from one place and rate-limited per officer;
the freeze list and import jobs are scoped to the officer's regions; a NIK conflict with a group
outside the officer's scope does not name that group (submission and dry-run import alike)."""

from __future__ import annotations

import httpx

from api.errors import REFUSALS_PER_MINUTE
from jps.domain.models import Proposal
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, submit
from tests.api.test_import_and_bulk import rows_of, to_csv


async def test_a_403_on_a_budget_route_is_audited(stack: Stack, http: httpx.AsyncClient) -> None:
    regional = stack.auth(Role.FINANCE, regions=["31"], officer="finance-jakarta-403")
    body = {"amount": 7_000_000_000, "reason": "DIPA 2020 revisi 2"}
    resp = await http.put("/budget/allocations/tkm/3171", json=body, headers=regional)
    assert resp.status_code == 403
    rows = await stack.pool.fetch("SELECT * FROM audit_log WHERE actor = 'finance-jakarta-403'")
    assert len(rows) == 1
    row = rows[0]
    assert row["event"] == "request_refused" and row["reason"] == resp.json()["detail"]
    assert row["actor_roles"] == ["finance"]
    assert row["details"] == {
        "method": "PUT",
        "route": "/budget/allocations/{program}/{region_code}",
        "path": "/budget/allocations/tkm/3171",
        "status": 403,
    }
    verifier = stack.auth(Role.VERIFIER, regions=["*"], officer="verifier-403")
    assert (await http.get("/budget/allocations", headers=verifier)).status_code == 403
    assert await stack.pool.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'verifier-403'") == 1
    # a group action's 403 is audited once, by its guard, with the group and the action
    gid = (await submit(http, stack, factories.proposal()))["group_id"]
    trainer = stack.auth(Role.TRAINER, regions=["31"], officer="trainer-403")
    resp = await http.post(f"/groups/{gid}/actions/verify", json={"decision": "approve"}, headers=trainer)
    assert resp.status_code == 403
    rows = await stack.pool.fetch("SELECT * FROM audit_log WHERE actor = 'trainer-403'")
    assert [(r["event"], r["group_id"], r["details"]["action"]) for r in rows] == [
        ("action_refused", gid, "verify")
    ]

    # a flood of refusals fills no log: at most REFUSALS_PER_MINUTE rows a minute per officer
    flooder = stack.auth(Role.REGISTRAR, regions=["31"], officer="registrar-flood")
    for _ in range(REFUSALS_PER_MINUTE + 15):
        assert (await http.get("/audit/verify", headers=flooder)).status_code == 403
    written = await stack.pool.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'registrar-flood'")
    assert written == REFUSALS_PER_MINUTE
    assert (await http.get("/audit/verify", headers=stack.auth(Role.AUDITOR, regions=["*"]))).json()["valid"]


async def test_freezes_are_listed_in_scope(stack: Stack, http: httpx.AsyncClient) -> None:
    national = stack.auth(Role.SUPERVISOR, regions=["*"], officer="supervisor-pusat")
    for region in (None, "31", "3171", "3273", "32"):
        body = {"region_code": region, "reason": f"audit BPK {region}"}
        assert (await http.post("/budget/freezes", json=body, headers=national)).status_code == 201
    seen = {f["region_code"] for f in (await http.get("/budget/freezes", headers=national)).json()}
    assert seen == {None, "31", "3171", "3273", "32"}
    jakarta_pusat = stack.auth(Role.FINANCE, regions=["3171"])
    seen = {f["region_code"] for f in (await http.get("/budget/freezes", headers=jakarta_pusat)).json()}
    assert seen == {None, "31", "3171"}
    jakarta = stack.auth(Role.AUDITOR, regions=["31"])
    seen = {f["region_code"] for f in (await http.get("/budget/freezes", headers=jakarta)).json()}
    assert seen == {None, "31", "3171"}


def _with_nik_of(proposal: Proposal, other: Proposal) -> Proposal:
    members = list(proposal.members)
    members[3] = other.members[3]
    return proposal.model_copy(update={"members": members})


async def test_a_nik_conflict_outside_the_scope_names_no_group(stack: Stack, http: httpx.AsyncClient) -> None:
    bandung = factories.proposal(region="3273")
    held_by = (await submit(http, stack, bandung, regions=["32"]))["group_id"]
    mine = _with_nik_of(factories.proposal(), bandung)

    jakarta = stack.auth(Role.REGISTRAR, regions=["31"], officer="registrar-jakarta")
    resp = await http.post("/groups", json=mine.model_dump(mode="json"), headers=jakarta)
    assert resp.status_code == 409
    assert "already in another active group" in resp.text and held_by not in resp.text
    dry = await http.post(
        "/groups/import?dry_run=true",
        files={"file": ("kelompok.csv", to_csv(rows_of("G1", mine)), "text/csv")},
        headers=jakarta,
    )
    assert dry.status_code == 200 and held_by not in dry.text
    assert [(r["status"], r["field"], r["reason"]) for r in dry.json()["results"] if r["field"] == "nik"] == [
        ("conflict", "nik", "already in another active group")
    ]

    # inside the scope the group is named, as before
    java = stack.auth(Role.REGISTRAR, regions=["31", "32"], officer="registrar-jawa")
    dry = await http.post(
        "/groups/import?dry_run=true",
        files={"file": ("kelompok.csv", to_csv(rows_of("G1", mine)), "text/csv")},
        headers=java,
    )
    assert f"already in active group {held_by}" in dry.text
    resp = await http.post("/groups", json=mine.model_dump(mode="json"), headers=java)
    assert resp.status_code == 409 and held_by in resp.json()["detail"]


async def test_import_jobs_are_read_in_scope(stack: Stack, http: httpx.AsyncClient) -> None:
    bandung = stack.auth(Role.REGISTRAR, regions=["32"], officer="registrar-bandung")
    rows = rows_of("G1", factories.proposal(region="3273"))
    job = (
        await http.post(
            "/groups/import?dry_run=true",
            files={"file": ("kelompok.csv", to_csv(rows), "text/csv")},
            headers=bandung,
        )
    ).json()["job_id"]

    def reader(role: Role, regions: list[str], officer: str) -> dict[str, str]:
        return stack.auth(role, regions=regions, officer=officer)

    for headers, status in [
        (bandung, 200),
        (reader(Role.AUDITOR, ["*"], "auditor-pusat"), 200),
        (reader(Role.AUDITOR, ["32"], "auditor-jabar"), 200),
        (reader(Role.AUDITOR, ["31"], "auditor-jakarta"), 404),
        (reader(Role.AUDITOR, ["3273"], "auditor-bandung"), 404),  # the uploader's scope is wider
        (reader(Role.REGISTRAR, ["32"], "registrar-bogor"), 404),
    ]:
        assert (await http.get(f"/groups/import/{job}", headers=headers)).status_code == status
