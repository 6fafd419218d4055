"""The officers' web console (konsol petugas): server-rendered pages at `/`, beside the JSON API.

Each page reads through the API's read queries (`api.queries`: the inbox, the group listing, the
summary, the audit log) and `api.timeline`, and each form acts through `api.service.perform_action`,
the path of `POST /groups/{id}/actions/{action}`: the workflow update decides, the console shows its
answer. Authorization is `api.deps.authorize` / `guard_action`, as for the API. Paths are Indonesian
words (`/kelompok`, `/ringkasan`, `/catatan-audit`; signing in and out in `public.py`), none of them a
JSON API path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api import timeline
from api.console import formatting
from api.console.actions import (
    ACTION_TASK,
    FORM_ACTIONS,
    FormError,
    available,
    can_claim,
    failed_members,
    pending_transfers,
    read_form,
    releasable_members,
)
from api.console.render import ConsoleRoute, readable, render, safe_next, validation_lines
from api.console.session import Ctx, OfficerCtx, signed_in
from api.deps import Services, ServicesDep, TemporalDep, authorize, guard_action, read_group
from api.queries import audit, files, grievances, groups, lpj, reports, tasks
from api.queries.common import PageParams
from api.schemas import GroupSummaryOut, Page
from api.service import full_args, perform_action
from infra.audit import AuditAnchors
from jps.domain.actions import ACTIONS
from jps.domain.calendar import local_date
from jps.domain.files import EvidencePurpose
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.domain.stages import STAGE_ORDER, Stage

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 25
LPJ_ROWS = 10  # spending lines on the LPJ form; empty rows are ignored, longer reports go by the API
PageNo = Annotated[int, Query(ge=1, le=100_000)]


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


# ---- inbox (kotak tugas) ----


@router.get("/", response_class=HTMLResponse)
async def inbox_page(
    ctx: OfficerCtx,
    services: ServicesDep,
    page: PageNo = 1,
    overdue: str = "",
    claimed: str = "",
) -> HTMLResponse:
    officer = signed_in(ctx)
    paging = PageParams(page, PAGE_SIZE)
    found = await tasks.inbox(
        services.pool,
        officer=officer,
        paging=paging,
        overdue=True if overdue == "1" else None,
        claimed=claimed if claimed in ("me", "nobody", "others") else None,
    )
    waiting = await grievances.list_grievances(  # the grievances waiting on my roles, beside the tasks
        services.pool,
        officer=officer,
        paging=PageParams(1, PAGE_SIZE),
        mine=True,
        overdue=overdue == "1" or None,
    )
    return render(
        ctx,
        "inbox.html",
        grievance_items=waiting.items,
        grievance_total=waiting.total,
        title=ctx.t("inbox_title"),
        items=found.items,
        total=found.total,
        page=page,
        pages=_pages(found.total, PAGE_SIZE),
        overdue=overdue == "1",
        claimed=claimed,
    )


@router.post("/kelompok/{group_id}/klaim")
async def claim(group_id: str, ctx: OfficerCtx, services: ServicesDep, client: TemporalDep) -> Response:
    """Claim (or, with `release=1`, give back) one of the group's open tasks (`task`, its kind; none:
    the most urgent one for the officer's roles); back to where the officer was."""
    officer = signed_in(ctx)
    form = await ctx.request.form()
    release = form.get("release") == "1"
    task = form.get("task")
    target = form.get("next")
    back = safe_next(target if isinstance(target, str) else None)
    spec = ACTIONS["claim"]
    action_ctx = await guard_action(services.pool, officer, spec, group_id)
    args = {"release": release, "task": task if isinstance(task, str) and task else None}
    try:
        await perform_action(services, client, action_ctx, spec, full_args(spec, args, officer))
    except HTTPException as exc:
        if exc.status_code == 401:
            raise
        return await group_page_html(
            ctx,
            services,
            group_id,
            status_code=exc.status_code,
            errors=readable(exc.detail, ctx.t),
            failed="claim",
        )
    return RedirectResponse(back, status_code=status.HTTP_303_SEE_OTHER)


# ---- groups (daftar kelompok) ----


