"""Evidence files over HTTP (api/routes/files.py): upload real JPEG, PNG and PDF bytes, read them back
identical, see every refusal name its field and leave nothing behind, keep other regions out, and
find each upload's hash in the audit log."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.main import create_app
from api.queries.files import FileRecord, files_by_id
from jps.domain.files import EvidencePurpose
from jps.domain.programs import Program
from jps.domain.roles import Role
from tests.api.conftest import Stack, submit
from tests.evidence_files import jpeg, pdf, png
from tests.factories import proposal
from tests.sim_fixtures import ThreadedServer


@pytest.fixture
async def group_id(stack: Stack, http: httpx.AsyncClient) -> str:
    created = await submit(http, stack, proposal(Program.TKM, size=10))
    gid: str = created["group_id"]
    return gid


def files_dir(stack: Stack) -> Path:
    assert stack.settings.files_dir is not None
    return stack.settings.files_dir


def blobs(stack: Stack) -> set[str]:
    return {p.name for p in files_dir(stack).rglob("*") if p.is_file()}


async def upload(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    group_id: str,
    data: bytes,
    *,
    name: str = "bukti.jpg",
    declared: str = "image/jpeg",
    **form: Any,
) -> httpx.Response:
    fields = {"purpose": "receipt", **form}
    return await http.post(
        f"/groups/{group_id}/files",
        files={"file": (name, data, declared)},
        data={k: str(v) for k, v in fields.items()},
        headers=headers,
    )


async def file_rows(stack: Stack) -> int:
    count: int = await stack.pool.fetchval("SELECT count(*) FROM files")
    return count


@pytest.mark.parametrize(
    ("data", "content_type", "name", "ext"),
    [
        (jpeg(), "image/jpeg", "kwitansi toko.jpg", "jpg"),
        (png(), "image/png", "foto barang.png", "png"),
        (pdf(), "application/pdf", "nota.pdf", "pdf"),
    ],
)
async def test_an_upload_is_stored_and_read_back_identical(
    stack: Stack, http: httpx.AsyncClient, group_id: str, data: bytes, content_type: str, name: str, ext: str
) -> None:
    mentor = stack.auth(Role.MENTOR, officer="mentor-31")
    # The declared type is the client's word only: the stored type is what the bytes are.
    resp = await upload(http, mentor, group_id, data, name=name, declared="application/octet-stream")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    sha = hashlib.sha256(data).hexdigest()
    assert body == {
        "file_id": body["file_id"],
        "sha256": sha,
        "size": len(data),
        "content_type": content_type,
        "purpose": "receipt",
    }
    assert resp.headers["location"] == f"/files/{body['file_id']}"

    auditor = stack.auth(Role.AUDITOR, officer="auditor-31")  # any role of the region reads
    got = await http.get(f"/files/{body['file_id']}", headers=auditor)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == content_type
    assert got.headers["x-content-type-options"] == "nosniff"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="{body["file_id"]}.{ext}"')
    assert "filename*=UTF-8''" + name.replace(" ", "%20") in disposition

    listed = await http.get(f"/groups/{group_id}/files", headers=auditor)
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["file_id"] == body["file_id"] and row["original_name"] == name
    assert row["uploaded_by"] == "mentor-31" and row["group_id"] == group_id

    audit = await stack.pool.fetchrow("SELECT * FROM audit_log WHERE event = 'file_uploaded'")
    assert audit["group_id"] == group_id and audit["actor"] == "mentor-31"
    assert audit["details"]["sha256"] == sha
    assert audit["details"]["file_id"] == body["file_id"]


async def test_a_photo_carries_where_and_when_and_the_same_bytes_are_kept_once(
    stack: Stack, http: httpx.AsyncClient, group_id: str
) -> None:
    verifier = stack.auth(Role.VERIFIER)
    taken = datetime(2020, 11, 2, 9, 30, tzinfo=UTC)
    data = jpeg(7)
    first = await upload(
        http,
        verifier,
        group_id,
        data,
        purpose="goods_photo",
        lat=-6.2088,
        lon=106.8456,
        captured_at=taken.isoformat(),
    )
    second = await upload(http, stack.auth(Role.REGISTRAR), group_id, data, purpose="receipt")
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    a, b = first.json(), second.json()
    assert a["file_id"] != b["file_id"] and a["sha256"] == b["sha256"]
    assert blobs(stack) >= {a["sha256"]}
    assert len([n for n in blobs(stack) if n == a["sha256"]]) == 1

    records = await files_by_id(
        stack.pool, group_id=group_id, file_ids=[a["file_id"], b["file_id"], "F-NOTAFILE"]
    )
    assert set(records) == {a["file_id"], b["file_id"]}
    photo = records[a["file_id"]]
    assert photo == FileRecord(
        file_id=a["file_id"],
        group_id=group_id,
        sha256=a["sha256"],
        size=len(data),
        content_type="image/jpeg",
        purpose=EvidencePurpose.GOODS_PHOTO,
        lat=-6.2088,
        lon=106.8456,
        captured_at=taken,
    )
    assert records[b["file_id"]].captured_at is None and records[b["file_id"]].lat is None
    hashes = await stack.pool.fetch(
        "SELECT details->>'sha256' AS sha FROM audit_log WHERE event = 'file_uploaded'"
    )
    assert [r["sha"] for r in hashes] == [a["sha256"], a["sha256"]]


async def test_files_by_id_answers_only_the_groups_own(
    stack: Stack, http: httpx.AsyncClient, group_id: str
) -> None:
    other = (await submit(http, stack, proposal(Program.PADAT_KARYA, size=10, region="3273")))["group_id"]
    mine = (await upload(http, stack.auth(Role.MENTOR), group_id, pdf("milik kami"))).json()
    theirs = (await upload(http, stack.auth(Role.MENTOR, regions=["32"]), other, pdf("milik mereka"))).json()
    found = await files_by_id(stack.pool, group_id=group_id, file_ids=[mine["file_id"], theirs["file_id"]])
    assert list(found) == [mine["file_id"]]
    async with stack.pool.acquire() as conn:
        assert list(
            await files_by_id(conn, group_id=other, file_ids=[mine["file_id"], theirs["file_id"]])
        ) == [theirs["file_id"]]
    assert await files_by_id(stack.pool, group_id=group_id, file_ids=[]) == {}


@pytest.mark.parametrize(
    ("data", "name", "why"),
    [
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "foto.gif", "a GIF"),
        (b"<html><script>alert(1)</script></html>", "kwitansi.jpg", "HTML named as a JPEG"),
        (b"PK\x03\x04\x14\x00\x00\x00", "nota.pdf", "a ZIP named as a PDF"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "foto.png", "an executable named as a PNG"),
    ],
)
async def test_a_file_that_is_not_what_it_claims_is_refused_and_not_kept(
    stack: Stack, http: httpx.AsyncClient, group_id: str, data: bytes, name: str, why: str
) -> None:
    resp = await upload(http, stack.auth(Role.MENTOR), group_id, data, name=name)
    assert resp.status_code == 422, why
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", "file"] and "not one of" in error["msg"], error
    assert await file_rows(stack) == 0
    assert hashlib.sha256(data).hexdigest() not in blobs(stack)


async def test_an_empty_file_is_refused(stack: Stack, http: httpx.AsyncClient, group_id: str) -> None:
    resp = await upload(http, stack.auth(Role.MENTOR), group_id, b"")
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "file"]
    assert await file_rows(stack) == 0


async def test_a_file_over_the_limit_is_413_naming_the_file(
    stack: Stack, http: httpx.AsyncClient, group_id: str
) -> None:
    limit = stack.settings.max_file_bytes
    too_big = pdf() + b"\x00" * (limit + 1 - len(pdf()))
    resp = await upload(http, stack.auth(Role.MENTOR), group_id, too_big)
    assert resp.status_code == 413
    assert resp.json()["detail"][0]["loc"] == ["body", "file"]
    # Far over: the body limit refuses it before it is read, and names the file too.
    resp = await upload(http, stack.auth(Role.MENTOR), group_id, too_big + b"\x00" * (1024 * 1024))
    assert resp.status_code == 413
    assert resp.json()["detail"][0]["loc"] == ["body", "file"]
    assert await file_rows(stack) == 0
    assert hashlib.sha256(too_big).hexdigest() not in blobs(stack)
    exactly = pdf() + b"\x00" * (limit - len(pdf()))
    assert (await upload(http, stack.auth(Role.MENTOR), group_id, exactly)).status_code == 201


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"purpose": "selfie"}, "purpose"),
        ({"purpose": ""}, "purpose"),
        ({"lat": "91", "lon": "106"}, "lat"),
        ({"lat": "-6.2", "lon": "-181"}, "lon"),
        ({"lat": "nan", "lon": "106"}, "lat"),
        ({"lat": "-6.2"}, "lon"),
        ({"lon": "106.8"}, "lat"),
        ({"captured_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "captured_at"),
        ({"captured_at": "2019-12-31T23:59:59+07:00"}, "captured_at"),
        ({"captured_at": "2020-11-02T09:30:00"}, "captured_at"),  # no offset: when is that?
        ({"captured_at": "kemarin"}, "captured_at"),
    ],
)
async def test_bad_form_fields_are_named_and_nothing_is_kept(
    stack: Stack, http: httpx.AsyncClient, group_id: str, form: dict[str, str], field: str
) -> None:
    data = jpeg(99)
    resp = await upload(http, stack.auth(Role.MENTOR), group_id, data, **form)
    assert resp.status_code == 422, resp.text
    assert field in [e["loc"][-1] for e in resp.json()["detail"]], resp.json()
    assert await file_rows(stack) == 0
    assert hashlib.sha256(data).hexdigest() not in blobs(stack)


async def test_a_missing_file_is_named(stack: Stack, http: httpx.AsyncClient, group_id: str) -> None:
    resp = await http.post(
        f"/groups/{group_id}/files", data={"purpose": "receipt"}, headers=stack.auth(Role.MENTOR)
    )
    assert resp.status_code == 422
    assert ["body", "file"] in [e["loc"] for e in resp.json()["detail"]]


async def test_other_regions_get_the_answer_of_an_unknown_group(
    stack: Stack, http: httpx.AsyncClient, group_id: str
) -> None:
    stored = (await upload(http, stack.auth(Role.MENTOR), group_id, png())).json()
    outsider = stack.auth([Role.MENTOR, Role.REGISTRAR, Role.VERIFIER], officer="mentor-32", regions=["32"])

    refused = await upload(http, outsider, group_id, png((1, 2, 3)))
    unknown = await upload(http, outsider, "TKM-3171-ZZZZZZZZZZ", png((1, 2, 3)))
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["detail"].replace(group_id, "X") == unknown.json()["detail"].replace(
        "TKM-3171-ZZZZZZZZZZ", "X"
    )
    assert (await http.get(f"/groups/{group_id}/files", headers=outsider)).status_code == 404

    download = await http.get(f"/files/{stored['file_id']}", headers=outsider)
    missing = await http.get("/files/F-0000000000000000000000000Z", headers=outsider)
    assert download.status_code == missing.status_code == 404
    assert download.json()["detail"].replace(stored["file_id"], "X") == missing.json()["detail"].replace(
        "F-0000000000000000000000000Z", "X"
    )
    assert await file_rows(stack) == 1

    # Each attempt is audited, all the same.
    attempts = await stack.pool.fetch(
        "SELECT details->>'action' AS action FROM audit_log"
        " WHERE event = 'request_refused' AND actor = 'mentor-32' ORDER BY id"
    )
    assert [r["action"] for r in attempts] == ["upload_file", "list_files", "download_file"]


async def test_only_registrars_mentors_and_verifiers_upload(
    stack: Stack, http: httpx.AsyncClient, group_id: str
) -> None:
    for role in (Role.FINANCE, Role.AUDITOR, Role.TRAINER, Role.SUPERVISOR):
        resp = await upload(http, stack.auth(role), group_id, jpeg(1))
        assert resp.status_code == 403, role
    for role in (Role.REGISTRAR, Role.MENTOR, Role.VERIFIER):
        resp = await upload(http, stack.auth(role), group_id, jpeg(1))
        assert resp.status_code == 201, role
    assert (await http.post(f"/groups/{group_id}/files")).status_code == 401
    assert (await http.get("/files/F-0000000000000000000000000Z")).status_code == 401
    assert (await http.get("/files/not-an-id", headers=stack.auth(Role.AUDITOR))).status_code == 422


@pytest.fixture
async def small_limits_api(stack: Stack) -> AsyncIterator[str]:
    """The API with a general body limit of 2 KB and a file limit of 8 KB, over HTTP."""
    settings = stack.settings.model_copy(update={"max_request_bytes": 2000, "max_file_bytes": 8000})
    server = ThreadedServer(create_app(settings), "api-small-limits").start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_the_upload_has_its_own_body_limit_and_every_other_route_keeps_its(
    stack: Stack, small_limits_api: str, group_id: str
) -> None:
    async with httpx.AsyncClient(base_url=small_limits_api, timeout=30) as http:
        mentor = stack.auth(Role.MENTOR)
        bigger_than_the_general_limit = pdf() + b"\x00" * 5000
        ok = await upload(http, mentor, group_id, bigger_than_the_general_limit)
        assert ok.status_code == 201, ok.text
        too_big = await upload(http, mentor, group_id, pdf() + b"\x00" * 9000)
        assert too_big.status_code == 413
        assert too_big.json()["detail"][0]["loc"] == ["body", "file"]
        far_too_big = await upload(http, mentor, group_id, pdf() + b"\x00" * 200_000)
        assert far_too_big.status_code == 413
        assert far_too_big.json()["detail"][0]["msg"] == "the file is larger than 8000 bytes"
        # Another route, the same size of body: the general limit.
        other = await http.post(
            "/groups",
            json=proposal(Program.TKM, size=10).model_dump(mode="json") | {"description": "x" * 4000},
            headers=stack.auth(Role.REGISTRAR),
        )
        assert other.status_code == 413
        assert other.json()["detail"] == "request body larger than 2000 bytes"
