"""Grievances (pengaduan): the public forms (no sign-in, rate-limited) and the officers' cases.

Public: `POST /public/grievances` files one (201; the same answer whether or not the NIK or group
exist), `POST /public/grievances/{id}/info` answers a request for information and
`POST /public/grievances/{id}/reopen` reopens a decision within 14 days, each with the complainant's
NIK (an unknown case and someone else's NIK: the same 404). Officers, in their regions:
`GET /grievances`, `GET /grievances/{id}`, `POST /grievances` (walk-in) and one route per step,
`POST /grievances/{id}/actions/{action}`. The officer a misconduct case is about gets 404 for it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, status

from api.deps import CurrentOfficer, Paging, ServicesDep, TemporalDep, authorize
from api.errors import responses
from api.grievance_service import (
    READERS,
    admit_phone,
    admit_public,
    complainant_step,
    file_public,
    file_walk_in,
    officer_step,
)
from api.queries import grievances as queries
from api.schemas.common import Page
from api.schemas.grievances import (
    AcknowledgeIn,
    ComplainantIn,
    GrievanceIn,
    GrievanceItemOut,
    GrievanceOut,
    GrievanceRefOut,
    ReopenIn,
    RequestInfoIn,
    ResolveIn,
)
from jps.domain.grievances import GRIEVANCE_ACTIONS, GrievanceCategory, GrievanceStatus

router = APIRouter(tags=["grievances"])

GrievanceId = Annotated[str, Path(pattern=r"^GRV-[A-Z2-7]{10}$", max_length=14, examples=["GRV-ABCDEFGHIJ"])]
PublicLimit = Depends(admit_public)


# ---- public (no sign-in) ----


@router.post(
    "/public/grievances",
    status_code=status.HTTP_201_CREATED,
    response_model=GrievanceRefOut,
    summary="File a grievance (pengaduan): anyone, rate-limited",
    description="The answer never says whether the NIK exists or is in the group. Keep the id: it answers "
    "a request for information and reopens a decision.",
    dependencies=[PublicLimit],
    responses=responses(422, 429, 503),
)
async def file_public_grievance(
    request: Request, body: GrievanceIn, services: ServicesDep, client: TemporalDep
) -> GrievanceRefOut:
    admit_phone(request, body.phone)
    return await file_public(services, client, body)


@router.post(
    "/public/grievances/{grievance_id}/info",
    response_model=GrievanceRefOut,
    summary="The complainant answers a request for information (with their NIK)",
    dependencies=[PublicLimit],
    responses=responses(404, 409, 422, 429, 503),
)
async def provide_info(
    grievance_id: GrievanceId, body: ComplainantIn, client: TemporalDep
) -> GrievanceRefOut:
    return await complainant_step(client, grievance_id, body, reopen=False)


@router.post(
    "/public/grievances/{grievance_id}/reopen",
    response_model=GrievanceRefOut,
    summary="The complainant reopens a decision within 14 days (with their NIK)",
    dependencies=[PublicLimit],
    responses=responses(404, 409, 422, 429, 503),
)
async def reopen_public(
    grievance_id: GrievanceId, body: ComplainantIn, client: TemporalDep
) -> GrievanceRefOut:
    return await complainant_step(client, grievance_id, body, reopen=True)


# ---- officers ----


@router.get(
    "/grievances",
    response_model=Page[GrievanceItemOut],
    summary="Grievances in my regions (mine=true: those waiting on my roles, overdue first)",
    responses=responses(401, 403, 422),
)
async def list_grievances(
    officer: CurrentOfficer,
    services: ServicesDep,
    paging: Paging,
    grievance_status: Annotated[GrievanceStatus | None, Query(alias="status")] = None,
    category: GrievanceCategory | None = None,
    group_id: Annotated[str | None, Query(max_length=20, pattern=r"^(TKM|PK)-[0-9]{4}-[A-Z2-7]{10}$")] = None,
    overdue: bool | None = None,
    mine: bool = False,
) -> Page[GrievanceItemOut]:
    authorize(officer, roles=READERS, what="grievances")
    return await queries.list_grievances(
        services.pool,
        officer=officer,
        paging=paging,
        status=grievance_status,
        category=category,
        group_id=group_id,
        overdue=overdue,
        mine=mine,
    )


@router.get(
    "/grievances/{grievance_id}",
    response_model=GrievanceOut,
    summary="One grievance: the complaint, the bank's status of a payment grievance, every step",
    responses=responses(401, 403, 404, 422),
)
async def get_grievance(
    grievance_id: GrievanceId, officer: CurrentOfficer, services: ServicesDep
) -> GrievanceOut:
    authorize(officer, roles=READERS, what="grievances")
    case = await queries.get_grievance(services.pool, grievance_id=grievance_id, officer=officer)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such grievance")
    return case


@router.post(
    "/grievances",
    status_code=status.HTTP_201_CREATED,
    response_model=GrievanceRefOut,
    summary="File a grievance on someone's behalf (walk-in); Idempotency-Key honoured",
    responses=responses(401, 403, 422, 503),
)
async def file_walk_in_grievance(
    body: GrievanceIn,
    officer: CurrentOfficer,
    services: ServicesDep,
    client: TemporalDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> GrievanceRefOut:
    request_id = f"walk-in:{officer.id}:{idempotency_key}" if idempotency_key else None
    return await file_walk_in(services, client, officer, body, request_id=request_id)


def _action_route(action: str, body_model: type[Any]) -> None:
    spec = GRIEVANCE_ACTIONS[action]

    async def route(
        grievance_id: GrievanceId,
        body: Any,
        officer: CurrentOfficer,
        services: ServicesDep,
        client: TemporalDep,
    ) -> GrievanceRefOut:
        return await officer_step(services, client, officer, grievance_id, action, body)

    route.__name__ = f"grievance_{action.replace('-', '_')}"
    route.__annotations__["body"] = body_model  # a real class, not the string `from __future__` makes
    router.add_api_route(
        f"/grievances/{{grievance_id}}/actions/{action}",
        route,
        methods=["POST"],
        response_model=GrievanceRefOut,
        summary=spec.summary,
        responses=responses(401, 403, 404, 409, 422, 503),
    )


for _name, _model in (
    ("acknowledge", AcknowledgeIn),
    ("request-info", RequestInfoIn),
    ("resolve", ResolveIn),
    ("reopen", ReopenIn),
):
    _action_route(_name, _model)
