"""The managers' dashboard (dasbor): the funnel by stage for each programme, where groups stall
(provinces × stages), aid disbursed against each region's allocation, and where the LPJs stand.

Each chart's figures are those of the JSON reports (`GET /reports/funnel`, `/stalls`, `/allocation`,
`/lpj-status`): the page calls the same query functions and embeds their answers, as the API would
serialize them, in a `<script type="application/json">` block that `dasbor.js` draws with Plotly. The
page does not fetch them from the JSON API: the console's token lives in an HttpOnly cookie that no
script may read, and the JSON API takes bearer tokens only (letting it take the cookie would open it
to requests forged from other sites). Each chart has its table underneath, rendered on the server, so
the figures read without the script and with a screen reader.

Plotly's script comes from the PyPI `plotly` package (its `package_data/plotly.min.js`) and is served
here, gzipped once and cached by the browser for a year under a versioned name: offices may be
offline, so nothing comes from a CDN.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api import exports
from api.console.render import ConsoleRoute, render
from api.console.session import Ctx, OfficerCtx, signed_in
from api.deps import ServicesDep
from api.exports import XLSX_MEDIA_TYPE
from api.queries import dashboard
from api.schemas.dashboard import LPJ_COLUMNS
from api.schemas.reports import EARLIEST_DAY, LATEST_DAY
from jps.domain.nik import PROVINCE_CODES
from jps.domain.programs import Program
from jps.domain.stages import STAGE_ORDER

log = structlog.get_logger()
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PATH = "/dasbor"


# ---- Plotly's script, from the plotly package ----


@dataclass(frozen=True)
class Script:
    version: str
    body: bytes
    gzipped: bytes
    etag: str
    css: bytes  # the library's own style rules, as a stylesheet (see `_plotly_css`)
    style_ids: tuple[str, ...]  # ids of <style> elements it adds unless the id is taken (`_style_ids`)


@lru_cache(maxsize=1)
def plotly_script() -> Script:
    """plotly.min.js as the installed `plotly` package ships it (found without importing the package)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed (pyproject: plotly)")
    body = (Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js").read_bytes()
    found = re.search(rb"plotly\.js v(\d+\.\d+\.\d+)", body[:500])
    version = found.group(1).decode() if found else hashlib.sha256(body).hexdigest()[:12]
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    return Script(version, body, gzip.compress(body, 6), etag, _plotly_css(body), _style_ids(body))


# Bundled stylesheets (MapLibre's, for map traces we never draw) are appended as <style> elements at
# load, each unless an element of its id exists: the page holds an empty element of each such id.
_STYLE_ID = re.compile(
    rb'if\(!document\.getElementById\("([0-9a-f]{16,64})"\)\)\{var \w+=document\.createElement\("style"\)'
)


def _style_ids(body: bytes) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.decode() for m in _STYLE_ID.findall(body)))


# Plotly adds its library-wide style rules (`build/plotcss`) by appending a <style> element, which the
# console's Content-Security-Policy (style-src 'self') refuses; it skips that when the page already
# holds an element with the id `plotly.js-style-global` and the class `no-inline-styles` (plotly.js
# PR #7109). The page links these rules, taken from the script itself, as a stylesheet of that id.
_PLOTCSS = re.compile(rb'=(\{"X,X div":.*?\});for\(')


_RULE = re.compile(r""""((?:[^"\\]|\\.)*)":(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")


def _plotly_css(body: bytes) -> bytes:
    """`{"X .main-svg": 'position:absolute;…', …}` (single- or double-quoted values) as CSS, with
    plotly's own selector substitutions."""
    found = _PLOTCSS.search(body)
    rules = _RULE.findall(found.group(1).decode()) if found else []
    if not rules:
        log.warning("plotly_css_not_found")  # the charts still draw; Plotly's inline rules are refused
        return b""
    lines = []
    for selector, single, double in rules:
        selector = re.sub(r"^,", " ,", selector).replace("X", ".js-plotly-plot .plotly")
        lines.append(f"{selector.replace('Y', '.plotly-notifier')} {{{single or double}}}")
    return ("\n".join(lines) + "\n").encode()


def plotly_url(kind: str = "min.js") -> str:
    return f"/aset/vendor/plotly-{plotly_script().version}.{kind}"


# The name carries the version: a new package is a new address, so this one never changes.
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}


@router.get("/aset/vendor/plotly-{version}.css")
async def plotly_css(version: str) -> Response:
    script = plotly_script()
    if version != script.version:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no plotly {version}")
    return Response(script.css, media_type="text/css; charset=utf-8", headers=_IMMUTABLE)


