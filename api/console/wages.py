"""The console's page of a Padat Karya group's muster rolls (daftar hadir) and weekly wage runs: each
week as a grid of workers × days (hours; an exception marked, a struck day crossed out), the
worksite's photos per day, the exceptions list with the supervisor's decisions, and the wage run.
Read from `api.queries.muster`, the same rows as `GET /groups/{id}/rolls`.

The page also carries the steps a supervisor or finance officer takes on a week: the review of its
exceptions (accept or strike each, with a reason), the release of its wage run and its authorization.
Each form posts to `/kelompok/{id}/upah/aksi/{action}`: the same body model, guard and workflow
update as `POST /groups/{id}/actions/{action}`; a refusal comes back on this page.

The mentor's own step, the week's roll with its photos, is a multipart form of its own
(`/kelompok/{id}/upah/daftar-hadir`; reading, checking and keeping its photos in
`api.console.roll_form`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.console import roll_form
from api.console.actions import FormError, niks_of
from api.console.render import ConsoleRoute, readable, render, validation_lines
from api.console.roll_form import PostedRoll
from api.console.session import Ctx, OfficerCtx, signed_in
from api.deps import Services, ServicesDep, TemporalDep, guard_action, read_group
from api.queries import members, muster
from api.queries.groups import GroupPlace
from api.service import full_args, perform_action
from jps.domain.actions import ACTIONS
from jps.domain.calendar import local_date
from jps.domain.muster import SubmitMusterArgs
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.domain.stages import TaskKind
from jps.domain.wages import WagePolicy

WEEK_ACTIONS = ("review-muster", "approve-wages", "authorize-wages")
ROLL_ACTION = "submit-muster"

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/kelompok/{group_id}/upah", response_class=HTMLResponse)
async def wages_page(
    group_id: str, ctx: OfficerCtx, services: ServicesDep, done: str = "", minggu: str = ""
) -> HTMLResponse:
    """`minggu`: the Monday of the week the roll form is for (none: the week just worked)."""
    done_ = done if done in (*WEEK_ACTIONS, ROLL_ACTION) else None
    return await wages_page_html(ctx, services, group_id, done=done_, wanted_week=minggu)


async def wages_page_html(
    ctx: Ctx,
    services: Services,
    group_id: str,
    *,
    status_code: int = 200,
    errors: list[str] | None = None,
    failed: str | None = None,
    done: str | None = None,
    wanted_week: str = "",
    roll: PostedRoll | None = None,
) -> HTMLResponse:
    officer = signed_in(ctx)
    group = await read_group(services.pool, officer, group_id)
    ctx.page_url = f"/kelompok/{quote(group_id)}/upah"
    weeks = (await muster.weeks(services.pool, group_id=group_id)).items
    names = await muster.member_names(services.pool, group_id=group_id)
    grids = []
    for week in weeks:
        days = [week.week_starts_on + timedelta(days=i) for i in range(7)]
        workers = sorted({e.nik_masked for e in week.entries})
        cells = {(e.nik_masked, e.work_date): e for e in week.entries}
        photos = {d: [ev for ev in week.evidence if ev.work_date == d] for d in days}
        grids.append(
            {
                "week": week,
                "days": days,
                "workers": [(w, names.get(w, "")) for w in workers],
                "cells": cells,
                "photos": photos,
                "exceptions": [e for e in week.entries if e.exception],
            }
        )
    open_kinds = {t.kind for t in group.open_tasks}
    roles = set(officer.roles)
    can_submit = Role.MENTOR in roles and TaskKind.SUBMIT_MUSTER in open_kinds
    # The deployment's wage rule sets the form's defaults; the group's own rule (in its workflow) decides.
    policy = services.policies[Program.PADAT_KARYA].wages or WagePolicy()
    today = local_date(datetime.now(UTC))
    submitted = [w.week_starts_on for w in weeks]
    return render(
        ctx,
        "wages.html",
        status_code=status_code,
        title=f"{group.name}: {ctx.t('wages_title')}",
        group=group,
        group_url=f"/kelompok/{quote(group_id)}",
        grids=grids,
        can_review=Role.SUPERVISOR in roles and TaskKind.REVIEW_MUSTER in open_kinds,
        can_approve=Role.FINANCE in roles and TaskKind.APPROVE_WAGES in open_kinds,
        can_authorize=Role.SUPERVISOR in roles and TaskKind.AUTHORIZE_WAGES in open_kinds,
        roll=roll_form.form_context(group, policy, today, submitted, wanted_week, roll, ctx.t)
        if can_submit
        else None,
        errors=errors or [],
        failed=failed,
        done=done,
    )


async def week_body(services: Services, group_id: str, action: str, form: Any) -> dict[str, Any]:
    """The posted form as the action's body. A review carries, per exception `n`, `decision-n`
    (accept / strike), `reason-n`, `nik-n` (masked, as shown) and `date-n`; exceptions left
    undecided are not sent."""
    week = str(form.get("week_starts_on") or "")
    notes = str(form.get("notes") or "")
    if action == "authorize-wages" and form.get("member_no"):
        # A worker's new bank details (by the member's number, as shown): the NIK is looked up here.
        number = str(form["member_no"])
        found = await members.niks_by_number(
            services.pool, group_id=group_id, numbers=[int(number)] if number.isdigit() else []
        )
        return {"member_nik": next(iter(found.values()), ""), "notes": notes}
    if action != "review-muster":
        return {"week_starts_on": week, "notes": notes}
    try:
        niks = await muster.entry_niks(
            services.pool, group_id=group_id, week_starts_on=date.fromisoformat(week)
        )
    except ValueError:
        niks = {}
    decisions = []
    for key in form:
        if not key.startswith("decision-") or form[key] not in ("accept", "strike"):
            continue
        n = key.removeprefix("decision-")
        day = str(form.get(f"date-{n}") or "")
        try:
            nik = niks.get((str(form.get(f"nik-{n}") or ""), date.fromisoformat(day)), "")
        except ValueError:
            nik = ""
        decisions.append(
            {
                "nik": nik,
                "date": day,
                "accept": form[key] == "accept",
                "reason": str(form.get(f"reason-{n}") or ""),
            }
        )
    return {"week_starts_on": week, "decisions": decisions}


@router.post("/kelompok/{group_id}/upah/aksi/{action}")
async def week_action(
    group_id: str, action: str, ctx: OfficerCtx, services: ServicesDep, client: TemporalDep
) -> Response:
    if action not in WEEK_ACTIONS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no action {action}")
    officer = signed_in(ctx)
    spec = ACTIONS[action]
    form = await ctx.request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    errors: list[str] = []
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    try:
        action_ctx = await guard_action(services.pool, officer, spec, group_id)
        body = await week_body(services, group_id, action, fields)
        await perform_action(services, client, action_ctx, spec, full_args(spec, body, officer))
    except (ValidationError, RequestValidationError) as exc:
        errors = validation_lines(exc, ctx.t)
    except HTTPException as exc:
        if exc.status_code in (401, 404):
            raise
        code, errors = exc.status_code, readable(exc.detail, ctx.t)
    if errors:
        return await wages_page_html(ctx, services, group_id, status_code=code, errors=errors, failed=action)
    return RedirectResponse(
        f"/kelompok/{quote(group_id)}/upah?done={action}", status_code=status.HTTP_303_SEE_OTHER
    )


@router.post("/kelompok/{group_id}/upah/daftar-hadir")
async def submit_roll(group_id: str, ctx: OfficerCtx, services: ServicesDep, client: TemporalDep) -> Response:
    """The mentor's roll: its shape and its new photos checked, then the photos kept, then the roll
    sent; a refusal comes back on this page naming the worker and day, or the day's photos."""
    officer = signed_in(ctx)
    spec = ACTIONS[ROLL_ACTION]
    roll, rb, week, names = PostedRoll(), None, None, {}
    problems: list[tuple[list[str | int], str]] = []
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    try:
        # the role and the region first (a refusal is audited), then the form is read
        action_ctx = await guard_action(services.pool, officer, spec, group_id)
        group = await read_group(services.pool, officer, group_id)
        names = {n: m.name for n, m in enumerate(group.members, start=1)}
        form = await ctx.request.form(max_files=7 * roll_form.PHOTOS_PER_DAY, max_fields=roll_form.MAX_FIELDS)
        roll = roll_form.read_posted(form)
        week = roll_form.week_of(roll)
        roll_form.check_counts(roll)
        numbers = sorted({n for n, _ in roll_form.cells(roll)})
        niks = dict(
            zip(numbers, await niks_of(services.pool, group_id, numbers, field="entries"), strict=True)
        )
        rb = roll_form.roll_body(roll, week, niks, roll_form.pending_ids(roll))
        SubmitMusterArgs.model_validate(rb.body)  # the roll's own rules, before a photo is kept
        await roll_form.check_photos(roll, rb, services.settings.max_file_bytes, group_id)
        place = GroupPlace(group_id, action_ctx.region_code, action_ctx.stage)
        ids = await roll_form.keep_photos(services, officer, place, roll, week)
        rb = roll_form.roll_body(roll, week, niks, ids)
        await perform_action(services, client, action_ctx, spec, full_args(spec, rb.body, officer))
    except FormError as exc:
        problems = [(roll_form.parts(exc.field), exc.reason)]
    except ValidationError as exc:
        problems = roll_form.as_errors([dict(e) for e in exc.errors(include_url=False)])
    except RequestValidationError as exc:
        problems = roll_form.as_errors(list(exc.errors()))
    except HTTPException as exc:
        if exc.status_code in (401, 404):
            raise
        code, problems = exc.status_code, roll_form.as_errors(exc.detail)
    if problems:
        errors = roll_form.error_lines(problems, ctx.t, rb, week, names)
        return await wages_page_html(
            ctx, services, group_id, status_code=code, errors=errors, failed=ROLL_ACTION, roll=roll
        )
    return RedirectResponse(
        f"/kelompok/{quote(group_id)}/upah?done={ROLL_ACTION}", status_code=status.HTTP_303_SEE_OTHER
    )
