"""The public status lookup (cek status bantuan): `GET /public/status?group_id=…&nik=…`, no sign-in.

A member sees their group's programme, stage and next step in plain words, and their payments (TKM:
the group's transfer; Padat Karya: their own wages), accounts masked, nothing about other members.
An unknown group and a NIK not in it answer the same 404, from the same single query (no oracle).
Each client address gets `JPS_PUBLIC_STATUS_PER_MINUTE` lookups a minute (`api.limits.RateLimiter`,
the sign-in's limiter), then 429. The limiter, the lookup and its count are `api/public_status.py`,
which the console's page shares.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api.deps import PoolDep
from api.errors import responses
from api.public_status import GROUP_ID_PATTERN, NIK_PATTERN, admit_lookup, lookup
from api.schemas.verification import PublicStatusOut

router = APIRouter(prefix="/public", tags=["public"])

NOT_FOUND_DETAIL = "group not found, or this NIK is not a member of it"


@router.get(
    "/status",
    response_model=PublicStatusOut,
    summary="A member's view of their group (no sign-in; rate-limited)",
    description=(
        "The programme, the stage (its code and plain words in Bahasa Indonesia), the next step and when "
        "it is due, and the payments (amount, status, date paid, account masked): TKM, the group's "
        "transfer; Padat Karya, the member's own wages. An unknown group and a NIK not in the group get "
        "the same 404. Limited per client address (`JPS_PUBLIC_STATUS_PER_MINUTE` a minute): 429."
    ),
    responses=responses(404, 422, 429),
    dependencies=[Depends(admit_lookup)],
)
async def public_status(
    pool: PoolDep,
    group_id: Annotated[str, Query(pattern=GROUP_ID_PATTERN, description="The group's id (ID kelompok)")],
    nik: Annotated[str, Query(pattern=NIK_PATTERN, description="The member's own NIK, 16 digits")],
) -> PublicStatusOut:
    found = await lookup(pool, group_id=group_id, nik=nik)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND_DETAIL)
    return found
