"""The client side of grievances: file one, send a step, read a case's state. The API (public form,
walk-in, inbound SMS) and the activities (the post-payment verification's "TIDAK") both call these,
so there is one way to start a case and one translation of a refusal (`infra.lifecycle.Refusal`).

Filing is idempotent on `request_id` (an inbound SMS's message id, a verification sample's id, a
form's key): the workflow id is derived from it and started with `USE_EXISTING`, so filing twice
returns the same case. Without one, each filing is a new case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any, Literal

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from infra.lifecycle import Refusal, refusal_from, update_with_start
from jps.contracts.grievances import GrievanceInput, GrievanceRef, GrievanceState
from jps.contracts.names import (
    GRIEVANCE_FILED_UPDATE,
    GRIEVANCE_STATE_QUERY,
    GRIEVANCE_WORKFLOW_TYPE,
)
from jps.contracts.refusals import RefusalKind
from jps.domain.grievances import GrievanceCategory, GrievancePolicy, load_grievance_policy
from jps.settings import get_settings

ID_PREFIX = "GRV-"


def grievance_id_for(request_id: str | None, key: str) -> str:
    """`GRV-` and 10 base32 characters: from the request id when there is one, else random. Keyed
    (`JPS_PHONE_HASH_KEY`, which the API and the worker both hold): a request id may be guessable
    (a verification sample's is `verify-<transfer id>-<member no>`, an SMS's the gateway's), and a
    case's id with the complainant's NIK is all the public forms ask; a plain hash would let a
    co-member find out who answered "TIDAK", and answer for them."""
    if not request_id:
        return ID_PREFIX + base64.b32encode(secrets.token_bytes(8)).decode()[:10]
    raw = hmac.new(key.encode(), f"grievance\n{request_id}".encode(), hashlib.sha256).digest()
    return ID_PREFIX + base64.b32encode(raw).decode()[:10]


async def file_grievance(
    client: Client,
    *,
    nik: str,
    phone: str,
    group_id: str | None,
    category: GrievanceCategory,
    text: str,
    channel: Literal["web", "sms", "walk_in", "verification"],
    about_officer: str | None = None,
    transfer_id: str | None = None,
    filed_by: str | None = None,
    request_id: str | None = None,
    task_queue: str | None = None,
    policy: GrievancePolicy | None = None,
) -> GrievanceRef:
    """Start the case's workflow (or join it, for a `request_id` filed before) and answer once it is
    written to PostgreSQL. `task_queue`: the worker's (default: the calling activity's queue inside an
    activity, else the settings'); `policy`: the SLAs (default: `JPS_GRIEVANCE_POLICY_FILE` or the
    defaults). The caller validates the NIK and phone; the workflow trusts them."""
    settings = get_settings()
    if task_queue is None:
        task_queue = activity.info().task_queue if activity.in_activity() else settings.temporal_task_queue
    grievance_id = grievance_id_for(request_id, settings.phone_hash_key)
    inp = GrievanceInput(
        grievance_id=grievance_id,
        nik=nik,
        phone=phone,
        group_id=group_id,
        category=category,
        text=text,
        channel=channel,
        about_officer=about_officer,
        transfer_id=transfer_id,
        filed_by=filed_by,
        request_id=request_id,
        policy=policy or load_grievance_policy(settings.grievance_policy_file),
    )
    start: WithStartWorkflowOperation[Any, GrievanceState] = WithStartWorkflowOperation(
        GRIEVANCE_WORKFLOW_TYPE,
        inp,
        id=grievance_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        result_type=GrievanceState,
    )
    try:
        ref = await update_with_start(client, GRIEVANCE_FILED_UPDATE, start, GrievanceRef)
    except WorkflowAlreadyStartedError:
        # Filed with this request id long ago and archived since: the same case, as it ended.
        state = await grievance_state(client, grievance_id)
        return GrievanceRef(grievance_id=grievance_id, status=state.status, due_at=state.due_at)
    except (WorkflowUpdateFailedError, RPCError) as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return ref


async def grievance_step(
    client: Client, grievance_id: str, update_name: str, args: BaseModel
) -> GrievanceRef:
    """One step (an officer's, or the complainant's) as a workflow update; a refusal as `Refusal`."""
    handle = client.get_workflow_handle(grievance_id)
    try:
        ref: GrievanceRef = await handle.execute_update(update_name, args, result_type=GrievanceRef)
    except (WorkflowUpdateFailedError, RPCError) as exc:
        refusal = _refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return ref


async def grievance_state(client: Client, grievance_id: str) -> GrievanceState:
    try:
        state: GrievanceState = await client.get_workflow_handle(grievance_id).query(
            GRIEVANCE_STATE_QUERY, result_type=GrievanceState
        )
    except RPCError as exc:
        refusal = _refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return state


def _refusal(exc: BaseException) -> Refusal | None:
    if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:
        if "completed" in exc.message or "closed" in exc.message:
            return Refusal(RefusalKind.WRONG_STAGE, "the grievance is archived; file a new one")
        return Refusal(RefusalKind.NOT_FOUND, "no such grievance")
    return refusal_from(exc)
