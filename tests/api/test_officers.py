"""The officer directory and sign-in over HTTP, on the real stack: the admin's endpoints (audited,
admin only), `POST /auth/token` (tokens of the directory's version, `iss`, a capped lifetime), the
directory as the truth on every request (a deactivation, a role change), the lock after five failed
sign-ins, the per-client limiter, and the second factor of finance in production."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt

from api.deps import Services
from api.main import create_app
from infra.officers import ensure_officer, seal_totp, set_totp
from jps import totp
from jps.auth import ISSUER, MAX_TTL, mint_token
from jps.domain.roles import Role
from tests.api.conftest import JWT_SECRET, Stack

PASSWORD = "kata-sandi-yang-panjang"


async def _officer(
    stack: Stack, officer_id: str, roles: list[Role], regions: list[str] | None = None
) -> None:
    await ensure_officer(
        stack.pool, officer_id=officer_id, roles=roles, regions=regions or ["31"], password=PASSWORD
    )


async def _sign_in(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD, otp: str = ""
) -> httpx.Response:
    return await http.post("/auth/token", data={"username": username, "password": password, "otp": otp})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def _app(stack: Stack, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API with settings of this test's own (a short lock, a tight limiter, production), in process."""
    app = create_app(
        services=Services.build(stack.settings.model_copy(update=settings), stack.pool, stack.client)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        yield client


async def _audit(stack: Stack, event: str) -> list[dict[str, Any]]:
    rows = await stack.pool.fetch("SELECT * FROM audit_log WHERE event = $1 ORDER BY id", event)
    return [dict(r) for r in rows]


# ---- the admin's directory ----


async def test_admin_manages_officers_audited_and_nobody_else_may(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    admin = stack.auth(Role.ADMIN, officer="admin-1", regions=["*"])
    body = {
        "id": "verifier-jkt",
        "name": "Siti",
        "roles": ["verifier"],
        "regions": ["31"],
        "password": PASSWORD,
    }

    # another role may not, and the refusal is audited
    refused = await http.post("/officers", json=body, headers=stack.auth(Role.SUPERVISOR, regions=["*"]))
    assert refused.status_code == 403
    assert (await http.get("/officers", headers=stack.auth(Role.AUDITOR, regions=["*"]))).status_code == 403
    # and an admin alone may do nothing else
    assert (await http.get("/budget/allocations", headers=admin)).status_code == 403

    created = await http.post("/officers", json=body, headers=admin)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["roles"] == ["verifier"] and out["active"] and "password" not in out
    assert (await http.post("/officers", json=body, headers=admin)).status_code == 409
    bad = await http.post("/officers", json={**body, "id": "x2", "regions": ["3"]}, headers=admin)
    assert bad.status_code == 422
    short = await http.post("/officers", json={**body, "id": "x3", "password": "short"}, headers=admin)
    assert short.status_code == 422
    nul = await http.post("/officers", json={**body, "id": "x4", "name": "Si\x00ti"}, headers=admin)
    assert nul.status_code == 422
    assert (await http.get("/officers", params={"q": "a\x00"}, headers=admin)).status_code == 422

    listed = (await http.get("/officers", params={"q": "jkt"}, headers=admin)).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == "verifier-jkt"
    assert (await http.get("/officers/verifier-jkt", headers=admin)).json()["name"] == "Siti"
    assert (await http.get("/officers/nobody", headers=admin)).status_code == 404

    patched = await http.patch(
        "/officers/verifier-jkt",
        json={"roles": ["verifier", "trainer"], "password": PASSWORD + "2"},
        headers=admin,
    )
    assert patched.status_code == 200 and patched.json()["roles"] == ["verifier", "trainer"]
    assert (await http.patch("/officers/nobody", json={"active": False}, headers=admin)).status_code == 404

    rows = await stack.pool.fetch(
        "SELECT event, actor, details FROM audit_log WHERE event LIKE 'officer_%' ORDER BY id"
    )
    assert [(r["event"], r["actor"], r["details"]["officer"]) for r in rows] == [
        ("officer_created", "admin-1", "verifier-jkt"),
        ("officer_changed", "admin-1", "verifier-jkt"),
    ]
    assert rows[1]["details"]["password_reset"] is True
    everything = str([dict(r) for r in await stack.pool.fetch("SELECT * FROM audit_log")])
    assert PASSWORD not in everything  # never the password, nor its hash
    assert "argon2" not in everything


# ---- sign-in ----


async def test_sign_in_answers_a_short_lived_token_of_the_directory_and_is_audited(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    await _officer(stack, "verifier-in", [Role.VERIFIER])
    resp = await _sign_in(http, "verifier-in")
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["token_type"] == "bearer" and 0 < out["expires_in"] <= 12 * 3600
    claims = jwt.decode(out["access_token"], JWT_SECRET, algorithms=["HS256"], issuer=ISSUER)
    assert claims["sub"] == "verifier-in" and claims["iss"] == ISSUER and claims["ver"] == 1
    assert claims["exp"] - claims["iat"] <= 12 * 3600
    assert (await http.get("/tasks", headers=_bearer(out["access_token"]))).status_code == 200

    wrong = await _sign_in(http, "verifier-in", "not-the-password")
    assert wrong.status_code == 401
    assert (await _sign_in(http, "nul\x00name", PASSWORD)).status_code == 422
    unknown = await _sign_in(http, "nobody-at-all", PASSWORD)
    assert unknown.status_code == 401 and unknown.json() == wrong.json()  # the same answer

    signed = await _audit(stack, "sign_in")
    failed = await _audit(stack, "sign_in_failed")
    assert [r["actor"] for r in signed] == ["verifier-in"]
    assert [(r["actor"], r["details"]["reason"]) for r in failed] == [
        ("verifier-in", "wrong_password"),
        ("nobody-at-all", "unknown_or_inactive"),
    ]
    assert "not-the-password" not in str(failed) and PASSWORD not in str(signed + failed)

    # a token without `iss`, or of another issuer, is refused
    no_iss = jwt.encode(
        {"sub": "verifier-in", "roles": ["verifier"], "regions": ["31"], "exp": 4102444800, "ver": 1},
        JWT_SECRET,
    )
    assert (await http.get("/tasks", headers=_bearer(no_iss))).status_code == 401
    other = jwt.encode(
        {
            "sub": "verifier-in",
            "roles": ["verifier"],
            "regions": ["31"],
            "exp": 4102444800,
            "ver": 1,
            "iss": "x",
        },
        JWT_SECRET,
    )
    assert (await http.get("/tasks", headers=_bearer(other))).status_code == 401
    # nor one without `iat`, or living longer than the cap a minted token has (jps.auth.MAX_TTL)
    now = int(time.time())
    good = {"sub": "verifier-in", "roles": ["verifier"], "regions": ["31"], "ver": 1, "iss": ISSUER}
    no_iat = jwt.encode({**good, "exp": now + 3600}, JWT_SECRET)
    assert (await http.get("/tasks", headers=_bearer(no_iat))).status_code == 401
    too_long = jwt.encode({**good, "iat": now, "exp": now + int(MAX_TTL.total_seconds()) + 1}, JWT_SECRET)
    refused = await http.get("/tasks", headers=_bearer(too_long))
    assert refused.status_code == 401 and "lifetime" in refused.json()["detail"]
    capped = jwt.encode({**good, "iat": now, "exp": now + int(MAX_TTL.total_seconds())}, JWT_SECRET)
    assert (await http.get("/tasks", headers=_bearer(capped))).status_code == 200


# ---- the directory is the truth ----


async def test_a_deactivated_officer_is_refused_and_a_role_change_takes_effect(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    admin = stack.auth(Role.ADMIN, officer="admin-1", regions=["*"])
    await _officer(stack, "finance-x", [Role.VERIFIER], ["*"])
    token = (await _sign_in(http, "finance-x")).json()["access_token"]
    assert (await http.get("/budget/allocations", headers=_bearer(token))).status_code == 403

    # a token claiming roles the directory does not give counts for nothing
    forged = mint_token(JWT_SECRET, officer_id="finance-x", roles=[Role.FINANCE], regions=["*"])
    assert (await http.get("/budget/allocations", headers=_bearer(forged))).status_code == 403
    # nor one for an officer the directory does not know
    stranger = mint_token(JWT_SECRET, officer_id="not-in-directory", roles=[Role.AUDITOR], regions=["*"])
    assert (await http.get("/audit", headers=_bearer(stranger))).status_code == 401

    # the role change ends the old token and the new one carries it
    assert (
        await http.patch("/officers/finance-x", json={"roles": ["finance"]}, headers=admin)
    ).status_code == 200
    assert (await http.get("/budget/allocations", headers=_bearer(token))).status_code == 401
    token = (await _sign_in(http, "finance-x")).json()["access_token"]
    assert (await http.get("/budget/allocations", headers=_bearer(token))).status_code == 200

    # deactivated: every token refused, and no sign-in
    assert (await http.patch("/officers/finance-x", json={"active": False}, headers=admin)).status_code == 200
    assert (await http.get("/budget/allocations", headers=_bearer(token))).status_code == 401
    assert (await _sign_in(http, "finance-x")).status_code == 401


async def test_the_directory_cache_lets_a_deactivation_through_within_its_ttl(stack: Stack) -> None:
    await _officer(stack, "cached-1", [Role.VERIFIER])
    async with _app(stack, officer_cache_s=1.0) as client:
        token = (await _sign_in(client, "cached-1")).json()["access_token"]
        assert (await client.get("/tasks", headers=_bearer(token))).status_code == 200
        await stack.pool.execute("UPDATE officers SET active = false WHERE id = 'cached-1'")
        await asyncio.sleep(1.2)
        assert (await client.get("/tasks", headers=_bearer(token))).status_code == 401


# ---- the lock and the limiter ----


async def test_five_failures_lock_the_account_until_the_lock_time_passes(stack: Stack) -> None:
    await _officer(stack, "locked-1", [Role.VERIFIER])
    async with _app(stack, signin_lock_s=2.0) as client:
        codes = [(await _sign_in(client, "locked-1", "wrong-password")).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 401, 423]
        locked = await _sign_in(client, "locked-1")  # even the right password
        assert locked.status_code == 423 and "locked" in locked.json()["detail"]
        listed = await client.get("/officers/locked-1", headers=stack.auth(Role.ADMIN, officer="admin-1"))
        assert listed.json()["locked_until"] is not None
        until = await stack.pool.fetchval("SELECT locked_until FROM officers WHERE id = 'locked-1'")
        # attempts while locked neither count nor extend the lock
        assert {(await _sign_in(client, "locked-1", "wrong-password")).status_code for _ in range(5)} == {423}
        assert await stack.pool.fetchval("SELECT locked_until FROM officers WHERE id = 'locked-1'") == until
        await asyncio.sleep(2.1)
        assert (await _sign_in(client, "locked-1")).status_code == 200
    reasons = [r["details"]["reason"] for r in await _audit(stack, "sign_in_failed")]
    assert reasons == ["wrong_password"] * 5 + ["locked"] * 6


async def test_the_limiter_answers_429_per_client(stack: Stack) -> None:
    await _officer(stack, "limited-1", [Role.VERIFIER])
    async with _app(stack, signin_per_minute=3) as client:
        codes = [(await _sign_in(client, "limited-1")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = await _sign_in(client, "limited-1")
        assert refused.status_code == 429 and refused.headers["retry-after"]


# ---- the second factor ----

GOOD_SECRETS = {
    "env": "production",
    "jwt_secret": JWT_SECRET,
    "totp_seal_key": "a-test-totp-seal-key-of-32-bytes-or-more",
}


async def test_finance_needs_a_one_time_code_in_production(stack: Stack) -> None:
    await _officer(stack, "finance-2fa", [Role.FINANCE])
    await _officer(stack, "verifier-no2fa", [Role.VERIFIER])
    async with _app(stack, **GOOD_SECRETS) as client:
        # a verifier needs none; finance without an enrolled factor is sent to enrol
        assert (await _sign_in(client, "verifier-no2fa")).status_code == 200
        unenrolled = await _sign_in(client, "finance-2fa")
        assert unenrolled.status_code == 403 and "second factor" in unenrolled.json()["detail"]

        secret = totp.new_secret()
        sealed = seal_totp(GOOD_SECRETS["totp_seal_key"], "finance-2fa", secret)
        await set_totp(stack.pool, officer_id="finance-2fa", sealed=sealed)
        assert secret not in str(
            await stack.pool.fetchval("SELECT totp_sealed FROM officers WHERE id = 'finance-2fa'")
        )

        missing = await _sign_in(client, "finance-2fa")
        assert missing.status_code == 401 and "one-time code" in missing.json()["detail"]
        wrong_code = "000000" if totp.totp(secret) != "000000" else "111111"
        assert (await _sign_in(client, "finance-2fa", otp=wrong_code)).status_code == 401
        good = await _sign_in(client, "finance-2fa", otp=totp.totp(secret))
        assert good.status_code == 200, good.text
        token = good.json()["access_token"]
        assert (await client.get("/budget/allocations", headers=_bearer(token))).status_code == 200

        # a lost phone: the admin clears the factor; the old token ends, the officer enrols again
        admin = stack.auth(Role.ADMIN, officer="admin-1", regions=["*"])
        cleared = await client.patch(
            "/officers/finance-2fa", json={"clear_second_factor": True}, headers=admin
        )
        assert cleared.status_code == 200 and cleared.json()["second_factor"] is False
        assert (await client.get("/budget/allocations", headers=_bearer(token))).status_code == 401
        assert (await _sign_in(client, "finance-2fa", otp=totp.totp(secret))).status_code == 403
    reasons = [
        r["details"]["reason"] for r in await _audit(stack, "sign_in_failed") if r["actor"] == "finance-2fa"
    ]
    assert reasons == ["wrong_otp"]


def test_totp_matches_rfc_6238() -> None:
    """RFC 6238's SHA-1 test vectors (their eight digits cut to our six)."""
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    for at, code in [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ]:
        assert totp.totp(secret, at) == code[-6:]
        assert totp.verify(secret, code[-6:], at)


# ---- the command line ----


async def test_jps_officer_manages_the_directory_and_jps_token_refuses_strangers(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    from tests.api.test_seed_and_reports import run_cli

    code, out = await run_cli(
        stack,
        "officer",
        "add",
        "admin-cli",
        "--name",
        "Admin Satu",
        "--role",
        "admin",
        "--region",
        "*",
        "--no-password",
    )
    assert code == 0 and "admin-cli" in out, out
    code, out = await run_cli(
        stack,
        "officer",
        "add",
        "admin-cli",
        "--name",
        "X",
        "--role",
        "admin",
        "--region",
        "*",
        "--no-password",
    )
    assert code == 1 and "exists" in out, out

    code, out = await run_cli(stack, "token", "--officer", "admin-cli")
    assert code == 0, out
    token = out.strip().splitlines()[-1]
    listed = await http.get("/officers", headers=_bearer(token))
    assert listed.status_code == 200 and "admin-cli" in {o["id"] for o in listed.json()["items"]}

    code, out = await run_cli(stack, "officer", "set", "admin-cli", "--role", "admin", "--role", "auditor")
    assert code == 0 and "admin,auditor" in out, out
    assert (await http.get("/officers", headers=_bearer(token))).status_code == 401  # the version moved on
    code, out = await run_cli(stack, "officer", "list")
    assert code == 0 and "admin-cli" in out and "Admin Satu" in out, out

    code, out = await run_cli(stack, "officer", "deactivate", "admin-cli")
    assert code == 0 and "inactive" in out, out
    code, out = await run_cli(stack, "token", "--officer", "admin-cli")
    assert code == 1 and "not an active officer" in out, out
    code, out = await run_cli(stack, "token", "--officer", "nobody-here")
    assert code == 1, out

    rows = await stack.pool.fetch(
        "SELECT event, actor FROM audit_log WHERE event LIKE 'officer_%' ORDER BY id"
    )
    assert [r["event"] for r in rows] == ["officer_created", "officer_changed", "officer_deactivated"]
    assert all(r["actor"].startswith("cli:") for r in rows)


# ---- an admin alone manages officers and reads nothing else ----

# GET operations of the OpenAPI document an admin-only officer may call: the directory's own, and
# the public ones that ask for no officer at all (no `security` in the document).
ADMIN_ONLY_ALLOWED = {"/officers", "/officers/{officer_id}"}
PUBLIC_GETS = {"/health", "/public/status", "/metrics"}

# A well-formed value for each path parameter of a GET route: the refusal must be the officer's, not
# a 404 or a 422 of the id.
PATH_VALUES = {
    "group_id": "TKM-3171-AB12CD34EF",
    "job_id": "job-1",
    "file_id": "F-01HZZZZZZZZZZZZZZZZZZZZZZZ",
    "officer_id": "admin-only-api",
    "grievance_id": "GRV-ABCDEFGHIJ",
}


def _get_paths() -> list[tuple[str, bool]]:
    """Every GET operation of the API's OpenAPI document, and whether it asks for a bearer token."""
    doc = create_app().openapi()
    return [(path, bool(ops["get"].get("security"))) for path, ops in doc["paths"].items() if "get" in ops]


async def test_an_admin_only_officer_may_manage_officers_and_read_nothing_else(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """Issue 11: `admin` manages officers and does nothing else unless also given other roles. A
    national admin-only officer is refused (403, audited) on every GET route of the OpenAPI document
    but the directory's own, and on a step; an admin who is also an auditor reads as an auditor."""
    await _officer(stack, "admin-only-api", [Role.ADMIN], ["*"])
    token = (await _sign_in(http, "admin-only-api")).json()["access_token"]
    paths = _get_paths()
    assert {p for p, secured in paths if not secured} == PUBLIC_GETS  # every other GET needs an officer
    refused, allowed = [], []
    for template, secured in paths:
        url = template.format(**PATH_VALUES)
        resp = await http.get(url, headers=_bearer(token))
        if template in ADMIN_ONLY_ALLOWED or not secured:
            allowed.append((template, resp.status_code))
            assert resp.status_code != 403, (template, resp.text)
        else:
            refused.append(template)
            assert resp.status_code == 403, (template, resp.status_code, resp.text[:300])
            assert "manages officers only" in resp.json()["detail"], template
    assert len(refused) >= 25, refused
    assert ("/officers", 200) in allowed and ("/officers/{officer_id}", 200) in allowed
    # a step too, before its body is looked at
    step = await http.post("/groups", json={}, headers=_bearer(token))
    assert step.status_code == 403, step.text
    rows = await stack.pool.fetch(
        "SELECT event, details FROM audit_log WHERE actor = 'admin-only-api' AND event = 'request_refused'"
    )
    assert sorted(r["details"]["route"] for r in rows) == sorted([*refused, "/groups"])

    # an admin who is also an auditor reads as an auditor
    await _officer(stack, "admin-auditor", [Role.ADMIN, Role.AUDITOR], ["*"])
    both = (await _sign_in(http, "admin-auditor")).json()["access_token"]
    assert (await http.get("/groups", headers=_bearer(both))).status_code == 200
    assert (await http.get("/reports/summary", headers=_bearer(both))).status_code == 200
    assert (await http.get("/officers", headers=_bearer(both))).status_code == 200
