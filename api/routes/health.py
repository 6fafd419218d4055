"""Liveness of the API and of what it stands on: PostgreSQL and Temporal, each reported on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response, status

from api.deps import PoolDep
from api.errors import responses
from api.queries import health as queries_health
from api.schemas import HealthOut

router = APIRouter(tags=["health"])

_PROBE_TIMEOUT_S = 3.0


@router.get(
    "/health",
    response_model=HealthOut,
    summary="Liveness of API, PostgreSQL and Temporal (200 only when all are up)",
    responses=responses(503),
)
async def health(request: Request, response: Response, pool: PoolDep) -> HealthOut:
    async def postgres() -> str:
        await queries_health.ping(pool)
        return "up"

    async def temporal() -> str:
        client = await request.app.state.services.temporal.get()
        ok = await client.service_client.check_health()
        return "up" if ok else "down: not serving"

    async def probe(check: Coroutine[Any, Any, str]) -> str:
        try:
            return await asyncio.wait_for(check, _PROBE_TIMEOUT_S)
        except Exception as exc:  # any failure of a probe is an answer, not an error
            return f"down: {type(exc).__name__}: {exc}"[:200]

    pg, tp = await asyncio.gather(probe(postgres()), probe(temporal()))
    healthy = pg == "up" and tp == "up"
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthOut(status="ok" if healthy else "degraded", api="up", postgres=pg, temporal=tp)
