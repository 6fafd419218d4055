"""Liveness of the API and of what it stands on: PostgreSQL and Temporal, each reported on its own as
`up` or `down`. Anyone may ask, so the answer says nothing more: why a part is down (an exception's
text names hosts, ports, sockets) goes to the log only."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Request, Response, status

from api.deps import PoolDep
from api.errors import responses
from api.queries import health as queries_health
from api.schemas import HealthOut

log = structlog.get_logger()

router = APIRouter(tags=["health"])

_PROBE_TIMEOUT_S = 3.0


@router.get(
    "/health",
    response_model=HealthOut,
    summary="Liveness of API, PostgreSQL and Temporal (200 only when all are up)",
    responses=responses(503),
)
async def health(request: Request, response: Response, pool: PoolDep) -> HealthOut:
    async def postgres() -> None:
        await queries_health.ping(pool)

    async def temporal() -> None:
        client = await request.app.state.services.temporal.get()
        if not await client.service_client.check_health():
            raise RuntimeError("not serving")

    async def probe(part: str, check: Coroutine[Any, Any, None]) -> Literal["up", "down"]:
        try:
            await asyncio.wait_for(check, _PROBE_TIMEOUT_S)
        except Exception as exc:  # any failure of a probe is an answer, not an error
            log.warning("health_probe_down", part=part, error=f"{type(exc).__name__}: {exc}"[:500])
            return "down"
        return "up"

    pg, tp = await asyncio.gather(probe("postgres", postgres()), probe("temporal", temporal()))
    healthy = pg == "up" and tp == "up"
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthOut(status="ok" if healthy else "degraded", api="up", postgres=pg, temporal=tp)
