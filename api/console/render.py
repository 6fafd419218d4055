"""Templates to HTML responses: the Jinja environment, the page headers, readable error pages, and
the route class that turns any refusal on a console page into a page (never a stack trace).

Every page passes one last NIK check on its way out: a run of 16 digits is masked whatever put it
there, so an officer's search text or a free-form note cannot show a NIK in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import ValidationError

from api.console import formatting
from api.console.i18n import LANGS, Translator
from api.console.session import LANG_COOKIE, LANG_COOKIE_MAX_AGE, TOKEN_COOKIE, Ctx, optional_ctx
from api.errors import audit_forbidden
from jps.domain.nik import mask_niks_in

log = structlog.get_logger()

HERE = Path(__file__).parent
SIGN_IN_PATH = "/masuk"

ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def code(text: str) -> Markup:
    return Markup("<code>{}</code>").format(text)


ENV.globals["code"] = code
ENV.filters.update(
    rupiah=formatting.rupiah,
    number=formatting.number,
    day=formatting.day,
    moment=formatting.moment,
    iso_day=formatting.iso_day,
    detail=formatting.detail,
)

# Pages carry personal data: never cached, never framed, no outside script or style.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def url_with(request: Request, path: str | None = None, **changes: Any) -> str:
    """This page's address with some query parameters changed (None or '' drops one)."""
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    target = path if path is not None else request.url.path
    return f"{target}?{urlencode(params)}" if params else target


def render(
    ctx: Ctx, template: str, *, status_code: int = 200, title: str = "", **values: Any
) -> HTMLResponse:
    other = next(lang for lang in LANGS if lang != ctx.lang)
    page = ENV.get_template(template).render(
        ctx=ctx,
        t=ctx.t,
        officer=ctx.officer,
        lang=ctx.lang,
        title=title,
        lang_switch_url=_with_lang(ctx.page_url, other),
        current_path=ctx.request.url.path,
        url_with=lambda **kw: url_with(ctx.request, **kw),
        **values,
    )
    response = HTMLResponse(mask_niks_in(page), status_code=status_code, headers=SECURITY_HEADERS)
    if ctx.remember_lang:
        response.set_cookie(
            LANG_COOKIE,
            ctx.lang,
            max_age=LANG_COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=ctx.request.url.scheme == "https" or ctx.services.settings.production,
        )
    return response


def _with_lang(page_url: str, lang: str) -> str:
    base, _, query = page_url.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("lang=")]
    return f"{base}?{'&'.join([*kept, f'lang={lang}'])}"


def readable(detail: Any, t: Translator) -> list[str]:
    """FastAPI's `detail` (a sentence, or a list naming each field) as lines an officer can read."""
    if isinstance(detail, list):
        lines = []
        for error in detail:
            loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
            field = ".".join(loc)
            label = t(loc[-1]) if loc and t.has(loc[-1]) else field
            lines.append(f"{label}: {error.get('msg', '')}" if label else str(error.get("msg", "")))
        return [str(mask_niks_in(line)) for line in lines]
    return [str(mask_niks_in(str(detail)))]


def validation_lines(exc: ValidationError | RequestValidationError, t: Translator) -> list[str]:
    errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc.errors()
    return readable([{"loc": e.get("loc", ()), "msg": e.get("msg", "")} for e in errors], t)


def error_page(ctx: Ctx, status_code: int, detail: Any) -> HTMLResponse:
    t = ctx.t
    lines: list[str]
    heading = t(f"error_{status_code}") if t.has(f"error_{status_code}") else t("error_title")
    if detail == "origin":
        lines = [t("error_origin")]
    elif status_code >= 500 and status_code != 503:
        lines = [t("error_500_detail")]
    elif status_code == 403 and ctx.manages_officers_only:  # not a refusal of one page: of all of them
        heading = t("admin_only_title")
        lines = [
            t(
                "admin_only_detail",
                api=code("/officers"),
                cli=code("jps officer"),
                docs=Markup('<a href="/docs">/docs</a>'),
            )
        ]
    else:
        lines = readable(detail, t)
    return render(ctx, "error.html", status_code=status_code, title=heading, lines=lines)


def sign_in_redirect(request: Request, *, clear: bool) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    where = SIGN_IN_PATH if request.method != "GET" else f"{SIGN_IN_PATH}?next={quote(target, safe='')}"
    response = RedirectResponse(where, status_code=303)
    if clear:
        response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


class ConsoleRoute(APIRoute):
    """A console route: a 401 leads to the sign-in page; any other refusal, invalid input or fault
    is answered with a readable page and its status code."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == 401:
                    return sign_in_redirect(request, clear=TOKEN_COOKIE in request.cookies)
                ctx = await optional_ctx(request)
                await audit_forbidden(request, exc, ctx.officer)  # a 403 on a page is audited too
                return error_page(ctx, exc.status_code, exc.detail)
            except RequestValidationError as exc:
                return error_page(await optional_ctx(request), 422, list(exc.errors()))
            except Exception as exc:
                log.exception("console_page_failed", path=request.url.path, error=repr(exc))
                return error_page(await optional_ctx(request), 500, None)

        return handle


@lru_cache
def static_text(name: str) -> str:
    return (HERE / "static" / name).read_text(encoding="utf-8")


def safe_next(target: str | None) -> str:
    """Only a path on this site (never `//elsewhere` or a full URL) may follow a sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
