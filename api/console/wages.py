"""The console's page of a Padat Karya group's muster rolls (daftar hadir) and weekly wage runs: each
week as a grid of workers × days (hours; an exception marked, a struck day crossed out), the
worksite's photos per day, the exceptions list with the supervisor's decisions, and the wage run.
Read from `api.queries.muster`, the same rows as `GET /groups/{id}/rolls`."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.console.render import ConsoleRoute, render
from api.console.session import OfficerCtx, signed_in
from api.deps import ServicesDep, read_group
from api.queries import muster

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/kelompok/{group_id}/upah", response_class=HTMLResponse)
async def wages_page(group_id: str, ctx: OfficerCtx, services: ServicesDep) -> HTMLResponse:
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
    return render(
        ctx,
        "wages.html",
        title=f"{group.name}: {ctx.t('wages_title')}",
        group=group,
        group_url=f"/kelompok/{quote(group_id)}",
        grids=grids,
    )
