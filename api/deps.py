"""What a route may ask for, as `Annotated` aliases: the settings, the pool, the Temporal client, the
officer behind the bearer token, and the group the officer may act on. Role and region checks live
here, in `authorize`, and nowhere else; so does the refusal of an officer who holds no role but
`admin` (`refuse_admin_only`, in `CurrentOfficer`: only the directory's routes, `Admin`, skip it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
import structlog
from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.errors import forbidden, refused, unauthorized
from api.limits import RateLimiter
from api.queries import groups
from api.queries.common import PageParams
from api.queries.officers import Directory
from api.schemas import GroupOut
from infra.filestore import FileStore, file_store
from infra.temporal import connect
from jps.auth import TokenError, decode_claims
from jps.domain.actions import ActionSpec
from jps.domain.models import Officer
from jps.domain.programs import Program, ProgramPolicy, load_policies
from jps.domain.roles import Role, manages_officers_only, region_in_scope
from jps.settings import Settings

log = structlog.get_logger()


class TemporalConnection:
    """The API's Temporal client, connected on first use and again after a failed attempt, so the API
    starts (and answers /health) while Temporal is still coming up."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await connect(self._settings)
        return self._client


@dataclass
class Services:
    """Held on `app.state.services`, built once by the app's lifespan (or handed in by tests)."""

    settings: Settings
    pool: asyncpg.Pool
    temporal: TemporalConnection
    policies: dict[Program, ProgramPolicy]
    directory: Directory
    sign_in_limiter: RateLimiter
    files: FileStore  # evidence files (infra/filestore.py), as JPS_FILE_STORE chooses

    @classmethod
    def build(cls, settings: Settings, pool: asyncpg.Pool, client: Client | None = None) -> Services:
        return cls(
            settings,
            pool,
            TemporalConnection(settings, client),
            load_policies(settings.policy_file),
            Directory(pool, settings.officer_cache_s),
            RateLimiter(settings.signin_per_minute),
            file_store(settings),
        )


# Dependencies are `async def` even when they do no I/O: FastAPI runs a plain `def` dependency in a
# thread pool: a thread hop per request, which the bench's profile of the API showed on every call.


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _services_dep(request: Request) -> Services:
    return _services(request)


async def _settings(request: Request) -> Settings:
    return _services(request).settings


async def _pool(request: Request) -> asyncpg.Pool:
    return _services(request).pool


async def _temporal(request: Request) -> Client:
    try:
        return await _services(request).temporal.get()
    except (RuntimeError, OSError) as exc:
        log.warning("temporal_unavailable", error=str(exc))  # its text names the host: the log only
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="temporal unavailable") from None


async def _files(request: Request) -> FileStore:
    return _services(request).files


