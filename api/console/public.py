"""The console's pages for everyone: sign in and out (the token kept in an HttpOnly, SameSite=Strict
browser-session cookie) and the static files (one stylesheet, one small script)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.render import SIGN_IN_PATH, ConsoleRoute, render, safe_next, static_text
from api.console.session import TOKEN_COOKIE, PublicCtx
from jps.auth import TokenError, decode_token

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


# ---- sign in and out ----


@router.get("/masuk", response_class=HTMLResponse)
async def sign_in_page(ctx: PublicCtx, next: str | None = None) -> HTMLResponse:
    return render(
        ctx,
        "sign_in.html",
        title=ctx.t("sign_in_title"),
        next=safe_next(next),
        error=None,
        signed_out=ctx.request.query_params.get("keluar") == "1",
    )


@router.post("/masuk", response_class=HTMLResponse)
async def sign_in(ctx: PublicCtx) -> Response:
    form = await ctx.request.form()
    raw = form.get("token")
    token = raw.strip() if isinstance(raw, str) else ""
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    target = form.get("next")
    next_path = safe_next(target if isinstance(target, str) else None)
    error: str
    if not token:
        error = ctx.t("sign_in_empty")
    else:
        try:
            decode_token(token, ctx.services.settings.jwt_secret)
        except TokenError as exc:
            error = f"{ctx.t('sign_in_bad_token')}: {exc}"
        else:
            response = RedirectResponse(next_path, status_code=status.HTTP_303_SEE_OTHER)
            # A browser-session cookie: gone when the browser closes, refused by the server once the
            # token's own `exp` passes. Script cannot read it; another site cannot send it; in
            # production it travels over HTTPS only (behind a TLS proxy the app may see plain http).
            response.set_cookie(
                TOKEN_COOKIE,
                token,
                httponly=True,
                samesite="strict",
                path="/",
                secure=ctx.request.url.scheme == "https" or ctx.services.settings.production,
            )
            return response
    return render(
        ctx,
        "sign_in.html",
        status_code=401,
        title=ctx.t("sign_in_title"),
        next=next_path,
        error=error,
        signed_out=False,
    )


@router.post("/keluar")
async def sign_out(ctx: PublicCtx) -> RedirectResponse:
    response = RedirectResponse(f"{SIGN_IN_PATH}?keluar=1", status_code=status.HTTP_303_SEE_OTHER)
    secure = ctx.request.url.scheme == "https" or ctx.services.settings.production
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    return response


# ---- static files: one stylesheet, one small script ----

_STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


@router.get("/aset/{name}")
async def asset(name: str) -> Response:
    if name not in _STATIC:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no asset {name}")
    return Response(
        static_text(name),
        media_type=_STATIC[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
