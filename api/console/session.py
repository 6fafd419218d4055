"""Who is looking at a console page, and in which language.

The officer comes from the bearer token the officer pasted at sign-in, kept in an HttpOnly,
SameSite=Strict cookie and checked on every request with `jps.auth.decode_token`, exactly as the
JSON API checks its `Authorization` header; roles and regions are then checked by `api.deps.authorize`.
An officer who holds no role but `admin` is refused every officer's page (`api.deps.refuse_admin_only`,
as the API refuses them every route but the directory's) and shown what an admin does instead.
The language is `?lang=` when given (remembered in a cookie), else the cookie, else Bahasa Indonesia.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlsplit

import structlog
from fastapi import Depends, HTTPException, Request, status

from api.console.i18n import DEFAULT_LANG, Lang, Translator, parse_lang
from api.deps import Services, officer_of_token, refuse_admin_only
from api.errors import unauthorized
from jps.domain.models import Officer
from jps.domain.roles import Role, manages_officers_only

TOKEN_COOKIE = "jps_console_token"
LANG_COOKIE = "jps_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass
class Ctx:
    """What every console page needs: the request, the services, the language, maybe the officer."""

    request: Request
    services: Services
    lang: Lang
    remember_lang: bool  # `?lang=` was given: the response sets the cookie
    officer: Officer | None = None
    page_url: str = ""  # the GET address of this page (the language switch links to it)
    t: Translator = field(init=False)

    def __post_init__(self) -> None:
        self.t = Translator(self.lang)
        if not self.page_url:
            self.page_url = self.request.url.path

    @property
    def manages_officers_only(self) -> bool:
        """An admin with no other role: no page of the console but sign-out is theirs (issue 11)."""
        return self.officer is not None and manages_officers_only(self.officer.roles)

    @property
    def is_auditor(self) -> bool:
        return self.officer is not None and Role.AUDITOR in self.officer.roles

    @property
    def reads_reconciliation(self) -> bool:
        """Finance resolves the bank reconciliation's mismatches; auditors read them."""
        return self.officer is not None and bool({Role.FINANCE, Role.AUDITOR} & set(self.officer.roles))


def language_of(request: Request) -> tuple[Lang, bool]:
    asked = parse_lang(request.query_params.get("lang"))
    if asked is not None:
        return asked, True
    return parse_lang(request.cookies.get(LANG_COOKIE)) or DEFAULT_LANG, False


async def officer_from_cookie(request: Request, services: Services) -> Officer:
    """The signed-in officer as the directory has it, or 401 (the console answers that with the
    sign-in page): the same check as the API's (`api.deps.officer_of_token`)."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise unauthorized()
    officer = await officer_of_token(services, token)
    structlog.contextvars.bind_contextvars(officer=officer.id)
    return officer


def check_same_origin(request: Request) -> None:
    """A form post must come from a console page: with SameSite=Strict the cookie already stays
    home, and a foreign Origin (or Referer) header is refused outright as a second lock."""
    if request.method in ("GET", "HEAD"):
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return  # old browsers and non-browser clients send neither; the cookie rule still holds
    # Behind a reverse proxy the browser's host is in X-Forwarded-Host.
    hosts = {request.headers.get("host", request.url.netloc), request.headers.get("x-forwarded-host")}
    if urlsplit(source).netloc not in hosts:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="origin")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _public_ctx(request: Request) -> Ctx:
    check_same_origin(request)
    lang, remember = language_of(request)
    return Ctx(request, _services(request), lang, remember)


async def _officer_ctx(request: Request) -> Ctx:
    check_same_origin(request)
    lang, remember = language_of(request)
    services = _services(request)
    officer = await officer_from_cookie(request, services)
    refuse_admin_only(officer)  # as the API's CurrentOfficer: the console has no directory pages
    return Ctx(request, services, lang, remember, officer=officer)


PublicCtx = Annotated[Ctx, Depends(_public_ctx)]
OfficerCtx = Annotated[Ctx, Depends(_officer_ctx)]


def signed_in(ctx: Ctx) -> Officer:
    assert ctx.officer is not None, "OfficerCtx always carries the officer"
    return ctx.officer


async def optional_ctx(request: Request) -> Ctx:
    """For error pages: the language and, when the cookie holds a good token, the officer."""
    lang, remember = language_of(request)
    services = _services(request)
    try:
        officer: Officer | None = await officer_from_cookie(request, services)
    except HTTPException:
        officer = None
    return Ctx(request, services, lang, remember, officer=officer)
