"""The console's pages for everyone: sign in and out (the token kept in an HttpOnly, SameSite=Strict
browser-session cookie) and the static files (one stylesheet, one small script)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from api.console.render import SIGN_IN_PATH, ConsoleRoute, render, safe_next, static_text
from api.console.session import TOKEN_COOKIE, Ctx, PublicCtx
from api.deps import officer_of_token
from api.routes.auth import SignInRefused, check_password, check_second_factor, client_of, issue_token
from infra.officers import open_totp, pending_aad, seal_totp, set_totp
from jps import totp

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
        username="",
    )


def _field(form: Any, name: str) -> str:
    raw = form.get(name)
    return raw.strip() if isinstance(raw, str) else ""


def _signed_in(ctx: Ctx, token: str, next_path: str) -> Response:
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


def _enrol_page(ctx: Ctx, officer_id: str, next_path: str, error: str | None) -> HTMLResponse:
    """A new TOTP secret as a QR code (and as text), sealed into the form: the officer scans it,
    types the password again and the first code; `sign_in` stores it once the code matches."""
    import segno

    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, officer_id)
    return render(
        ctx,
        "enrol_totp.html",
        status_code=401,
        title=ctx.t("enrol_title"),
        next=next_path,
        error=error,
        username=officer_id,
        secret=secret,
        qr=Markup(segno.make(uri, error="m").svg_inline(scale=4, title=ctx.t("enrol_qr_title"))),
        pending=seal_totp(ctx.services.settings.totp_seal_key, pending_aad(officer_id), secret),
    )


@router.post("/masuk", response_class=HTMLResponse)
async def sign_in(ctx: PublicCtx) -> Response:
    """A username and password (and a one-time code where a second factor is required), checked by
    the API's own sign-in (`api.routes.auth`); a first sign-in of an officer who needs a second factor
    enrols one. A token pasted instead (`token`, for scripts and `jps token`) is checked like any
    request's: against the directory."""
    form = await ctx.request.form()
    next_path = safe_next(_field(form, "next") or None)
    username, password, otp = _field(form, "username"), _field(form, "password"), _field(form, "otp")
    pending = _field(form, "pending")
    error: str
    if username or password:
        services = ctx.services
        client = client_of(ctx.request)
        try:
            record = await check_password(services, username, password, client)
            if pending and record.totp_sealed is None:
                secret = open_totp(services.settings.totp_seal_key, pending_aad(record.id), pending)
                if secret is None or not totp.verify(secret, otp):
                    return _enrol_page(ctx, record.id, next_path, ctx.t("sign_in_bad_otp"))
                sealed = seal_totp(services.settings.totp_seal_key, record.id, secret)
                await set_totp(services.pool, officer_id=record.id, sealed=sealed)
            else:
                await check_second_factor(services, record, otp, client)
            issued = await issue_token(services, record, client)
        except SignInRefused as refused:
            if refused.enrol is not None:
                return _enrol_page(ctx, refused.enrol.id, next_path, None)
            error = ctx.t(_SIGN_IN_ERRORS.get(refused.status_code, "sign_in_failed"))
            if refused.reason in ("otp_missing", "wrong_otp"):
                error = ctx.t("sign_in_bad_otp")
            return render(
                ctx,
                "sign_in.html",
                status_code=refused.status_code,
                title=ctx.t("sign_in_title"),
                next=next_path,
                error=error,
                signed_out=False,
                username=username,
            )
        return _signed_in(ctx, issued.access_token, next_path)
    token = _field(form, "token")
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        error = ctx.t("sign_in_empty")
    else:
        try:
            await officer_of_token(ctx.services, token)
        except HTTPException as exc:
            error = f"{ctx.t('sign_in_bad_token')}: {exc.detail}"
        else:
            return _signed_in(ctx, token, next_path)
    return render(
        ctx,
        "sign_in.html",
        status_code=401,
        title=ctx.t("sign_in_title"),
        next=next_path,
        error=error,
        signed_out=False,
        username="",
    )


_SIGN_IN_ERRORS = {
    401: "sign_in_failed",
    403: "sign_in_failed",
    423: "sign_in_locked",
    429: "sign_in_too_many",
}


@router.post("/keluar")
async def sign_out(ctx: PublicCtx) -> RedirectResponse:
    response = RedirectResponse(f"{SIGN_IN_PATH}?keluar=1", status_code=status.HTTP_303_SEE_OTHER)
    secure = ctx.request.url.scheme == "https" or ctx.services.settings.production
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    return response


# ---- static files: one stylesheet, one small script ----

_STATIC = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "dasbor.js": "text/javascript; charset=utf-8",  # the dashboard's charts (api/console/dashboard.py)
}


@router.get("/aset/{name}")
async def asset(name: str) -> Response:
    if name not in _STATIC:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no asset {name}")
    return Response(
        static_text(name),
        media_type=_STATIC[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
