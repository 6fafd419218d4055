"""The console's reconciliation page (rekonsiliasi): the mismatches the nightly runs found, open ones
with a resolve form for finance; auditors read them. The list is `api.queries.reconciliation`, the
form goes through `api.service.resolve_mismatch`, the path of
`POST /reconciliation/mismatches/{id}/resolve`: the same checks, the same audit row."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.console.render import ConsoleRoute, readable, render, validation_lines
from api.console.session import Ctx, OfficerCtx, signed_in
from api.deps import ServicesDep, authorize
from api.queries import reconciliation
from api.queries.common import PageParams
from api.schemas.reconciliation import RESOLUTIONS, MismatchResolveIn
from api.service import resolve_mismatch
from jps.contracts.activities import LISTED_MISMATCH_KINDS
from jps.domain.roles import Role

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 25
PATH = "/rekonsiliasi"


async def _page(
    ctx: Ctx,
    services: ServicesDep,
    *,
    page: int,
    show: str,
    kind: str,
    status_code: int = 200,
    errors: list[str] | None = None,
    failed: int | None = None,
    done: int | None = None,
) -> HTMLResponse:
    officer = signed_in(ctx)
    authorize(officer, roles=(Role.FINANCE, Role.AUDITOR), what="the reconciliation mismatches")
    problems: list[str] = []
    kind_f = next((k for k in LISTED_MISMATCH_KINDS if k == kind), None)
    if kind and kind_f is None:
        problems.append(ctx.t("invalid_filter", field=ctx.t("mismatch_kind")))
        kind = ""
    found = await reconciliation.list_mismatches(
        services.pool,
        officer=officer,
        paging=PageParams(page, PAGE_SIZE),
        status="resolved" if show == "resolved" else "open",
        kind=kind_f,
    )
    return render(
        ctx,
        "reconciliation.html",
        status_code=422 if problems else status_code,
        title=ctx.t("reconciliation_title"),
        items=found.items,
        total=found.total,
        page=page,
        pages=max(1, -(-found.total // PAGE_SIZE)),
        f={"show": "resolved" if show == "resolved" else "open", "kind": kind},
        kinds=LISTED_MISMATCH_KINDS,
        resolutions=RESOLUTIONS,
        can_resolve=Role.FINANCE in officer.roles,
        problems=problems,
        errors=errors or [],
        failed=failed,
        done=done,
    )


@router.get(PATH, response_class=HTMLResponse)
async def reconciliation_page(
    ctx: OfficerCtx,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    show: str = "open",
    kind: str = "",
    done: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    return await _page(ctx, services, page=page, show=show, kind=kind, done=done)


@router.post(PATH + "/{mismatch_id}/selesaikan")
async def resolve(mismatch_id: int, ctx: OfficerCtx, services: ServicesDep) -> Response:
    """Finance resolves one mismatch from its form; a refusal comes back on the page, the form kept."""
    officer = signed_in(ctx)
    form = await ctx.request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        body = MismatchResolveIn.model_validate(
            {"resolution": fields.get("resolution", ""), "reason": fields.get("reason", "")}
        )
        await resolve_mismatch(services.pool, officer, mismatch_id, body)
    except ValidationError as exc:
        return await _page(
            ctx,
            services,
            page=1,
            show="open",
            kind="",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            errors=validation_lines(exc, ctx.t),
            failed=mismatch_id,
        )
    except HTTPException as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return await _page(
            ctx,
            services,
            page=1,
            show="open",
            kind="",
            status_code=exc.status_code,
            errors=readable(exc.detail, ctx.t),
            failed=mismatch_id,
        )
    return RedirectResponse(f"{PATH}?done={mismatch_id}", status_code=status.HTTP_303_SEE_OTHER)