ServicesDep = Annotated[Services, Depends(_services_dep)]
SettingsDep = Annotated[Settings, Depends(_settings)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
TemporalDep = Annotated[Client, Depends(_temporal)]
FilesDep = Annotated[FileStore, Depends(_files)]

_bearer = HTTPBearer(auto_error=False, description="An officer token from `POST /auth/token` or `jps token`")


async def officer_of_token(services: Services, token: str) -> Officer:
    """The officer a token names, as the directory has it now: 401 unless the token is valid, the
    officer is in the directory, active, and the token carries the officer's current token version.
    The roles and regions are the directory's, never the token's."""
    try:
        claimed, version = decode_claims(token, services.settings.jwt_secret)
    except TokenError as exc:
        raise unauthorized(f"Invalid token: {exc}") from None
    record = await services.directory.lookup(claimed.id)
    if record is None or not record.active:
        raise unauthorized("Unknown or inactive officer")
    if record.token_version != version:
        raise unauthorized("Token revoked: sign in again")
    return record.officer()


async def _signed_in_officer(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Officer:
    """The officer behind the bearer token, whatever their roles: only the directory's own routes
    (`Admin`) take this one; every other route takes `CurrentOfficer`."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized()
    officer = await officer_of_token(services, credentials.credentials)
    structlog.contextvars.bind_contextvars(officer=officer.id)
    request.state.officer = officer  # who a 403 is audited against (api.errors.http_exception_handler)
    return officer


SignedInOfficer = Annotated[Officer, Depends(_signed_in_officer)]

ADMIN_ONLY_REFUSAL = (
    "an officer with no role but admin manages officers only (/officers); ask an admin for a role "
    "to work on groups"
)


def refuse_admin_only(officer: Officer) -> None:
    """403 for an officer who holds no role but `admin`: the directory's routes are theirs, nothing
    else (issue 11). Every route that names an officer, the console's pages too, passes here."""
    if manages_officers_only(officer.roles):
        raise forbidden(ADMIN_ONLY_REFUSAL)


async def _current_officer(officer: SignedInOfficer) -> Officer:
    refuse_admin_only(officer)
    return officer


CurrentOfficer = Annotated[Officer, Depends(_current_officer)]


# ---- authorization: the one place ----


def authorize(officer: Officer, *, roles: Iterable[Role] = (), region: str | None = None, what: str) -> None:
    """403 unless the officer holds one of `roles` (when given) and `region` lies in their scope."""
    wanted = tuple(roles)
    if wanted and not set(officer.roles) & set(wanted):
        raise forbidden(f"{what} needs the role {' or '.join(r.value for r in wanted)}")
    if region is not None and not region_in_scope(region, officer.regions):
        raise forbidden(f"region {region} is outside your scope ({', '.join(officer.regions) or 'none'})")


def require(*roles: Role) -> Callable[[Officer], Awaitable[Officer]]:
    """A dependency that lets through officers holding one of `roles`."""

    async def dependency(officer: CurrentOfficer) -> Officer:
        authorize(officer, roles=roles, what="this endpoint")
        return officer

    return dependency


async def _directory_admin(officer: SignedInOfficer) -> Officer:
    """The officer directory's routes: an admin, with or without other roles. The one exception to
    `refuse_admin_only`."""
    authorize(officer, roles=(Role.ADMIN,), what="this endpoint")
    return officer


Registrar = Annotated[Officer, Depends(require(Role.REGISTRAR))]
Admin = Annotated[Officer, Depends(_directory_admin)]
Auditor = Annotated[Officer, Depends(require(Role.AUDITOR))]


async def _group_in_scope(
    group_id: Annotated[str, Path(description="The group id, e.g. TKM-3171-AB12CD34EF")],
    officer: CurrentOfficer,
    pool: PoolDep,
) -> GroupOut:
    return await read_group(pool, officer, group_id)


async def read_group(pool: asyncpg.Pool, officer: Officer, group_id: str) -> GroupOut:
    """The group, when it lies in the officer's scope: 404 when there is none, 403 outside scope."""
    group = await groups.get_group(pool, group_id=group_id)
    if group is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no group {group_id}")
    authorize(officer, region=group.region_code, what="reading this group")
    return group


ScopedGroup = Annotated[GroupOut, Depends(_group_in_scope)]


@dataclass(frozen=True)
class ActionContext:
    officer: Officer
    group_id: str
    region_code: str
    stage: str


async def guard_action(
    pool: asyncpg.Pool, officer: Officer, spec: ActionSpec, group_id: str
) -> ActionContext:
    """The cheap check before a Temporal round trip: the group exists, the role fits the action and
    the group lies in the officer's scope. A refusal is recorded in the audit log."""
    return await guard_place(pool, officer, spec, group_id, await groups.group_place(pool, group_id=group_id))


async def guard_place(
    pool: asyncpg.Pool, officer: Officer, spec: ActionSpec, group_id: str, place: groups.GroupPlace | None
) -> ActionContext:
    """`guard_action` on a place already read (a bulk request reads all its groups' places at once)."""
    if place is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no group {group_id}")
    try:
        authorize(officer, roles=spec.roles, region=place.region_code, what=spec.name)
    except HTTPException as exc:
        raise await refused(
            pool, exc, officer=officer, group_id=group_id, stage=place.stage, action=spec.name
        ) from None
    return ActionContext(officer, group_id, place.region_code, place.stage)


def action_guard(spec: ActionSpec) -> Callable[..., Awaitable[ActionContext]]:
    async def dependency(
        group_id: Annotated[str, Path(description="The group id")], officer: CurrentOfficer, pool: PoolDep
    ) -> ActionContext:
        return await guard_action(pool, officer, spec, group_id)

    return dependency


async def _page_params(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    size: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
) -> PageParams:
    return PageParams(page, size)


Paging = Annotated[PageParams, Depends(_page_params)]
