"""What the routes do beyond reading: submit a proposal and perform an officer's action, each once
for the single request, the bulk request and the importer alike. The workflow decides; this module
checks what is cheap to check first, calls `infra.lifecycle`, and turns refusals into HTTP errors
(recording the ones auditors want to see). Reading is `api.queries`' business."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ActionContext, Services, authorize
from api.errors import forbidden, http_error, refused, unprocessable
from api.queries import groups, reconciliation
from api.queries.evidence import lpj_problems
from api.schemas.reconciliation import MismatchOut, MismatchResolveIn
from infra import lifecycle
from infra.lifecycle import Refusal
from jps.contracts.refusals import RefusalKind
from jps.domain.actions import ACTIONS, ActionSpec
from jps.domain.models import (
    GroupSummary,
    Officer,
    Proposal,
    StepResult,
    SubmitLpjArgs,
    declare_no_control_characters,
)
from jps.domain.roles import NATIONAL, Role, region_in_scope

# ---- request bodies: each action's arguments without `officer` (the API adds it from the token) ----

ACTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "resubmit": {"notes": "KTP scans of all members attached"},
    "verify": {"decision": "approve", "notes": "documents and field check complete"},
    "schedule-training": {"starts_on": "2020-08-10", "ends_on": "2020-08-12", "venue": "BLK Jakarta Timur"},
    "record-attendance": {"attended_niks": ["3171014507900001", "3171010101850002"]},
    "decide-training": {"decision": "proceed", "notes": "attendance close to the minimum; proceed"},
    "approve-disbursement": {"amount": 10_000_000, "notes": "as requested"},
    "authorize-disbursement": {"notes": "checked against the proposal"},
    "update-bank-account": {
        "bank_account": {"bank_code": "002", "account_no": "1234567890", "holder_name": "Kelompok Maju Jaya"},
        "member_nik": None,
    },
    "report-visit": {
        "visit_no": 1,
        "visited_on": "2020-10-01",
        "business_status": "running",
        "monthly_revenue": 4_500_000,
        "notes": "stall open daily",
    },
    "resolve-payment": {
        "transfer_id": "PK-3171-ABCDEFGHIJ-A1-03",
        "outcome": "paid",
        "reason": "the bank's statement shows it paid on 2020-10-02",
    },
    "release-share": {"member_nik": "3171014507900001", "reason": "the worker moved away; account closed"},
    "cancel": {"reason": "the group dissolved before training"},
    "submit-muster": {
        "week_starts_on": "2020-10-05",
        "entries": [
            {"nik": "3171014507900001", "date": "2020-10-05", "hours": 8},
            {"nik": "3171011203880002", "date": "2020-10-05", "hours": 7},
        ],
        "evidence": [{"date": "2020-10-05", "file_ids": ["F-0123456789ABCDEFGHJKMNPQRS"]}],
        "notes": "saluran irigasi: galian 40 m",
    },
    "review-muster": {
        "week_starts_on": "2020-10-05",
        "decisions": [
            {"nik": "3171014507900001", "date": "2020-10-07", "accept": True, "reason": "head's photo"}
        ],
    },
    "approve-wages": {"week_starts_on": "2020-10-05", "notes": "roll checked against the site diary"},
    "authorize-wages": {"week_starts_on": "2020-10-05", "notes": "above the weekly threshold; checked"},
    "submit-lpj": {
        "lines": [
            {
                "category": "capital_goods",
                "amount": 7_000_000,
                "spent_on": "2020-11-20",
                "supplier": "Toko Mesin Jaya",
                "file_id": "F-01HZX8Q2M4N6P8R0T2V4X6Z8B0",
            },
            {
                "category": "working_capital",
                "amount": 3_000_000,
                "spent_on": "2020-11-25",
                "supplier": "UD Sumber Bahan",
                "file_id": "F-01HZX8Q2M4N6P8R0T2V4X6Z8B1",
            },
        ],
        "notes": "nota asli terlampir",
    },
    "review-lpj": {"decision": "revise", "notes": "nota baris 2 tidak terbaca; unggah ulang"},
    "record-repayment": {"amount": 1_000_000, "paid_on": "2021-03-01", "reference": "NTPN 0A1B2C3D4E5F6G7H"},
    "write-off-receivable": {"amount": 500_000, "reason": "usaha tutup; anggota tidak mampu membayar"},
    "claim": {"release": False, "task": "verify"},
}


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def _body_model(
    spec: ActionSpec, *, optional: frozenset[str] = frozenset(), suffix: str = "Body"
) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, info in spec.args.model_fields.items():
        if name == "officer":
            continue
        annotation: Any = info.annotation
        if name in optional:
            fields[name] = (
                annotation | None,
                Field(None, description=f"{info.description or ''} omitted: see the endpoint"),
            )
        else:
            fields[name] = (annotation, info)
    model: type[BaseModel] = create_model(
        f"{_pascal(spec.name)}{suffix}",
        __config__=ConfigDict(extra="forbid", json_schema_extra=_schema_extra(spec.name)),
        __doc__=f"{spec.summary}. The acting officer comes from the bearer token.",
        **fields,
    )
    return model


def _schema_extra(action: str) -> Callable[[dict[str, Any]], None]:
    """The body's example, and the arguments' own rule on text (no control characters)."""

    def complete(schema: dict[str, Any], *_: Any) -> None:
        schema["examples"] = [ACTION_EXAMPLES[action]]
        declare_no_control_characters(schema)

    return complete


ACTION_BODIES: dict[str, type[BaseModel]] = {name: _body_model(spec) for name, spec in ACTIONS.items()}

# Bulk decisions a supervisor of many groups takes at once. For approve-disbursement `amount` may be
# omitted: each group is approved for the amount it requested.
BULK_ACTIONS = ("verify", "schedule-training", "approve-disbursement", "authorize-disbursement", "cancel")
BULK_OPTIONAL: dict[str, frozenset[str]] = {"approve-disbursement": frozenset({"amount"})}
BULK_ARG_BODIES: dict[str, type[BaseModel]] = {
    name: _body_model(ACTIONS[name], optional=BULK_OPTIONAL.get(name, frozenset()), suffix="BulkArgs")
    for name in BULK_ACTIONS
}


def full_args(spec: ActionSpec, body: BaseModel | dict[str, Any], officer: Officer) -> BaseModel:
    """The workflow's argument model: the body plus the officer, with the model's own cross-field
    checks (e.g. ends_on not before starts_on) answered as a 422 naming the field."""
    data = body.model_dump(exclude_none=False) if isinstance(body, BaseModel) else dict(body)
    data["officer"] = officer
    try:
        return spec.args.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


_TRANSIENT = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
Answer = TypeVar("Answer")


async def _answered(call: Awaitable[Answer]) -> Answer:
    """Await a lifecycle call. No worker answering in time (the update's long poll ran out) or
    Temporal out of reach is a 503: the step may still happen, so the client should retry."""
    try:
        return await call
    except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as exc:
        if isinstance(exc, RPCError) and exc.status not in _TRANSIENT:
            raise
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"the workflow did not answer in time: {exc}"
        ) from None


_NAMED_GROUP = re.compile(r"active group ((?:TKM|PK)-(\d{4})-[A-Z0-9]+)")


def other_group_named(officer: Officer, group_id: str) -> str:
    """How a NIK conflict names the group holding the NIK: by its id inside the officer's scope, as
    "another active group" outside it (a registrar must not probe where a NIK is, nationwide). A
    group's id carries its region (`TKM-3171-…`)."""
    parts = group_id.split("-")
    region = parts[1] if len(parts) == 3 else ""
    return f"active group {group_id}" if region_in_scope(region, officer.regions) else "another active group"


def scoped_refusal(refusal: Refusal, officer: Officer) -> Refusal:
    """A NIK conflict's message with the other group hidden when it lies outside the officer's scope."""
    if refusal.kind != RefusalKind.NIK_CONFLICT:
        return refusal
    message = _NAMED_GROUP.sub(lambda m: other_group_named(officer, m.group(1)), refusal.message)
    return Refusal(refusal.kind, message, refusal.details)


async def prepared(services: Services, ctx: ActionContext, args: BaseModel) -> BaseModel:
    """What only the API can add to a step's arguments (the workflow sees no database): an LPJ's
    receipts resolved to their files and content hashes, each problem a 422 naming its line."""
    if isinstance(args, SubmitLpjArgs):
        filled, problems = await lpj_problems(services.pool, group_id=ctx.group_id, args=args)
        if problems:
            raise unprocessable(problems, kind="evidence")
        return filled
    return args


async def perform_action(
    services: Services, client: Client, ctx: ActionContext, spec: ActionSpec, args: BaseModel
) -> StepResult:
    """Send the update; a refusal becomes its HTTP status, and 403/409 go to the audit log. The answer
    names the step (seq, stage): the group itself is read from the read model (`group_after_step`)."""
    args = await prepared(services, ctx, args)
    try:
        return await _answered(lifecycle.act(client, ctx.group_id, spec.update_name, args))
    except Refusal as refusal:
        raise await refused(
            services.pool,
            http_error(scoped_refusal(refusal, ctx.officer)),
            officer=ctx.officer,
            group_id=ctx.group_id,
            stage=ctx.stage,
            action=spec.name,
        ) from None


async def submit(
    services: Services,
    client: Client,
    officer: Officer,
    proposal: Proposal,
    idempotency_key: str | None,
    *,
    key_checked: bool = False,
) -> GroupSummary:
    """Register a proposal: 403 outside scope, 422 against the programme policy, 409 for a NIK in
    another active group; a retried Idempotency-Key answers the first result. `key_checked`: the
    caller has already looked up the key's earlier groups (an import does it for the whole file in
    one query), so this does not again, one query per group."""
    refusal_context: dict[str, Any] = {
        "officer": officer,
        "group_id": None,
        "stage": None,
        "action": "submit",
        "event": "proposal_refused",
    }
    try:
        authorize(officer, roles=(Role.REGISTRAR,), region=proposal.region_code, what="submitting a proposal")
    except HTTPException as exc:
        raise await refused(services.pool, exc, **refusal_context) from None
    policy = services.policies[proposal.program]
    errors = proposal.policy_errors(policy)
    if errors:
        raise unprocessable(errors)
    if idempotency_key:
        suffix = lifecycle.idempotent_suffix(officer.id, idempotency_key)
        group_id = lifecycle.group_id_for(proposal, suffix)
        earlier_groups = (
            [] if key_checked else await groups.groups_by_suffix(services.pool, suffixes=[suffix])
        )
        for earlier in earlier_groups:
            if earlier.group_id != group_id:
                message = f"Idempotency-Key reused with a different body (it created {earlier.group_id})"
                raise http_error(Refusal(RefusalKind.IDEMPOTENCY_MISMATCH, message))
    else:
        group_id = lifecycle.group_id_for(proposal)
    try:
        registered = lifecycle.submit_proposal(
            client,
            proposal=proposal,
            policy=policy,
            submitted_by=officer.id,
            task_queue=services.settings.temporal_task_queue,
            group_id=group_id,
        )
        return await _answered(registered)
    except Refusal as refusal:
        raise await refused(
            services.pool, http_error(scoped_refusal(refusal, officer)), **refusal_context
        ) from None


# ---- reconciliation: finance resolves a mismatch ----


async def resolve_mismatch(
    pool: asyncpg.Pool, officer: Officer, mismatch_id: int, body: MismatchResolveIn
) -> MismatchOut:
    """For the route and the console's form alike: 404 for no such mismatch; 403 unless a finance
    officer whose scope holds the mismatch's group (national scope for a transfer we have no group
    for); 409 when already resolved. A 403 or 409 is recorded in the audit log, as for actions."""
    mismatch = await reconciliation.get_mismatch(pool, mismatch_id=mismatch_id)
    if mismatch is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no mismatch {mismatch_id}")
    context: dict[str, Any] = {
        "officer": officer,
        "group_id": mismatch.group_id,
        "stage": None,
        "action": "resolve-mismatch",
    }
    try:
        authorize(officer, roles=(Role.FINANCE,), region=mismatch.region_code, what="resolving a mismatch")
        if mismatch.region_code is None and NATIONAL not in officer.regions:
            raise forbidden("a mismatch without a group is resolved by national finance (scope *)")
        return await reconciliation.resolve_mismatch(
            pool, officer=officer, mismatch_id=mismatch_id, resolution=body.resolution, reason=body.reason
        )
    except reconciliation.MismatchAlreadyResolved as exc:
        conflict = HTTPException(status.HTTP_409_CONFLICT, detail=str(exc))
        raise await refused(pool, conflict, **context) from None
    except HTTPException as exc:
        raise await refused(pool, exc, **context) from None
