"""The public status lookup (cek status bantuan) as both its doors use it: the JSON endpoint
(`api/routes/public_status.py`) and the console's `/cek-status` page. The per-client limiter, the
count of lookups by outcome (`/metrics`) and the one query (`api.queries.verification.member_status`):
an unknown group and a NIK not in it are the same None, so neither door is an oracle. Neither the NIK
nor the group id is a label or a log field in clear (the log carries the group id the member typed).
"""

from __future__ import annotations

from typing import Literal

import asyncpg
import structlog
from fastapi import HTTPException, Request, status
from prometheus_client import Counter

from api.limits import RateLimiter
from api.queries.verification import member_status

# The sign-in's definition of a client address; it moves with the sign-in helpers out of the route
# module when api/routes/auth.py does.
from api.routes.auth import client_of
from api.schemas.verification import PublicStatusOut

log = structlog.get_logger()

LOOKUPS = Counter(
    "jps_public_status_lookups_total",
    "Public status lookups answered, by outcome (found, not_found, rate_limited)",
    ["outcome"],
)
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


async def lookup(pool: asyncpg.Pool, *, group_id: str, nik: str) -> PublicStatusOut | None:
    """The member's view, or None (no such group, or the NIK is not in it); counted, logged without
    the NIK."""
    found = await member_status(pool, group_id=group_id, nik=nik)
    outcome: Outcome = "found" if found is not None else "not_found"
    LOOKUPS.labels(outcome).inc()
    log.info("public_status_lookup", group_id=group_id, outcome=outcome)
    return found