@router.get("/kelompok", response_class=HTMLResponse)
async def groups_page(
    ctx: OfficerCtx,
    services: ServicesDep,
    page: PageNo = 1,
    program: str = "",
    stage: str = "",
    region: str = "",
    overdue: str = "",
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    officer = signed_in(ctx)
    problems: list[str] = []
    program_f = _enum(Program, program, "program", problems, ctx)
    stage_f = _enum(Stage, stage, "stage", problems, ctx)
    region = region.strip()
    if region and not (region.isdigit() and len(region) in (2, 4)):
        problems.append(ctx.t("region_invalid"))
    q = q.strip()
    found = Page[GroupSummaryOut](items=[], total=0, page=page, size=PAGE_SIZE)
    if not problems:
        found = await groups.list_groups(
            services.pool,
            officer=officer,
            paging=PageParams(page, PAGE_SIZE),
            program=program_f,
            stage=stage_f,
            region=region or None,
            overdue={"1": True, "0": False}.get(overdue),
            q=q or None,
        )
    return render(
        ctx,
        "groups.html",
        status_code=422 if problems else 200,
        title=ctx.t("groups_title"),
        items=found.items,
        total=found.total,
        page=page,
        pages=_pages(found.total, PAGE_SIZE),
        problems=problems,
        programs=list(Program),
        stages=list(STAGE_ORDER),
        f={"program": program, "stage": stage, "region": region, "overdue": overdue, "q": q},
    )


def _enum(kind: Any, value: str, name: str, problems: list[str], ctx: Ctx) -> Any:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        problems.append(ctx.t("invalid_filter", field=ctx.t(name)))
        return None


async def group_page_html(
    ctx: Ctx,
    services: Services,
    group_id: str,
    *,
    status_code: int = 200,
    errors: list[str] | None = None,
    failed: str | None = None,
    done: str | None = None,
    lpj_rows: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    """A group's page; after a refused form, with the refusal (and the LPJ form's rows as posted)."""
    officer = signed_in(ctx)
    group = await read_group(services.pool, officer, group_id)
    ctx.page_url = f"/kelompok/{quote(group_id)}"
    policy = services.policies[group.program]
    group_lpj = await lpj.lpj_of(services.pool, group_id=group_id)
    evidence = await files.group_files(services.pool, group_id=group_id) if group_lpj else []
    rows = lpj_rows or _lpj_rows(group_lpj)
    return render(
        ctx,
        "group.html",
        status_code=status_code,
        title=f"{group.name}",
        group=group,
        actions=available(officer, group),
        claimable=[task.kind for task in group.open_tasks if can_claim(officer, task)],
        errors=errors or [],
        failed=failed,
        done=done if done in (*ACTION_TASK, "claim") else None,
        failed_members=failed_members(group),
        releasable_members=releasable_members(group),
        pending_transfers=pending_transfers(group),
        policy=policy,
        today=local_date(datetime.now(UTC)),
        group_url=ctx.page_url,
        lpj=group_lpj,
        receivable=await lpj.receivable_of(services.pool, group_id=group_id),
        receipts=[f for f in evidence if f.purpose == EvidencePurpose.RECEIPT],
        photos=[f for f in evidence if f.purpose == EvidencePurpose.GOODS_PHOTO],
        lpj_rows=rows,
        lpj_row_count=LPJ_ROWS,
        # Rows past these sit folded under "more lines" (no script needed): three, or as many as are filled.
        lpj_rows_shown=max([3] + [i + 1 for i, r in enumerate(rows) if any(r.values())]),
        max_file_mb=services.settings.max_file_bytes // (1024 * 1024),
    )


def _lpj_rows(group_lpj: lpj.Lpj | None) -> list[dict[str, str]]:
    """The LPJ form's rows: empty, or for a revision the lines sent back, to be corrected."""
    empty = dict.fromkeys(("category", "amount", "spent_on", "supplier", "receipt", "photo"), "")
    rows = [dict(empty) for _ in range(LPJ_ROWS)]
    if group_lpj and group_lpj.status == "revise" and group_lpj.submissions:
        for i, line in enumerate(group_lpj.submissions[0].lines[:LPJ_ROWS]):
            rows[i] = {
                "category": line.category,
                "amount": formatting.number(line.amount),
                "spent_on": line.spent_on.isoformat(),
                "supplier": line.supplier,
                "receipt": line.file_id,
                "photo": line.photo_file_id or "",
            }
    return rows


@router.get("/kelompok/{group_id}", response_class=HTMLResponse)
async def group_page(group_id: str, ctx: OfficerCtx, services: ServicesDep, done: str = "") -> HTMLResponse:
    return await group_page_html(ctx, services, group_id, done=done or None)


@router.post("/kelompok/{group_id}/aksi/{action}")
async def group_action(
    group_id: str, action: str, ctx: OfficerCtx, services: ServicesDep, client: TemporalDep
) -> Response:
    """One officer action from its form: the same body model, the same guard and the same workflow
    update as the JSON API; a refusal comes back on the group's page as the workflow worded it."""
    if action not in FORM_ACTIONS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no action {action}")
    officer = signed_in(ctx)
    spec = ACTIONS[action]
    form = await ctx.request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    chosen = [v for v in form.getlist("member") if isinstance(v, str)]
    errors: list[str] = []
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    try:
        action_ctx = await guard_action(services.pool, officer, spec, group_id)
        body = await read_form(services.pool, group_id, action, fields, chosen)
        await perform_action(services, client, action_ctx, spec, full_args(spec, body, officer))
    except FormError as exc:
        label = ctx.t(exc.field) if ctx.t.has(exc.field) else exc.field
        errors = [f"{label}: {exc.reason}"]
    except (ValidationError, RequestValidationError) as exc:
        errors = validation_lines(exc, ctx.t)
    except HTTPException as exc:
        if exc.status_code in (401, 404):
            raise
        code, errors = exc.status_code, readable(exc.detail, ctx.t)
    if errors:
        return await group_page_html(ctx, services, group_id, status_code=code, errors=errors, failed=action)
    return RedirectResponse(
        f"/kelompok/{quote(group_id)}?done={action}", status_code=status.HTTP_303_SEE_OTHER
    )


# ---- timeline (riwayat) ----


@router.get("/kelompok/{group_id}/riwayat", response_class=HTMLResponse)
async def history_page(
    group_id: str, ctx: OfficerCtx, services: ServicesDep, client: TemporalDep
) -> HTMLResponse:
    group = await read_group(services.pool, signed_in(ctx), group_id)
    history = await timeline.build(client, services.pool, services.settings, group_id, officer=signed_in(ctx))
    return render(
        ctx,
        "history.html",
        title=f"{ctx.t('history_title')}: {group.name}",
        group=group,
        history=history,
        group_url=f"/kelompok/{quote(group_id)}",
    )


@router.get("/kelompok/{group_id}/riwayat.csv")
async def history_csv(group_id: str, ctx: OfficerCtx, services: ServicesDep, client: TemporalDep) -> Response:
    await read_group(services.pool, signed_in(ctx), group_id)
    history = await timeline.build(client, services.pool, services.settings, group_id, officer=signed_in(ctx))
    return Response(
        timeline.to_csv(history),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{group_id}-riwayat.csv"',
            "Cache-Control": "no-store",
        },
    )


# ---- summary (ringkasan) ----


@router.get("/ringkasan", response_class=HTMLResponse)
async def summary_page(ctx: OfficerCtx, services: ServicesDep, as_of: str = "") -> HTMLResponse:
    officer = signed_in(ctx)
    day: date | None = None
    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise RequestValidationError(
                [{"loc": ("query", "as_of"), "msg": "a date like 2020-10-02", "type": "date"}]
            ) from None
    summary = await reports.summary(services.pool, officer=officer, as_of=day)
    return render(ctx, "summary.html", title=ctx.t("summary_title"), summary=summary, as_of=as_of)


# ---- audit (catatan audit), auditors only ----


@router.get("/catatan-audit", response_class=HTMLResponse)
async def audit_page(
    ctx: OfficerCtx,
    services: ServicesDep,
    page: PageNo = 1,
    group_id: str = "",
    actor: str = "",
    event: str = "",
) -> HTMLResponse:
    officer = signed_in(ctx)
    authorize(officer, roles=(Role.AUDITOR,), what="the audit log")
    found = await audit.audit_log(
        services.pool,
        officer=officer,
        paging=PageParams(page, PAGE_SIZE),
        group_id=group_id.strip() or None,
        actor=actor.strip() or None,
        event=event.strip() or None,
    )
    return render(
        ctx,
        "audit.html",
        title=ctx.t("audit_title"),
        items=found.items,
        total=found.total,
        page=page,
        pages=_pages(found.total, PAGE_SIZE),
        f={"group_id": group_id, "actor": actor, "event": event},
        check=None,
    )


@router.get("/catatan-audit/verifikasi", response_class=HTMLResponse)
async def audit_verify_page(ctx: OfficerCtx, services: ServicesDep) -> HTMLResponse:
    """The chain check walks every row, so it runs when an auditor asks for it, not on every page."""
    officer = signed_in(ctx)
    authorize(officer, roles=(Role.AUDITOR,), what="the audit log")
    check = await audit.check_chain(services.pool, anchors=AuditAnchors.of(services.settings))
    return render(ctx, "audit_verify.html", title=ctx.t("chain_check"), check=check)
