"""The console's grievance pages (pengaduan), issue 14:

- `/pengaduan` (officers, their regions): the cases, those waiting on the officer's roles first
  (`api.queries.grievances.list_grievances`, as `GET /grievances`); the inbox (`/`) shows the same
  "waiting on me" rows beside the groups' tasks.
- `/pengaduan/{id}` (officers): the case, the bank's own status of a payment grievance's transfer, its
  steps, and a form for each step the officer may take now; each form posts to
  `/pengaduan/{id}/aksi/{action}` and goes through `api.grievance_service.officer_step`, the path of
  `POST /grievances/{id}/actions/{action}`.
- `/pengaduan-baru` (no sign-in): the public form (`api.grievance_service.file_public`, the path of
  `POST /public/grievances`, under the same per-client limiter), and the complainant's answer or
  reopening with the grievance number and NIK. Forms post, so a NIK never sits in an address.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.console.render import ConsoleRoute, readable, render, validation_lines
from api.console.session import Ctx, OfficerCtx, PublicCtx, signed_in
from api.deps import ServicesDep, TemporalDep, authorize
from api.grievance_service import (
    READERS,
    admit_phone,
    admit_public,
    complainant_step,
    file_public,
    officer_step,
)
from api.queries import grievances as queries
from api.queries.common import PageParams
from api.schemas.grievances import ACTION_BODIES, ComplainantIn, GrievanceIn
from jps.domain.grievances import GRIEVANCE_ID_RE, SMS_FORMAT, Decision, GrievanceCategory, GrievanceStatus

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 25
LIST_PATH = "/pengaduan"
PUBLIC_PATH = "/pengaduan-baru"


# ---- officers: the list and a case ----


@router.get(LIST_PATH, response_class=HTMLResponse)
async def grievances_page(
    ctx: OfficerCtx,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    mine: str = "",
    state: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    officer = signed_in(ctx)
    authorize(officer, roles=READERS, what="grievances")
    status_f = next((s for s in GrievanceStatus if s.value == state), None)
    found = await queries.list_grievances(
        services.pool, officer=officer, paging=PageParams(page, PAGE_SIZE), status=status_f, mine=mine == "1"
    )
    return render(
        ctx,
        "grievances.html",
        title=ctx.t("grievances_title"),
        items=found.items,
        total=found.total,
        page=page,
        pages=max(1, -(-found.total // PAGE_SIZE)),
        mine=mine == "1",
        state=status_f.value if status_f else "",
        statuses=list(GrievanceStatus),
    )


async def _case_page(
    ctx: Ctx,
    services: ServicesDep,
    grievance_id: str,
    *,
    status_code: int = 200,
    errors: list[str] | None = None,
    failed: str | None = None,
    done: bool = False,
) -> HTMLResponse:
    officer = signed_in(ctx)
    authorize(officer, roles=READERS, what="grievances")
    case = await queries.get_grievance(services.pool, grievance_id=grievance_id, officer=officer)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such grievance")
    return render(
        ctx,
        "grievance.html",
        status_code=status_code,
        title=f"{ctx.t('grievance')} {case.grievance_id}",
        case=case,
        decisions=list(Decision),
        errors=errors or [],
        failed=failed,
        done=done,
    )


@router.get(LIST_PATH + "/{grievance_id}", response_class=HTMLResponse)
async def grievance_page(
    grievance_id: str, ctx: OfficerCtx, services: ServicesDep, done: str = ""
) -> HTMLResponse:
    return await _case_page(ctx, services, grievance_id, done=bool(done))


@router.post(LIST_PATH + "/{grievance_id}/aksi/{action}")
async def grievance_action(
    grievance_id: str, action: str, ctx: OfficerCtx, services: ServicesDep, client: TemporalDep
) -> Response:
    if action not in ACTION_BODIES or not GRIEVANCE_ID_RE.match(grievance_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no action {action}")
    officer = signed_in(ctx)
    form = await ctx.request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str) and v != ""}
    errors: list[str] = []
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    try:
        body = ACTION_BODIES[action].model_validate(fields)
        await officer_step(services, client, officer, grievance_id, action, body)
    except ValidationError as exc:
        errors = validation_lines(exc, ctx.t)
    except HTTPException as exc:
        if exc.status_code in (401, 404):
            raise
        code, errors = exc.status_code, readable(exc.detail, ctx.t)
    if errors:
        return await _case_page(ctx, services, grievance_id, status_code=code, errors=errors, failed=action)
    return RedirectResponse(f"{LIST_PATH}/{grievance_id}?done=1", status_code=status.HTTP_303_SEE_OTHER)


# ---- the public form ----


def _public_page(ctx: Ctx, *, status_code: int = 200, **values: Any) -> HTMLResponse:
    page: dict[str, Any] = {
        "form": {"group_id": "", "category": "", "about_officer": "", "text": ""},
        "problems": [],
        "sent": None,
        "follow_problems": [],
        "follow_sent": False,
        "categories": list(GrievanceCategory),
        "sms_format": SMS_FORMAT,
    }
    page.update(values)
    return render(
        ctx, "public_grievance.html", status_code=status_code, title=ctx.t("public_grievance_title"), **page
    )


@router.get(PUBLIC_PATH, response_class=HTMLResponse)
async def public_grievance_form(ctx: PublicCtx) -> HTMLResponse:
    return _public_page(ctx)


@router.post(PUBLIC_PATH, response_class=HTMLResponse)
async def public_grievance_send(
    ctx: PublicCtx,
    request: Request,
    services: ServicesDep,
    client: TemporalDep,
    nik: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=200)] = "",
    group_id: Annotated[str, Form(max_length=200)] = "",
    category: Annotated[str, Form(max_length=200)] = "",
    about_officer: Annotated[str, Form(max_length=200)] = "",
    text: Annotated[str, Form(max_length=10_000)] = "",
) -> HTMLResponse:
    form = {"group_id": group_id, "category": category, "about_officer": about_officer, "text": text}
    try:
        admit_public(request)
    except HTTPException:
        return _public_page(ctx, status_code=429, form=form, problems=[str(ctx.t("public_grievance_429"))])
    raw: dict[str, Any] = {
        "nik": "".join(nik.split()),
        "phone": "".join(phone.split()),
        "group_id": group_id.strip().upper() or None,
        "category": category,
        "about_officer": about_officer.strip() or None,
        "text": text,
    }
    try:
        body = GrievanceIn.model_validate(raw)
    except ValidationError as exc:
        return _public_page(ctx, status_code=422, form=form, problems=validation_lines(exc, ctx.t))
    try:
        admit_phone(request, body.phone)
    except HTTPException:
        return _public_page(ctx, status_code=429, form=form, problems=[str(ctx.t("public_grievance_429"))])
    ref = await file_public(services, client, body)
    return _public_page(ctx, status_code=201, sent=ref)


@router.post(PUBLIC_PATH + "/lanjut", response_class=HTMLResponse)
async def public_grievance_follow(
    ctx: PublicCtx,
    request: Request,
    client: TemporalDep,
    grievance_id: Annotated[str, Form(max_length=200)] = "",
    nik: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=20)] = "info",
    text: Annotated[str, Form(max_length=10_000)] = "",
) -> HTMLResponse:
    try:
        admit_public(request)
    except HTTPException:
        return _public_page(ctx, status_code=429, follow_problems=[str(ctx.t("public_grievance_429"))])
    grievance_id = grievance_id.strip().upper()
    try:
        body = ComplainantIn.model_validate({"nik": "".join(nik.split()), "text": text})
    except ValidationError as exc:
        return _public_page(ctx, status_code=422, follow_problems=validation_lines(exc, ctx.t))
    if not GRIEVANCE_ID_RE.match(grievance_id):
        return _public_page(ctx, status_code=404, follow_problems=[str(ctx.t("public_grievance_not_found"))])
    try:
        await complainant_step(client, grievance_id, body, reopen=kind == "reopen")
    except HTTPException as exc:
        lines = (
            [str(ctx.t("public_grievance_not_found"))]
            if exc.status_code == 404
            else readable(exc.detail, ctx.t)
        )
        return _public_page(ctx, status_code=exc.status_code, follow_problems=lines)
    return _public_page(ctx, follow_sent=True)