@router.get("/aset/vendor/plotly-{version}.min.js")
async def plotly_js(version: str, request: Request) -> Response:
    script = plotly_script()
    if version != script.version:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no plotly {version}")
    headers = {**_IMMUTABLE, "ETag": script.etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == script.etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    media = "text/javascript; charset=utf-8"
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(script.gzipped, media_type=media, headers={**headers, "Content-Encoding": "gzip"})
    return Response(script.body, media_type=media, headers=headers)


# ---- the page ----


def _day(as_of: str) -> date | None:
    if not as_of:
        return None
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        day = None
    if day is None or not EARLIEST_DAY <= day <= LATEST_DAY:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "as_of"),
                    "msg": f"a date from {EARLIEST_DAY} to {LATEST_DAY}",
                    "type": "date",
                }
            ]
        )
    return day


def _labels(ctx: Ctx) -> dict[str, Any]:
    """The words the charts need, in the page's language."""
    t = ctx.t
    keys = (
        "dash_groups",
        "dash_median_days",
        "dash_overdue",
        "dash_days_short",
        "dash_allocation",
        "dash_spent",
        "dash_reserved",
        "dash_on_time",
        "dash_lpj_overdue",
        "dash_under_recovery",
        "dash_province",
        "dash_step",
        "dash_rupiah",
    )
    return {
        "lang": ctx.lang,
        "stage": {s.value: str(t.label("stage", s)) for s in STAGE_ORDER},
        "program": {p.value: str(t.label("program", p)) for p in Program},
        "province": PROVINCE_CODES,
        **{k: str(t(k)) for k in keys},
    }


def _json_block(data: Any) -> Markup:
    """JSON safe inside a <script> element: no `<` (so no `</script>`), no `&` or `>` either."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


@router.get(PATH, response_class=HTMLResponse)
async def dashboard_page(
    ctx: OfficerCtx, services: ServicesDep, as_of: str = "", program: str = ""
) -> HTMLResponse:
    officer = signed_in(ctx)
    day = _day(as_of)
    chosen = next((p for p in Program if p.value == program), None)
    if program and chosen is None:
        raise RequestValidationError(
            [{"loc": ("query", "program"), "msg": "tkm or padat_karya", "type": "enum"}]
        )
    pool = services.pool
    funnel = await dashboard.funnel(pool, officer=officer, as_of=day)
    stalls = await dashboard.stalls(pool, officer=officer, as_of=day, program=chosen)
    allocation = await dashboard.allocation(pool, officer=officer)
    lpj = await dashboard.lpj_status(pool, officer=officer)
    data = {
        "funnel": funnel.model_dump(mode="json"),
        "stalls": stalls.model_dump(mode="json"),
        "allocation": allocation.model_dump(mode="json"),
        "lpj": lpj.model_dump(mode="json"),
        "labels": _labels(ctx),
    }
    cells = {(c.province, c.step): c for c in stalls.cells}
    return render(
        ctx,
        "dashboard.html",
        title=ctx.t("dash_title"),
        as_of=day.isoformat() if day else "",
        program=chosen.value if chosen else "",
        funnel=funnel,
        stalls=stalls,
        cells=cells,
        allocation=allocation,
        lpj=lpj,
        provinces=PROVINCE_CODES,
        data_json=_json_block(data),
        plotly_src=plotly_url(),
        plotly_css=plotly_url("css"),
        plotly_style_ids=plotly_script().style_ids,
    )


@router.get(PATH + "/lpj.{ext}")
async def lpj_export(ext: str, ctx: OfficerCtx, services: ServicesDep) -> Response:
    """`GET /reports/lpj?format=csv|xlsx` for a signed-in officer (the console's cookie, not a bearer)."""
    if ext not in ("csv", "xlsx"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no lpj.{ext}")
    found = await dashboard.lpj_outstanding(services.pool, officer=signed_in(ctx))
    rows = [[getattr(item, c) for c in LPJ_COLUMNS] for item in found.items]
    name = f"lpj-{dashboard.today_wib().isoformat()}"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{ext}"', "Cache-Control": "no-store"}
    if ext == "csv":
        return Response(
            exports.to_csv(LPJ_COLUMNS, rows), media_type="text/csv; charset=utf-8", headers=headers
        )
    return Response(exports.to_xlsx("LPJ", LPJ_COLUMNS, rows), media_type=XLSX_MEDIA_TYPE, headers=headers)
