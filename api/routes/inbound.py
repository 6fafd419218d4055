"""The notification gateway's inbound SMS: HMAC-checked like the bank's callbacks (`jps.signing.verify`,
with `JPS_SMS_HMAC_SECRET` and the gateway's headers), taken once per message id, then handed to the
registered handlers (`api/inbound.py`) until one consumes it."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from pydantic import ValidationError

from api import grievance_sms
from api.deps import ServicesDep, TemporalDep
from api.errors import mask_personal_in, responses
from api.inbound import InboundSms, dispatch
from api.queries import inbound as inbound_messages
from api.schemas.grievances import InboundOut
from jps.signing import GATEWAY_SIGNATURE_HEADER, GATEWAY_TIMESTAMP_HEADER, verify

log = structlog.get_logger()
router = APIRouter(tags=["inbound"])

grievance_sms.register()  # the grievance keyword, and replies to a request for information (a fallback)


# DESIGN.md's table names the path `/sms/inbound` and the sender `from`: both are accepted (the path
# kept out of the OpenAPI document, so the contract shows one operation).
@router.post("/sms/inbound", response_model=InboundOut, include_in_schema=False)
@router.post(
    "/inbound/sms",
    response_model=InboundOut,
    summary="Gateway: a member's SMS (HMAC-signed; a duplicated message id does nothing twice)",
    description=(
        "Signed with HMAC-SHA256 over `{timestamp}.{body}` with `JPS_SMS_HMAC_SECRET`; the hex digest "
        f"in `{GATEWAY_SIGNATURE_HEADER}`, the Unix timestamp in `{GATEWAY_TIMESTAMP_HEADER}` (at most 5 "
        "minutes old). Body `{message_id, from_phone, text, received_at}` (`from` is accepted for "
        "`from_phone`). "
        "A message no handler takes (a reply from a number nobody asked) is logged and ignored: "
        "`handled: false`."
    ),
    responses={**responses(401, 422, 503), 200: {"description": "Taken, ignored, or a duplicate"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": InboundSms.model_json_schema()}},
        }
    },
)
async def inbound_sms(
    request: Request,
    services: ServicesDep,
    client: TemporalDep,
    x_gateway_timestamp: Annotated[str | None, Header(alias=GATEWAY_TIMESTAMP_HEADER)] = None,
    x_gateway_signature: Annotated[str | None, Header(alias=GATEWAY_SIGNATURE_HEADER)] = None,
) -> InboundOut:
    body = await request.body()  # the signature covers the raw bytes: parsed only after the check
    if not verify(body, services.settings.sms_hmac_secret, x_gateway_timestamp, x_gateway_signature):
        log.warning("inbound_sms_bad_signature")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="bad or stale gateway signature")
    try:
        sms = InboundSms.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=mask_personal_in(jsonable_encoder(exc.errors(include_url=False, include_context=False))),
        ) from None
    claimed = await inbound_messages.claim_message(
        services.pool, message_id=sms.message_id, received_at=sms.received_at, from_masked=sms.masked_from
    )
    if not claimed:
        log.info("inbound_sms_duplicate", message_id=sms.message_id, sender=sms.masked_from)
        first = await inbound_messages.handled_by(services.pool, message_id=sms.message_id)
        return InboundOut(message_id=sms.message_id, handled=first is not None, handler=first, duplicate=True)
    try:
        handler = await dispatch(services, client, sms)
    except BaseException:
        # Given back: the gateway's retry tries again.
        await inbound_messages.release_message(services.pool, message_id=sms.message_id)
        raise
    return InboundOut(message_id=sms.message_id, handled=handler is not None, handler=handler)
