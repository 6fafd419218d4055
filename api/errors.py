"""Errors the API answers, in one place: refusals to HTTP statuses, OpenAPI declarations, and the
audit record of refused attempts (auditors want to see who tried what and was turned away).

Every 403 the API answers is audited: those of group actions by `refused` (with the group, its stage
and the action), every other one by `http_exception_handler` (the route and the officer), so a 403 a
new route raises is audited without a line of its own. Per officer at most `REFUSALS_PER_MINUTE` rows
a minute: a flood of refusals must not fill the log; the next row counts those left out."""

from __future__ import annotations

import math
import re
import time
from typing import Any

import asyncpg
import structlog
from fastapi import HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler as fastapi_http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import ErrorOut
from infra.audit import append_officer_audit
from infra.lifecycle import Refusal
from jps.contracts.refusals import RefusalKind
from jps.domain.grievances import mask_phone
from jps.domain.models import Officer
from jps.domain.nik import mask_niks_in

log = structlog.get_logger()

REFUSAL_STATUS: dict[str, int] = {
    RefusalKind.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    RefusalKind.WRONG_STAGE: status.HTTP_409_CONFLICT,
    RefusalKind.NIK_CONFLICT: status.HTTP_409_CONFLICT,
    RefusalKind.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    RefusalKind.INVALID: status.HTTP_422_UNPROCESSABLE_CONTENT,
    RefusalKind.IDEMPOTENCY_MISMATCH: status.HTTP_422_UNPROCESSABLE_CONTENT,
}

# Refusals an auditor should see: someone tried a step they may not take, or at the wrong time.
AUDITED_STATUSES = frozenset({status.HTTP_403_FORBIDDEN, status.HTTP_409_CONFLICT})

_DESCRIPTIONS: dict[int, str] = {
    401: "Missing, expired or badly signed bearer token",
    403: "The officer's roles or region scope do not allow this",
    404: "No such group (or resource)",
    409: "Not allowed in the group's current stage, or a NIK already in another active group",
    413: "The request body, or the file in it, is larger than allowed: `detail` names the field",
    422: "Invalid body: `detail` names the field and the reason",
    423: "The account is locked after too many failed sign-ins",
    429: "Too many requests from this client; try again later",
    503: "A backing service (PostgreSQL, Temporal or the file store) is unavailable",
}
_EXAMPLES: dict[int, Any] = {
    401: "Not authenticated",
    403: "role verifier required for verify",
    404: "no such group",
    409: "stage is training; verify is allowed in verification only",
    413: [{"loc": ["body", "file"], "msg": "the file is larger than 10485760 bytes", "type": "too_large"}],
    422: [{"loc": ["body", "requested_amount"], "msg": "above the programme ceiling", "type": "policy"}],
    423: "too many failed sign-ins: account locked",
    429: "too many sign-in attempts; wait a minute",
    503: "temporal unavailable",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error statuses a route can answer."""
    return {
        code: {
            "model": ErrorOut,
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"example": {"detail": _EXAMPLES[code]}}},
        }
        for code in codes
    }


AUTHED = (401, 403)


def field_error(field: str, reason: str, kind: str = "value_error") -> list[dict[str, Any]]:
    """A 422 `detail` in FastAPI's own shape, naming the field: `lines[2].file_id` (or
    `lines.2.file_id`) becomes the location `["body", "lines", 2, "file_id"]`, as pydantic says it."""
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in _FIELD_PARTS.findall(field)]
    return [{"loc": ["body", *parts], "msg": reason, "type": kind}]


_FIELD_PARTS = re.compile(r"[^.\[\]]+")


def unprocessable(errors: list[tuple[str, str]], kind: str = "policy") -> HTTPException:
    detail = [e for field, reason in errors for e in field_error(field, reason, kind)]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


def refusal_detail(refusal: Refusal) -> str | list[dict[str, Any]]:
    """A workflow's "Invalid" message names the field as `field: reason`; keep FastAPI's 422 shape."""
    if REFUSAL_STATUS.get(refusal.kind) == 422 and ": " in refusal.message:
        field, reason = refusal.message.split(": ", 1)
        if " " not in field:
            return field_error(field, reason, "workflow")
    return refusal.message


def http_error(refusal: Refusal) -> HTTPException:
    code = REFUSAL_STATUS.get(refusal.kind, status.HTTP_422_UNPROCESSABLE_CONTENT)
    return HTTPException(code, detail=refusal_detail(refusal))


def forbidden(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)


def unauthorized(detail: str = "Not authenticated") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


REFUSALS_PER_MINUTE = 60  # far above what an officer at work is refused


class RefusalLimiter:
    """How many refusals of one officer are written to the audit log per minute (in this process);
    past the limit they are counted, and the officer's next written row says how many were left out."""

    def __init__(self, per_minute: int = REFUSALS_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, tuple[float, int, int]] = {}  # officer: (window start, written, dropped)

    def admit(self, officer_id: str) -> int | None:
        """None: leave this one out; else write it, noting that many left out before it."""
        now = time.monotonic()
        start, written, dropped = self._windows.get(officer_id, (now, 0, 0))
        if now - start >= 60:
            start, written = now, 0
        if written >= self.per_minute:
            self._windows[officer_id] = (start, written, dropped + 1)
            return None
        self._windows[officer_id] = (start, written + 1, 0)
        if len(self._windows) > 10_000:  # officers idle for a minute are forgotten
            self._windows = {k: v for k, v in self._windows.items() if now - v[0] < 60}
        return dropped


