"""The officer directory, for admins (role `admin`): list, read, create, change. Every change is
written by `infra.officers` and audited with the admin's id; a change of roles, regions, active or
password ends the officer's tokens (the token version), and every request sees it within
`JPS_OFFICER_CACHE_S` (at most a minute)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query, status

from api.deps import Admin, Paging, PoolDep
from api.errors import AUTHED, responses
from api.queries import officers
from api.schemas import OfficerIn, OfficerOut, OfficerPatch, Page
from api.schemas.officers import PRINTABLE
from infra.officers import OfficerExists, OfficerNotFound, create_officer, update_officer

router = APIRouter(prefix="/officers", tags=["officers"])

OfficerId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=PRINTABLE, description="The officer's login name")
]


@router.get(
    "",
    response_model=Page[OfficerOut],
    summary="The officer directory (admin)",
    responses=responses(*AUTHED, 422),
)
async def list_officers(
    admin: Admin,
    pool: PoolDep,
    paging: Paging,
    active: Annotated[bool | None, Query(description="only active (true) or inactive (false)")] = None,
    q: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="part of the id or name")
    ] = None,
) -> Page[OfficerOut]:
    return await officers.list_officers(pool, paging=paging, active=active, q=q)


@router.post(
    "",
    response_model=OfficerOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add an officer (admin); audited",
    responses=responses(*AUTHED, 409, 422),
)
async def add_officer(admin: Admin, pool: PoolDep, body: Annotated[OfficerIn, Body()]) -> OfficerOut:
    try:
        record = await create_officer(
            pool,
            actor=admin,
            officer_id=body.id,
            name=body.name,
            roles=body.roles,
            regions=body.regions,
            password=body.password,
            active=body.active,
        )
    except OfficerExists:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"officer {body.id} exists") from None
    return officers.officer_out(record)


@router.get(
    "/{officer_id}",
    response_model=OfficerOut,
    summary="One officer (admin)",
    responses=responses(*AUTHED, 404, 422),
)
async def get_officer(admin: Admin, pool: PoolDep, officer_id: OfficerId) -> OfficerOut:
    found = await officers.get_officer(pool, officer_id=officer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no officer {officer_id}")
    return found


@router.patch(
    "/{officer_id}",
    response_model=OfficerOut,
    summary="Change roles, regions, name, active, or reset the password (admin); audited",
    responses=responses(*AUTHED, 404, 422),
)
async def change_officer(
    admin: Admin, pool: PoolDep, officer_id: OfficerId, body: Annotated[OfficerPatch, Body()]
) -> OfficerOut:
    try:
        record = await update_officer(
            pool,
            actor=admin,
            officer_id=officer_id,
            name=body.name,
            roles=body.roles,
            regions=body.regions,
            active=body.active,
            password=body.password,
            clear_second_factor=body.clear_second_factor,
        )
    except OfficerNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no officer {officer_id}") from None
    return officers.officer_out(record)
