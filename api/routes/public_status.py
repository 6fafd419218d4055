"""The public status lookup (cek status bantuan): `GET /public/status?group_id=…&nik=…`, no sign-in.

A member sees their group's programme, stage and next step in plain words, and their payments (TKM:
the group's transfer; Padat Karya: their own wages), accounts masked, nothing about other members.
An unknown group and a NIK not in it answer the same 404, from the same single query (no oracle).
Each client address gets `JPS_PUBLIC_STATUS_PER_MINUTE` lookups a minute (`api.limits.RateLimiter`,
the sign-in's limiter), then 429. Lookups are counted by outcome in `/metrics`; neither the NIK nor
the group id is a label or a log field in clear (the log carries the group id the member typed).
"""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from prometheus_client import Counter

from api.deps import PoolDep
from api.errors import responses
from api.limits import RateLimiter
from api.queries.verification import member_status
from api.routes.auth import client_of
from api.schemas.verification import PublicStatusOut

log = structlog.get_logger()
router = APIRouter(prefix="/public", tags=["public"])

LOOKUPS = Counter(
    "jps_public_status_lookups_total",
    "Public status lookups answered, by outcome (found, not_found, rate_limited)",
    ["outcome"],
)
NOT_FOUND_DETAIL = "group not found, or this NIK is not a member of it"
GROUP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
NIK_PATTERN = r"^[0-9]{16}$"
Outcome = Literal["found", "not_found", "rate_limited"]


def status_limiter(request: Request) -> RateLimiter:
    """The app's limiter for status lookups (the JSON endpoint and the public page share it)."""
    limiter: RateLimiter | None = getattr(request.app.state, "public_status_limiter", None)
    if limiter is None:
        limiter = RateLimiter(request.app.state.services.settings.public_status_per_minute)
        request.app.state.public_status_limiter = limiter
    return limiter


def admit_lookup(request: Request) -> None:
    """429 past the client's lookups a minute, before anything else is looked at."""
    limiter = status_limiter(request)
    client = client_of(request)
    if not limiter.admit(client):
        LOOKUPS.labels("rate_limited").inc()
        log.warning("public_status_rate_limited", client=client)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many status lookups; wait a minute",
            headers={"Retry-After": str(limiter.retry_after(client))},
        )


async def lookup(pool: PoolDep, *, group_id: str, nik: str) -> PublicStatusOut | None:
    """The member's view, or None (no such group, or the NIK is not in it); counted, logged without
    the NIK. The console's page calls this too."""
    found = await member_status(pool, group_id=group_id, nik=nik)
    outcome: Outcome = "found" if found is not None else "not_found"
    LOOKUPS.labels(outcome).inc()
    log.info("public_status_lookup", group_id=group_id, outcome=outcome)
    return found


@router.get(
    "/status",
    response_model=PublicStatusOut,
    summary="A member's view of their group (no sign-in; rate-limited)",
    description=(
        "The programme, the stage (its code and plain words in Bahasa Indonesia), the next step and when "
        "it is due, and the payments (amount, status, date paid, account masked): TKM, the group's "
        "transfer; Padat Karya, the member's own wages. An unknown group and a NIK not in the group get "
        "the same 404. Limited per client address (`JPS_PUBLIC_STATUS_PER_MINUTE` a minute): 429."
    ),
    responses=responses(404, 422, 429),
    dependencies=[Depends(admit_lookup)],
)
async def public_status(
    pool: PoolDep,
    group_id: Annotated[str, Query(pattern=GROUP_ID_PATTERN, description="The group's id (ID kelompok)")],
    nik: Annotated[str, Query(pattern=NIK_PATTERN, description="The member's own NIK, 16 digits")],
) -> PublicStatusOut:
    found = await lookup(pool, group_id=group_id, nik=nik)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND_DETAIL)
    return found
