"""Sign-in: `POST /auth/token`, OAuth2's password form (`username`, `password`, and `otp` where a
second factor is enrolled or required) answering a short-lived token. The console's sign-in page
calls the same `sign_in`.

In order: a client past `JPS_SIGNIN_PER_MINUTE` attempts a minute gets 429 (`api.limits.RateLimiter`);
an account locked by `JPS_SIGNIN_MAX_FAILURES` failures gets 423 until `JPS_SIGNIN_LOCK_S` passes; an
unknown or inactive officer or a wrong password 401 (the same answer, the same argon2 cost); a
finance or supervisor officer in production without an enrolled second factor 403, with a missing or
wrong one-time code 401. Every attempt but a rate-limited one is audited (`sign_in`,
`sign_in_failed` with the reason), never the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Form, HTTPException, Request

from api.deps import Services, ServicesDep
from api.errors import responses
from api.schemas import SignInForm, TokenOut
from infra.officers import OfficerRecord, get_record, open_totp, record_sign_in, verify_password
from jps import totp
from jps.auth import mint_token
from jps.domain.roles import Role

log = structlog.get_logger()
router = APIRouter(prefix="/auth", tags=["auth"])

SECOND_FACTOR_ROLES = frozenset({Role.FINANCE, Role.SUPERVISOR})


def second_factor_required(services: Services, record: OfficerRecord) -> bool:
    """Enrolled, or required: finance and supervisor officers in production."""
    return record.totp_sealed is not None or (
        services.settings.production and bool(SECOND_FACTOR_ROLES & set(record.roles))
    )


@dataclass(frozen=True)
class SignInRefused(Exception):
    status_code: int
    detail: str
    reason: str  # the audit's word for it
    enrol: OfficerRecord | None = None  # 403: the password was right, a second factor is missing

    def http(self) -> HTTPException:
        headers = {"WWW-Authenticate": "Bearer"} if self.status_code == 401 else None
        if self.status_code == 429:
            headers = {"Retry-After": "60"}
        return HTTPException(self.status_code, detail=self.detail, headers=headers)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def check_password(services: Services, username: str, password: str, client: str) -> OfficerRecord:
    """The officer whose password this is, or `SignInRefused` (429, 423 or 401), failures counted."""
    settings = services.settings
    if not services.sign_in_limiter.admit(client):
        log.warning("sign_in_rate_limited", client=client)
        raise SignInRefused(429, "too many sign-in attempts; wait a minute", "rate_limited")
    record = await get_record(services.pool, username)

    async def fail(reason: str, status_code: int = 401, detail: str = "wrong username or password") -> None:
        await record_sign_in(
            services.pool,
            counted=reason != "locked",
            officer_id=username,
            ok=False,
            reason=reason,
            client=client,
            max_failures=settings.signin_max_failures,
            lock_s=settings.signin_lock_s,
        )
        raise SignInRefused(status_code, detail, reason)

    now = datetime.now(UTC)
    if record is not None and record.locked_until is not None and record.locked_until > now:
        await fail("locked", 423, f"account locked until {record.locked_until.isoformat(timespec='seconds')}")
    good = verify_password(record.password_hash if record else None, password)  # argon2 either way
    if record is None or not record.active:
        await fail("unknown_or_inactive")
    assert record is not None
    if not good:
        if record.failed_attempts + 1 >= settings.signin_max_failures:
            await fail("wrong_password", 423, "too many failed sign-ins: account locked")
        await fail("wrong_password")
    return record


async def check_second_factor(services: Services, record: OfficerRecord, otp: str, client: str) -> None:
    if not second_factor_required(services, record):
        return
    settings = services.settings
    if record.totp_sealed is None:
        raise SignInRefused(
            403,
            "a second factor is required: enrol one on the console's sign-in page",
            "no_second_factor",
            record,
        )
    secret = open_totp(settings.totp_seal_key, record.id, record.totp_sealed)
    if not otp:
        raise SignInRefused(401, "one-time code required", "otp_missing")
    if secret is None or not totp.verify(secret, otp):
        await record_sign_in(
            services.pool,
            officer_id=record.id,
            ok=False,
            reason="wrong_otp",
            client=client,
            max_failures=settings.signin_max_failures,
            lock_s=settings.signin_lock_s,
        )
        raise SignInRefused(401, "wrong one-time code", "wrong_otp")


async def issue_token(services: Services, record: OfficerRecord, client: str) -> TokenOut:
    settings = services.settings
    await record_sign_in(
        services.pool,
        officer_id=record.id,
        ok=True,
        reason="",
        client=client,
        max_failures=settings.signin_max_failures,
        lock_s=settings.signin_lock_s,
    )
    ttl = timedelta(hours=settings.jwt_ttl_hours)
    token = mint_token(
        settings.jwt_secret,
        officer_id=record.id,
        roles=record.roles,
        regions=record.regions,
        name=record.name,
        ttl=ttl,
        version=record.token_version,
    )
    log.info("signed_in", officer=record.id, client=client)
    return TokenOut(access_token=token, expires_in=int(ttl.total_seconds()))


async def sign_in(services: Services, *, username: str, password: str, otp: str, client: str) -> TokenOut:
    record = await check_password(services, username, password, client)
    await check_second_factor(services, record, otp, client)
    return await issue_token(services, record, client)


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Sign in: OAuth2 password form (username, password, otp) → a short-lived bearer token",
    responses=responses(401, 403, 422, 423, 429),
)
async def token(request: Request, services: ServicesDep, form: Annotated[SignInForm, Form()]) -> TokenOut:
    try:
        return await sign_in(
            services, username=form.username, password=form.password, otp=form.otp, client=client_of(request)
        )
    except SignInRefused as refused:
        raise refused.http() from None
