"""The checks a grievance step passes before it changes anything. Pure functions of the state; a
failed check is a refusal the API maps to a status (403, 404, 409, 422), and a refused update
writes nothing, not even to the history.

The officer a misconduct grievance is about (`about_officer`) is told the case does not exist
(NotFound), as the API's listing and detail do: that officer never sees it nor handles it. A
complainant who does not prove the case is theirs (the NIK on the public page, the number that filed
it by SMS) is told the same, so the answer is no oracle for grievance ids."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from jps.contracts.grievances import ComplainantArgs, GrievanceInput, GrievanceState
from jps.contracts.refusals import RefusalKind
from jps.domain.grievances import GRIEVANCE_ACTIONS, GrievanceStatus
from jps.domain.models import Officer
from jps.domain.roles import Role, region_in_scope

NOT_FOUND = "no such grievance"


def refuse(kind: RefusalKind, message: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def authorize_officer(
    state: GrievanceState, inp: GrievanceInput, action: str, officer: Officer | None
) -> Officer:
    spec = GRIEVANCE_ACTIONS[action]
    if officer is None:
        raise refuse(RefusalKind.FORBIDDEN, "officer: the acting officer is missing")
    if state.about_officer and officer.id == state.about_officer:
        raise refuse(RefusalKind.NOT_FOUND, NOT_FOUND)
    handler = inp.policy.rule(state.category).handler
    allowed = (Role.SUPERVISOR,) if spec.supervisor_only else (handler, Role.SUPERVISOR)
    if not set(officer.roles) & set(allowed):
        raise refuse(
            RefusalKind.FORBIDDEN, f"{action} needs one of the roles: {', '.join(r.value for r in allowed)}"
        )
    if not state.registered:
        raise refuse(RefusalKind.WRONG_STAGE, "the grievance is not registered yet")
    if not region_in_scope(state.region_code, officer.regions):
        raise refuse(
            RefusalKind.FORBIDDEN, f"grievance region {state.region_code} is outside the officer's scope"
        )
    if state.status not in spec.statuses:
        raise refuse(
            RefusalKind.WRONG_STAGE, f"{action} is not allowed while the grievance is {state.status.value}"
        )
    return officer


def check_complainant(
    state: GrievanceState, inp: GrievanceInput, args: ComplainantArgs, statuses: tuple[GrievanceStatus, ...]
) -> None:
    proven = (args.via == "web" and args.nik == inp.nik) or (args.via == "sms" and args.phone == inp.phone)
    if not proven or not state.registered:
        raise refuse(RefusalKind.NOT_FOUND, NOT_FOUND)
    if state.status not in statuses:
        raise refuse(RefusalKind.WRONG_STAGE, f"not possible while the grievance is {state.status.value}")
