"""The bank gateway's payment callbacks: HMAC-checked, kept in PostgreSQL, and handed to the group's
workflow as one signal per batch once every transfer of the batch is answered (a wage batch of twenty
workers is one signal, not twenty; a batch left unanswered is settled by the workflow's own poll).

Duplicates are harmless: the workflow keeps the first result per transfer, and asks the bank before
acting on any. A callback for a group whose lifecycle has ended is acknowledged and dropped (nothing is
waiting for it).
"""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Header, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.errors import responses
from api.queries import payments
from api.schemas import PaymentCallbackOut
from jps.contracts.activities import PERMANENT_WHEN_UNSAID, PaymentResult, bank_reason
from jps.contracts.names import PAYMENT_BATCH_SIGNAL
from jps.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

log = structlog.get_logger()
router = APIRouter(prefix="/payments", tags=["payments"])


class BankCallbackIn(BaseModel):
    """What the bank reports about one transfer (extra fields it sends are ignored)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "transfer_id": "TKM-3171-AB12CD34EF-A1-00",
                    "batch_id": "TKM-3171-AB12CD34EF-A1",
                    "status": "paid",
                    "reason": "",
                    "permanent": False,
                    "amount": 10_000_000,
                    "paid_at": "2020-09-20T03:00:00+00:00",
                }
            ]
        },
    )
    transfer_id: str
    status: Literal["pending", "paid", "failed"]
    reason: str = ""
    permanent: bool = PERMANENT_WHEN_UNSAID  # the one default, shared with the bank client's status
    amount: int | None = None


@router.post(
    "/callback",
    response_model=PaymentCallbackOut,
    summary="Bank callback: a transfer's result (HMAC-signed; duplicates are harmless)",
    description=(
        f"Signed with HMAC-SHA256 over `{{timestamp}}.{{body}}` with `JPS_BANK_HMAC_SECRET`; the hex digest "
        f"in `{SIGNATURE_HEADER}`, the Unix timestamp in `{TIMESTAMP_HEADER}` (at most 5 minutes old)."
    ),
    responses={
        **responses(401, 404, 422, 503),
        200: {"description": "Accepted, or acknowledged and ignored (`accepted: false`)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BankCallbackIn.model_json_schema()}},
        }
    },
)
async def payment_callback(
    request: Request,
    settings: SettingsDep,
    pool: PoolDep,
    client: TemporalDep,
    x_bank_timestamp: Annotated[str | None, Header(alias=TIMESTAMP_HEADER)] = None,
    x_bank_signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> PaymentCallbackOut:
    # The signature covers the raw bytes, so the body is read raw and parsed only after the check.
    body = await request.body()
    if not verify(body, settings.bank_hmac_secret, x_bank_timestamp, x_bank_signature):
        log.warning("bank_callback_bad_signature")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="bad or stale bank signature")
    try:
        callback = BankCallbackIn.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=exc.errors(include_url=False, include_context=False)
        ) from None
    known = await payments.transfer(pool, transfer_id=callback.transfer_id)
    if known is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown transfer {callback.transfer_id}")
    group_id = known.group_id
    bound = log.bind(group_id=group_id, transfer_id=callback.transfer_id, bank_status=callback.status)
    if callback.amount is not None and callback.amount != known.amount:
        # The reconciliation run records such a mismatch; the transfer's status still counts.
        bound.warning("bank_callback_amount_differs", ours=known.amount, bank=callback.amount)
    if callback.status == "pending":
        return PaymentCallbackOut(transfer_id=callback.transfer_id, group_id=group_id, accepted=False)
    reason = bank_reason(callback.reason)  # the bank's text to a reason code; the text, the log's only
    if callback.reason and callback.reason != reason:
        bound.info("bank_reason", reason=reason, bank_text=callback.reason[:500])
    result = PaymentResult(
        transfer_id=callback.transfer_id,
        status=callback.status,
        reason=reason,
        permanent=callback.permanent,
    )
    async with pool.acquire() as conn, conn.transaction():
        batch = await payments.record_callback(conn, result=result)
    if batch is None:  # kept until the batch's other transfers are answered
        bound.info("bank_callback_kept")
        return PaymentCallbackOut(transfer_id=callback.transfer_id, group_id=group_id, accepted=True)
    try:
        await client.get_workflow_handle(group_id).signal(PAYMENT_BATCH_SIGNAL, batch)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        bound.info("bank_callback_for_closed_group")
        return PaymentCallbackOut(transfer_id=callback.transfer_id, group_id=group_id, accepted=False)
    bound.info("bank_callback_accepted")
    return PaymentCallbackOut(transfer_id=callback.transfer_id, group_id=group_id, accepted=True)
