"""Prometheus metrics of the API: request counts and latencies by route template, method and status,
and the running workflows Temporal reports stuck (`jps_workflows_task_failing`, counted at each scrape;
alert when it is above 0: `jps stuck-workflows` names them).

The worker exports the Temporal SDK's own metrics on its port (`JPS_WORKER_METRICS_PORT`).
"""

from __future__ import annotations

import asyncio
import time

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.temporal import count_task_problems

log = structlog.get_logger()
router = APIRouter(tags=["metrics"])
_COUNT_TIMEOUT_S = 3.0

REQUESTS = Counter("jps_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "jps_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_FAILING = Gauge(
    "jps_workflows_task_failing",
    "Running workflows whose workflow task failed or timed out twice in a row (Temporal's "
    "TemporalReportedProblems); -1 when Temporal could not be asked",
)


# Any other method token a client makes up is counted as OTHER: one series each would grow without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Counts every request under its route template (`/groups/{group_id}`), never the raw path, so
    a million group ids make one series, not a million (and a made-up method is OTHER)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            labels = (method, template, str(status_code))
            REQUESTS.labels(*labels).inc()
            LATENCY.labels(*labels).observe(time.perf_counter() - started)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"example": "jps_http_requests_total{...} 1.0"}}}},
)
async def metrics(request: Request) -> Response:
    try:
        client = await request.app.state.services.temporal.get()
        TASK_FAILING.set(await asyncio.wait_for(count_task_problems(client), _COUNT_TIMEOUT_S))
    except Exception as exc:  # a scrape still answers: the gauge says Temporal was not asked
        log.warning("stuck_workflows_not_counted", error=f"{type(exc).__name__}: {exc}"[:300])
        TASK_FAILING.set(-1)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
