"""The client side of the group lifecycle: submit a proposal, send an officer's action, read the state.

The API, the importer and `jps seed-demo` all go through these functions, so there is one way to start
a group and one translation of a workflow's refusal into a `Refusal` with a kind the API maps to a
status (`api/errors.py`). They name the workflow and its messages with `jps.contracts.names`; nothing here
imports `workflows/`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from jps.contracts.names import REGISTERED_UPDATE, STATE_QUERY, WORKFLOW_TYPE
from jps.contracts.refusals import RefusalKind
from jps.contracts.workflow import GroupInput, GroupState
from jps.domain.models import GroupSummary, Officer, Proposal, StepResult
from jps.domain.programs import Program, ProgramPolicy
from jps.domain.stages import Stage
from jps.search_attributes import starting_search_attributes

R = TypeVar("R")

GROUP_ID_PREFIX: dict[Program, str] = {Program.TKM: "TKM", Program.PADAT_KARYA: "PK"}
_SUFFIX_LEN = 10


class Refusal(Exception):
    """The workflow (or the API on its behalf) refused a step. `kind` is the ApplicationError type:
    Forbidden, WrongStage, Invalid, NikConflict, NotFound, or IdempotencyMismatch."""

    def __init__(self, kind: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


def request_hash(proposal: Proposal) -> str:
    """sha256 of the proposal's canonical JSON: the same body always hashes the same."""
    body = json.dumps(proposal.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _suffix(raw: bytes) -> str:
    return base64.b32encode(raw).decode()[:_SUFFIX_LEN]


def idempotent_suffix(registrar: str, key: str) -> str:
    """The id suffix a (registrar, Idempotency-Key) pair always maps to."""
    return _suffix(hashlib.sha256(f"{registrar}\n{key}".encode()).digest())


def group_id_for(proposal: Proposal, suffix: str | None = None) -> str:
    """`TKM-3171-XXXXXXXXXX` / `PK-3171-XXXXXXXXXX`; a fresh random suffix unless one is given."""
    suffix = suffix or _suffix(secrets.token_bytes(8))
    return f"{GROUP_ID_PREFIX[proposal.program]}-{proposal.region_code}-{suffix}"


def id_suffix(group_id: str) -> str:
    return group_id.rsplit("-", 1)[-1]


def refusal_from(exc: BaseException) -> Refusal | None:
    """The Refusal a Temporal client error stands for, or None when it is not a refusal (a fault)."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, WorkflowUpdateFailedError):
        cause: BaseException | None = exc.cause
        # A validator's ApplicationError arrives directly; a handler's may be wrapped once more.
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = cause.__cause__
        if isinstance(cause, ApplicationError):
            details = cause.details[0] if cause.details else None
            return Refusal(cause.type or RefusalKind.INVALID, cause.message, details)
        return Refusal(RefusalKind.INVALID, str(exc.cause or exc))
    if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:
        if "completed" in exc.message or "closed" in exc.message:
            return Refusal(
                RefusalKind.WRONG_STAGE, "the group's lifecycle has ended; no further steps are possible"
            )
        return Refusal(RefusalKind.NOT_FOUND, "no such group")
    return None


async def submit_proposal(
    client: Client,
    *,
    proposal: Proposal,
    policy: ProgramPolicy,
    submitted_by: str,
    task_queue: str,
    group_id: str,
) -> GroupSummary:
    """Start the group's workflow (or join it, for a retried Idempotency-Key) and wait until the group
    is registered in PostgreSQL. A retry with a different body is refused (IdempotencyMismatch)."""
    body_hash = request_hash(proposal)
    start: WithStartWorkflowOperation[Any, GroupSummary] = WithStartWorkflowOperation(
        WORKFLOW_TYPE,
        GroupInput(
            group_id=group_id,
            proposal=proposal,
            policy=policy,
            submitted_by=submitted_by,
            request_hash=body_hash,
        ),
        id=group_id,
        task_queue=task_queue,
        search_attributes=starting_search_attributes(proposal.program.value, proposal.region_code),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        result_type=GroupSummary,
    )
    try:
        state: GroupSummary = await update_with_start(client, REGISTERED_UPDATE, start, GroupSummary)
    except WorkflowAlreadyStartedError:
        # The first submission with this key already ran to an end (rejected, cancelled, completed):
        # answer what it ended with rather than starting anything.
        state = await query_state(client, group_id)
        if state.seq == 0 and state.stage == Stage.REJECTED:
            # It ended without ever being registered: the first attempt was refused; so is this one.
            raise Refusal(RefusalKind.NIK_CONFLICT, state.outcome_reason) from None
    except (WorkflowUpdateFailedError, RPCError) as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from exc
    if state.request_hash and state.request_hash != body_hash:
        raise Refusal(
            RefusalKind.IDEMPOTENCY_MISMATCH,
            f"Idempotency-Key reused with a different body (it created {state.group_id})",
        )
    return state


async def update_with_start(
    client: Client, update: str, start: WithStartWorkflowOperation[Any, Any], result_type: type[R]
) -> R:
    """`execute_update_with_start_workflow`, leaving no failed start unheard. The SDK keeps the
    start's outcome in a future of the operation's own; after a refused start nobody awaits it, and
    asyncio logs it when the future is collected, formatting its traceback inside whatever the
    collector interrupted (jps/ast_lock.py says why that matters)."""
    try:
        result: R = await client.execute_update_with_start_workflow(
            update, start_workflow_operation=start, result_type=result_type
        )
    except BaseException:
        outcome = getattr(start, "_workflow_handle", None)
        if isinstance(outcome, asyncio.Future) and outcome.done() and not outcome.cancelled():
            outcome.exception()  # heard: the caller handles the error raised here
        raise
    return result


async def act(client: Client, group_id: str, update_name: str, args: BaseModel) -> StepResult:
    """Send one officer action as a workflow update; which step it was (group, seq, stage) once the
    workflow accepted and recorded it. The state is in the read model by then (or ask `query_state`).
    An update answered by older workflow code carries the whole GroupSummary: it decodes the same."""
    handle = client.get_workflow_handle(group_id)
    try:
        result: StepResult = await handle.execute_update(update_name, args, result_type=StepResult)
    except (WorkflowUpdateFailedError, RPCError) as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return result


async def act_then_state(client: Client, group_id: str, update_name: str, args: BaseModel) -> GroupState:
    """`act`, then the workflow's state once the step is taken (for the operator's tools, which read no
    read model): the state, NIKs in clear, as of this step or later."""
    await act(client, group_id, update_name, args)
    return await query_state(client, group_id)


async def query_state(client: Client, group_id: str) -> GroupState:
    """The authoritative state, NIKs in clear: never hand it to a client without masking."""
    try:
        result: GroupState = await client.get_workflow_handle(group_id).query(
            STATE_QUERY, result_type=GroupState
        )
    except RPCError as exc:
        refusal = refusal_from(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return result


def with_officer(args: BaseModel, officer: Officer) -> BaseModel:
    """A copy of an action's arguments carrying the acting officer (from the token, never the body)."""
    return args.model_copy(update={"officer": officer})
