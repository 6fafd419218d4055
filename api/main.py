"""The API application: assembles the routers, the metrics middleware and the shared services.

`uvicorn api.main:app` serves it (the local stack does). Tests build their own with `create_app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import console, openapi, verification_reply
from api.console.lpj import lpj_form_limit
from api.console.roll_form import roll_form_limit
from api.deps import Services
from api.errors import http_exception_handler, validation_error_handler
from api.limits import BodyLimitMiddleware
from api.routes import (
    audit,
    auth,
    budget,
    codec,
    files,
    grievances,
    groups,
    health,
    imports,
    inbound,
    metrics,
    officers,
    payments,
    public_status,
    reconciliation,
    reports,
    tasks,
    verification,
    wages,
)
from api.routes.metrics import MetricsMiddleware
from api.url_guard import NulGuardMiddleware
from infra.db import create_pool
from infra.payload_keys import load_payload_keys
from jps.ast_lock import serialize_ast_conversion
from jps.logging import configure_logging
from jps.sealing import PayloadKeyError
from jps.settings import (
    AUDIT_ANCHOR_KEY,
    BANK_HMAC_SECRET,
    JWT_SECRET,
    PAYLOAD_KEYS,
    PHONE_HASH_KEY,
    SMS_HMAC_SECRET,
    TOTP_SEAL_KEY,
    SecretsError,
    Settings,
    check_production_secrets,
    get_settings,
)

log = structlog.get_logger()

DESCRIPTION = """
JPS Flow: the officers' API for the Jaring Pengaman Sosial groups of Kemnaker (TKM and Padat Karya).

Every endpoint but `/health`, `/metrics`, `/auth/token` and the bank's `/payments/callback` needs
`Authorization: Bearer <token>`: sign in with `POST /auth/token` (username, password, and a one-time
code where a second factor is required), or `jps token --officer ID` for an officer in the directory.
Missing or bad token, unknown or inactive officer: 401; role or region not allowed: 403; step not
allowed in the group's current stage: 409; invalid body: 422 with `detail` naming the field. NIKs are
masked in every answer.
"""

TAGS = [
    {"name": "groups", "description": "Submit, list and read groups (kelompok); their timeline"},
    {"name": "actions", "description": "Officers' steps: one workflow update each, singly or in bulk"},
    {"name": "imports", "description": "CSV / XLSX upload of many proposals"},
    {"name": "files", "description": "Evidence files (bukti): receipts and photos, stored by their hash"},
    {"name": "tasks", "description": "The inbox: open tasks for my roles and regions"},
    {"name": "reports", "description": "Figures per programme and stage"},
    {"name": "budget", "description": "Allocations per programme and region; disbursement freezes"},
    {"name": "reconciliation", "description": "Mismatches between our payments and the bank's statement"},
    {"name": "audit", "description": "The hash-chained audit log"},
    {"name": "auth", "description": "Sign-in: a short-lived bearer token for an officer in the directory"},
    {"name": "officers", "description": "The officer directory (admin)"},
    {"name": "payments", "description": "The bank gateway's signed callbacks"},
    {"name": "grievances", "description": "Grievances (pengaduan): the public forms and the officers' cases"},
    {"name": "inbound", "description": "The notification gateway's signed inbound SMS"},
    {"name": "public", "description": "For members, no sign-in (rate-limited): the status of their group"},
    {"name": "health", "description": "Liveness"},
    {"name": "metrics", "description": "Prometheus"},
]


# The API verifies tokens and bank callbacks, opens sealed payloads, appends to the audit chain and
# seals officers' second factors.
# The inbound SMS key too: with the published default anyone could sign a member's "YA" or a grievance.
API_SECRETS = (
    JWT_SECRET,
    BANK_HMAC_SECRET,
    PAYLOAD_KEYS,
    AUDIT_ANCHOR_KEY,
    TOTP_SEAL_KEY,
    SMS_HMAC_SECRET,
    PHONE_HASH_KEY,
)


def refuse_without_secrets(settings: Settings) -> None:
    """In production, stop the start-up (uvicorn exits non-zero) when a secret is missing or weak; the
    payload keys are loaded now, so a bad key file stops it too."""
    try:
        check_production_secrets(settings, uses=API_SECRETS)
        if settings.production:
            load_payload_keys(settings)
    except (SecretsError, PayloadKeyError) as err:
        log.error("api_refused", error=str(err))
        raise SecretsError(str(err)) from None


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """An app that builds its pool and Temporal connection at start-up from `settings`, or uses the
    `services` handed in (tests that share the test's pool and client)."""
    cfg = services.settings if services else (settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            yield
            return
        serialize_ast_conversion()  # threads that format tracebacks at once (jps/ast_lock.py)
        configure_logging(json=cfg.production, level=cfg.log_level, process="api")
        refuse_without_secrets(cfg)
        dsn = cfg.database_url
        if not dsn:  # started by hand, outside the stack: join the embedded PostgreSQL
            from infra.embedded import start_postgres

            dsn = start_postgres(cfg.data_dir / "pg")
        pool = await create_pool(dsn, min_size=cfg.db_pool_min, max_size=cfg.db_pool_max)
        app.state.services = Services.build(cfg, pool)
        try:
            yield
        finally:
            await imports.JOBS.shutdown()
            await pool.close()

    app = FastAPI(
        title="JPS Flow API",
        version="1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.add_middleware(MetricsMiddleware)
    # Every route's body limit, but the evidence uploads' own: the API's (the file limit and its form)
    # the console's LPJ form (a receipt and a photo per row) and muster roll form (photos per day).
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=cfg.max_request_bytes,
        routes=[files.upload_limit(cfg), lpj_form_limit(cfg), roll_form_limit(cfg)],
    )
    app.add_middleware(NulGuardMiddleware)  # a NUL in the URL: 422 before any route (api/url_guard.py)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)  # every 403 audited
    for module in (
        health,
        imports,
        groups,
        files,
        tasks,
        reports,
        budget,
        reconciliation,
        audit,
        codec,
        auth,
        officers,
        payments,
        wages,
        public_status,
        verification,
        grievances,
        inbound,
        metrics,
    ):
        app.include_router(module.router)
    app.include_router(console.router)  # the officers' web console at / (api/console)
    verification_reply.register()  # a YA / TIDAK from a member asked after a payment (POST /inbound/sms)
    openapi.install(app)
    return app


app = create_app()
