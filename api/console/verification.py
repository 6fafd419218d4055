"""Two console pages of the beneficiary's side (issue 14):

- `/cek-status` (no sign-in): a member types the group's id and their own NIK and sees the stage and
  next step in plain words and their payments, from the same query as `GET /public/status`
  (`api.public_status.lookup`), under the same per-client limiter. The form posts, so the NIK
  never sits in an address, a browser history or a proxy's log; the answer never repeats it.
- `/verifikasi-pembayaran` (officers, their regions): the post-payment verification's report, the
  figures of `GET /reports/payment-verification` (`api.queries.verification.verification_report`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from api.console.render import ConsoleRoute, render
from api.console.session import Ctx, OfficerCtx, PublicCtx, signed_in
from api.deps import ServicesDep
from api.public_status import GROUP_ID_PATTERN, NIK_PATTERN, admit_lookup, lookup
from api.queries.verification import verification_report
from api.schemas.budget import REGION_PATTERN
from api.schemas.reports import EARLIEST_DAY, LATEST_DAY
from api.schemas.verification import PublicStatusOut
from jps.domain.programs import Program
from jps.domain.public_status import next_step_words, stage_words

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

STATUS_PATH = "/cek-status"
REPORT_PATH = "/verifikasi-pembayaran"


# ---- the public status page ----


def _status_page(
    ctx: Ctx,
    *,
    status_code: int = 200,
    group_id: str = "",
    found: PublicStatusOut | None = None,
    problems: list[str] | None = None,
    not_found: bool = False,
) -> HTMLResponse:
    lang_i = 0 if ctx.lang == "id" else 1
    words = None
    if found is not None:
        words = {
            "stage": stage_words(found.stage)[lang_i],
            "next": next_step_words(found.stage, found.next_step_code)[lang_i],
        }
    return render(
        ctx,
        "public_status.html",
        status_code=status_code,
        title=ctx.t("public_status_title"),
        group_id=group_id,
        found=found,
        words=words,
        problems=problems or [],
        not_found=not_found,
    )


@router.get(STATUS_PATH, response_class=HTMLResponse)
async def status_form(ctx: PublicCtx) -> HTMLResponse:
    return _status_page(ctx)


@router.post(STATUS_PATH, response_class=HTMLResponse)
async def status_lookup(
    ctx: PublicCtx,
    request: Request,
    services: ServicesDep,
    group_id: Annotated[str, Form(max_length=200)] = "",
    nik: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    group_id = group_id.strip()
    try:
        admit_lookup(request)
    except HTTPException:
        return _status_page(
            ctx, status_code=429, group_id=group_id, problems=[str(ctx.t("public_status_429"))]
        )
    nik = re.sub(r"[\s.-]", "", nik)
    problems: list[str] = []
    if not re.fullmatch(GROUP_ID_PATTERN, group_id):
        problems.append(str(ctx.t("public_status_bad_group")))
    if not re.fullmatch(NIK_PATTERN, nik):
        problems.append(str(ctx.t("public_status_bad_nik")))
    if problems:
        return _status_page(ctx, status_code=422, group_id=group_id, problems=problems)
    found = await lookup(services.pool, group_id=group_id, nik=nik)
    if found is None:
        return _status_page(ctx, status_code=404, group_id=group_id, not_found=True)
    return _status_page(ctx, group_id=group_id, found=found)


# ---- the verification report ----


@router.get(REPORT_PATH, response_class=HTMLResponse)
async def verification_page(
    ctx: OfficerCtx,
    services: ServicesDep,
    program: Annotated[str, Query(max_length=20)] = "",
    region: Annotated[str, Query(max_length=10)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> HTMLResponse:
    officer = signed_in(ctx)
    problems: list[str] = []
    program_f = next((p for p in Program if p.value == program), None)
    if program and program_f is None:
        problems.append(str(ctx.t("invalid_filter", field=ctx.t("program"))))
        program = ""
    if region and not re.fullmatch(REGION_PATTERN, region):
        problems.append(str(ctx.t("invalid_filter", field=ctx.t("region"))))
        region = ""

    def day(raw: str, label: str) -> date | None:
        if not raw:
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            value = None
        if value is None or not EARLIEST_DAY <= value <= LATEST_DAY:
            problems.append(str(ctx.t("invalid_filter", field=label)))
            return None
        return value

    from_day = day(date_from, str(ctx.t("verification_from")))
    to_day = day(date_to, str(ctx.t("verification_to")))
    report = await verification_report(
        services.pool,
        officer=officer,
        program=program_f,
        region=region or None,
        date_from=from_day,
        date_to=to_day,
    )
    return render(
        ctx,
        "verification_report.html",
        status_code=422 if problems else 200,
        title=ctx.t("verification_title"),
        report=report,
        problems=problems,
        programs=list(Program),
        f={
            "program": program,
            "region": region,
            "from": from_day.isoformat() if from_day else "",
            "to": to_day.isoformat() if to_day else "",
        },
    )
