"""What the grievance routes and the console's grievance pages both do: file a case (public, walk-in),
take a complainant's step, take an officer's step, and the public forms' rate limit. One path each,
so the page and the JSON API refuse alike. Everything reaches the case through
`infra.grievances` (a Temporal update); nothing here writes the read model."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import HTTPException, Request, status
from temporalio.client import Client

from api.deps import Services, authorize
from api.errors import http_error, refused
from api.limits import RateLimiter
from api.queries import grievances as queries
from api.queries.groups import group_place
from api.schemas.grievances import ACTION_BODIES, ComplainantIn, GrievanceIn, GrievanceRefOut
from infra.grievances import file_grievance, grievance_step
from infra.lifecycle import Refusal
from jps.contracts import grievances as contracts
from jps.contracts.names import GRIEVANCE_COMPLAINANT_REOPEN_UPDATE, GRIEVANCE_PROVIDE_INFO_UPDATE
from jps.domain.grievances import (
    GRIEVANCE_ACTIONS,
    GrievancePolicy,
    load_grievance_policy,
    mask_phone,
    phone_digest,
)
from jps.domain.models import Officer
from jps.domain.roles import OFFICER_ROLES, Role, region_in_scope

log = structlog.get_logger()

# Who reads grievances (the API's list and detail, the console's pages): every officer role and auditors.
READERS = (*sorted(OFFICER_ROLES), Role.AUDITOR)

_STEP_ARGS: dict[str, type[Any]] = {
    "acknowledge": contracts.AcknowledgeArgs,
    "request-info": contracts.RequestInfoArgs,
    "resolve": contracts.ResolveArgs,
    "reopen": contracts.ReopenArgs,
}
assert set(_STEP_ARGS) == set(GRIEVANCE_ACTIONS) == set(ACTION_BODIES)


def policy_of(services: Services) -> GrievancePolicy:
    return load_grievance_policy(services.settings.grievance_policy_file)


def public_limiter(request: Request) -> RateLimiter:
    """The public forms' limiter (sign-in's `RateLimiter`, its own instance): per client address,
    `JPS_PUBLIC_PER_MINUTE` requests a minute."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "grievance_limiter", None)
    if limiter is None:
        services: Services = state.services
        limiter = state.grievance_limiter = RateLimiter(services.settings.public_per_minute)
    return limiter


def admit_public(request: Request) -> None:
    """429 past the limit, before the body is even read."""
    client = request.client.host if request.client else "unknown"
    limiter = public_limiter(request)
    if not limiter.admit(client):
        log.warning("public_rate_limited", client=client, path=request.url.path)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many requests; wait a minute",
            headers={"Retry-After": str(limiter.retry_after(client))},
        )


def admit_phone(request: Request, phone: str) -> None:
    """429 past `JPS_PUBLIC_PER_PHONE_PER_HOUR` public filings for this phone number (each sends it an
    SMS), whichever clients file them; the number is counted by its keyed hash, never kept."""
    state = request.app.state
    services: Services = state.services
    limiter: RateLimiter | None = getattr(state, "grievance_phone_limiter", None)
    if limiter is None:
        per_hour = services.settings.public_per_phone_per_hour
        limiter = state.grievance_phone_limiter = RateLimiter(per_hour, window_s=3600.0)
    key = phone_digest(phone, services.settings.phone_hash_key)
    if not limiter.admit(key):
        log.warning("public_phone_rate_limited", phone=mask_phone(phone), path=request.url.path)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many grievances for this phone number; wait an hour",
            headers={"Retry-After": str(limiter.retry_after(key))},
        )


async def file_public(services: Services, client: Client, body: GrievanceIn) -> GrievanceRefOut:
    """A member's own grievance. The answer is the same whether or not the NIK or group exist."""
    ref = await file_grievance(
        client,
        nik=body.nik,
        phone=body.phone,
        group_id=body.group_id,
        category=body.category,
        text=body.text,
        channel="web",
        about_officer=body.about_officer,
        task_queue=services.settings.temporal_task_queue,
        policy=policy_of(services),
    )
    log.info("grievance_filed", grievance_id=ref.grievance_id, channel="web", phone=mask_phone(body.phone))
    return GrievanceRefOut.model_validate(ref.model_dump())


async def file_walk_in(
    services: Services, client: Client, officer: Officer, body: GrievanceIn, *, request_id: str | None = None
) -> GrievanceRefOut:
    """An officer files for someone at the office: an officer role, and the case's region (the named
    group's, else the NIK's regency) in the officer's scope."""
    authorize(officer, roles=sorted(OFFICER_ROLES), what="filing a grievance")
    place = await group_place(services.pool, group_id=body.group_id) if body.group_id else None
    region = place.region_code if place is not None else body.nik[:4]
    if not region_in_scope(region, officer.regions):
        raise await refused(
            services.pool,
            HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"region {region} is outside the officer's scope"
            ),
            officer=officer,
            group_id=body.group_id,
            stage=None,
            action="file_grievance",
        )
    ref = await file_grievance(
        client,
        nik=body.nik,
        phone=body.phone,
        group_id=body.group_id,
        category=body.category,
        text=body.text,
        channel="walk_in",
        about_officer=body.about_officer,
        filed_by=officer.id,
        request_id=request_id,
        task_queue=services.settings.temporal_task_queue,
        policy=policy_of(services),
    )
    return GrievanceRefOut.model_validate(ref.model_dump())


async def complainant_step(
    client: Client, grievance_id: str, body: ComplainantIn, *, reopen: bool
) -> GrievanceRefOut:
    """The complainant answers or reopens on the public page, proven by the NIK: an unknown case and a
    NIK that is not the complainant's answer the same 404."""
    args = contracts.ComplainantArgs(via="web", nik=body.nik, text=body.text)
    update = GRIEVANCE_COMPLAINANT_REOPEN_UPDATE if reopen else GRIEVANCE_PROVIDE_INFO_UPDATE
    try:
        ref = await grievance_step(client, grievance_id, update, args)
    except Refusal as refusal:
        raise http_error(refusal) from None
    return GrievanceRefOut.model_validate(ref.model_dump())


async def officer_step(
    services: Services, client: Client, officer: Officer, grievance_id: str, action: str, body: Any
) -> GrievanceRefOut:
    """An officer's step: 404 for a case the officer may not see (outside the regions, or about the
    officer), then the workflow's validator decides (403, 409, 422)."""
    case = await queries.get_grievance(services.pool, grievance_id=grievance_id, officer=officer)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such grievance")
    args = _STEP_ARGS[action].model_validate({**body.model_dump(), "officer": officer})
    try:
        ref = await grievance_step(client, grievance_id, GRIEVANCE_ACTIONS[action].update_name, args)
    except Refusal as refusal:
        raise await refused(
            services.pool,
            http_error(refusal),
            officer=officer,
            group_id=case.group_id,
            stage=case.status.value,
            action=f"grievance_{action}",
        ) from None
    return GrievanceRefOut.model_validate(ref.model_dump())