REFUSALS = RefusalLimiter()


async def refused(
    pool: asyncpg.Pool,
    error: HTTPException,
    *,
    officer: Officer,
    group_id: str | None,
    stage: str | None,
    action: str,
    event: str = "action_refused",
) -> HTTPException:
    """Append a refused attempt (403/409) to the audit log, and hand back the error to raise. An audit
    outage must not turn a refusal into a 500, so a failure here is logged and the refusal answered."""
    if error.status_code not in AUDITED_STATUSES:
        return error
    error.audited = True  # type: ignore[attr-defined]  # http_exception_handler writes it no more
    await _audit_refusal(
        pool,
        officer=officer,
        group_id=group_id,
        stage=stage,
        event=event,
        reason=str(error.detail),
        details={"action": action, "status": error.status_code},
    )
    return error


async def _audit_refusal(
    pool: asyncpg.Pool,
    *,
    officer: Officer,
    group_id: str | None,
    stage: str | None,
    event: str,
    reason: str,
    details: dict[str, Any],
) -> None:
    left_out = REFUSALS.admit(officer.id)
    if left_out is None:
        log.warning("refusal_not_audited_rate_limited", officer=officer.id, **details)
        return
    if left_out:
        details = {**details, "refusals_left_out": left_out}
    try:
        async with pool.acquire() as conn, conn.transaction():
            await append_officer_audit(
                conn, officer, event, group_id=group_id, stage=stage, reason=reason, details=details
            )
    except (asyncpg.PostgresError, OSError) as exc:
        log.error("refusal_not_audited", group_id=group_id, error=str(exc), **details)


async def audit_forbidden(request: Request, exc: StarletteHTTPException, officer: Officer | None) -> None:
    """The one place a 403 not audited yet (any but a group action's guard, which writes its own
    with the group) goes to the audit log: the officer, the method, the route and the path. The JSON
    API's handler below and the console's pages (`api.console.render.ConsoleRoute`) call it."""
    if exc.status_code != status.HTTP_403_FORBIDDEN or officer is None or getattr(exc, "audited", False):
        return
    exc.audited = True  # type: ignore[attr-defined]
    route = request.scope.get("route")
    await _audit_refusal(
        request.app.state.services.pool,
        officer=officer,
        group_id=request.path_params.get("group_id"),
        stage=None,
        event="request_refused",
        reason=str(exc.detail),
        details={
            "method": request.method,
            "route": getattr(route, "path", request.url.path),
            "path": request.url.path,
            "status": exc.status_code,
        },
    )


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's own answer; a 403 is audited first (`audit_forbidden`), with the officer the token
    named (`request.state.officer`)."""
    assert isinstance(exc, StarletteHTTPException)
    officer = getattr(request.state, "officer", None)
    await audit_forbidden(request, exc, officer if isinstance(officer, Officer) else None)
    return await fastapi_http_exception_handler(request, exc)


# A phone number as a member types it (`+62…`, `62…`, `08…`), not part of a longer number.
_PHONE_IN_TEXT = re.compile(r"(?<![\d+])(?:\+?62|0)8\d{6,12}(?!\d)")


def mask_personal_in(value: Any) -> Any:
    """An echoed input with every NIK-shaped value masked (a string's, and a number's: a NIK sent as a
    JSON number) and every phone-shaped run masked too, recursively; a string made encodable, a NaN
    or an infinity made a string (Python's JSON reader takes them; a JSON answer cannot carry them)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and not math.isfinite(value):  # JSON's NaN or 1e999: no JSON to echo
        return str(value)
    if isinstance(value, int | float) and 10**15 <= abs(value) < 10**16 and value == int(value):
        return mask_niks_in(str(int(value)))
    if isinstance(value, str):  # a lone surrogate (JSON's "\\ud800") cannot be encoded: "?"
        value = value.encode("utf-8", "replace").decode()
        return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), mask_niks_in(value))
    if isinstance(value, list):
        return [mask_personal_in(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_personal_in(v) for k, v in value.items()}
    return value


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, with every NIK- or phone-shaped value in the echoed `input` masked: an invalid
    body must not send a NIK or a phone number back in clear."""
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k != "ctx"} for e in exc.errors()]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": mask_personal_in(jsonable_encoder(errors))},
    )
