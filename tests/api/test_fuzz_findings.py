"""What the fuzzer (tests/api/test_fuzz.py, issue 11) found answering 500, each now a 422 (or an empty
page) over HTTP, and the API still answering after it:

- `POST /budget/freezes` (and a lift) with a NUL in `reason`: PostgreSQL refuses NUL in text, asyncpg
  raised inside the route;
- `PUT /budget/allocations/{program}/{region}` with an amount beyond bigint (bounded in 2b07b2b);
- `GET /groups?q=` with a NUL, and a NUL in a group id in the path: the same refusal, from the query;
- `GET /tasks`, `/groups`, `/audit`, `/reconciliation/mismatches` with a page so far out that the
  OFFSET passed bigint;
- `POST /budget/freezes/{id}/lift` and `POST /reconciliation/mismatches/{id}/resolve` with an id
  beyond bigint;
- `POST /groups/import` with a CSV whose cell holds a bare carriage return (csv.Error in the route)."""

from __future__ import annotations

from typing import Any

import httpx

from jps.domain.roles import Role
from tests.api.conftest import Stack

BEYOND_BIGINT = 2**63
NUL = "\x00"


def _names(resp: httpx.Response, field: str) -> bool:
    detail: Any = resp.json()["detail"]
    return isinstance(detail, list) and any(e["loc"][-1] == field for e in detail)


async def test_budget_reasons_with_nul_and_amounts_beyond_bigint_are_422(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    supervisor = stack.auth([Role.SUPERVISOR, Role.FINANCE], regions=["*"])
    for reason in (f"Pilkada{NUL}2020", "ab\x07cd"):
        resp = await http.post("/budget/freezes", json={"reason": reason}, headers=supervisor)
        assert resp.status_code == 422 and _names(resp, "reason"), resp.text
    frozen = await http.post("/budget/freezes", json={"reason": "Pilkada 2020"}, headers=supervisor)
    assert frozen.status_code == 201, frozen.text
    freeze_id = frozen.json()["freeze_id"]
    resp = await http.post(
        f"/budget/freezes/{freeze_id}/lift", json={"reason": f"ok{NUL}!"}, headers=supervisor
    )
    assert resp.status_code == 422 and _names(resp, "reason"), resp.text

    for field, body in (
        ("amount", {"amount": 12569895845950173204208752531066585088, "reason": "DIPA 2020"}),
        ("reason", {"amount": 5, "reason": f"DI{NUL}PA"}),
    ):
        resp = await http.put("/budget/allocations/tkm/0023", json=body, headers=supervisor)
        assert resp.status_code == 422 and _names(resp, field), resp.text

    # the API still answers, and the freeze is lifted with a plain reason
    resp = await http.post(
        f"/budget/freezes/{freeze_id}/lift", json={"reason": "audit closed"}, headers=supervisor
    )
    assert resp.status_code == 200 and resp.json()["lifted_by"], resp.text


async def test_nul_in_the_url_is_422(stack: Stack, http: httpx.AsyncClient) -> None:
    officer = stack.auth(list(Role), regions=["*"])
    for url, loc in (
        ("/groups?q=ab%00cd", ["query", "q"]),
        ("/audit?actor=x%00", ["query", "actor"]),
        ("/groups/TKM-3171-AB%00CD", ["path"]),
        ("/groups/TKM-3171-AB%00CD/history", ["path"]),
    ):
        resp = await http.get(url, headers=officer)
        assert resp.status_code == 422, (url, resp.text)
        assert resp.json()["detail"][0]["loc"] == loc, (url, resp.text)
    resp = await http.post("/tasks/TKM%00/claim", headers=officer)
    assert resp.status_code == 422, resp.text
    assert (await http.get("/groups?q=abcd", headers=officer)).status_code == 200


async def test_pages_and_ids_beyond_bigint(stack: Stack, http: httpx.AsyncClient) -> None:
    officer = stack.auth(list(Role), regions=["*"])
    for path in ("/groups", "/tasks", "/audit", "/reconciliation/mismatches"):
        resp = await http.get(path, params={"page": BEYOND_BIGINT * 7, "size": 170}, headers=officer)
        assert resp.status_code == 200, (path, resp.text)
        assert resp.json()["items"] == [], path
    resp = await http.post(
        f"/budget/freezes/{BEYOND_BIGINT}/lift", json={"reason": "audit closed"}, headers=officer
    )
    assert resp.status_code == 422 and _names(resp, "freeze_id"), resp.text
    resp = await http.post(
        f"/reconciliation/mismatches/{BEYOND_BIGINT}/resolve",
        json={"resolution": "explained", "reason": "checked with the bank"},
        headers=officer,
    )
    assert resp.status_code == 422 and _names(resp, "mismatch_id"), resp.text


async def test_a_csv_the_csv_module_cannot_read_is_422(stack: Stack, http: httpx.AsyncClient) -> None:
    registrar = stack.auth(Role.REGISTRAR, regions=["31"])
    header = (
        "group_ref,program,group_name,region_code,requested_amount,description,group_bank_code,"
        "group_account_no,group_account_holder,nik,member_name,birth_date,gender,phone,is_leader,"
        "bank_code,account_no,account_holder\n"
    )
    huge = header + '1,tkm,"' + "x" * 200_000 + '"\n'  # a cell above the csv module's field limit
    for data, background in (
        ("\U000a80b4\r\u00e2".encode(), "true"),
        ("\U000a80b4\r\u00e2".encode(), "false"),
    ):
        resp = await http.post(
            "/groups/import",
            params={"background": background, "dry_run": "false"},
            files={"file": ("file", data)},
            headers=registrar,
        )
        assert resp.status_code == 422, resp.text
    resp = await http.post(
        "/groups/import",
        params={"dry_run": "true", "background": "false"},
        files={"file": ("big.csv", huge.encode())},
        headers=registrar,
    )
    assert resp.status_code in (200, 422), resp.text
    assert "field larger than field limit" in resp.text, resp.text
