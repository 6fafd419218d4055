"""A member's SMS reply to the post-payment verification's question ("YA" / "TIDAK").

`verification_reply` is one of the inbound SMS handlers (`api/inbound.py`, `POST /inbound/sms`): it
takes a YA or TIDAK (any case) from a number that was asked and still owes an answer, and signals
that sample's workflow (`PaymentCheckWorkflow`, workflow id = sample id), which records it: the API
never writes the read model itself. Anything else (another text, a number that was not asked, one
that has answered everything) answers False, logged, so another handler may take the message.
A duplicate of a message already taken answers True and signals nothing new (the workflow keeps the
first answer anyway)."""

from __future__ import annotations

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from api.deps import Services
from api.inbound import InboundSms, register_inbound_handler
from api.queries.verification import sample_answered_by
from jps.contracts.names import PAYMENT_ANSWER_SIGNAL
from jps.contracts.verification import PaymentAnswer
from jps.domain.verification import normalize_phone, parse_reply

log = structlog.get_logger()


async def verification_reply(services: Services, client: Client, sms: InboundSms) -> bool:
    answer = parse_reply(sms.text)
    if answer is None:
        return False
    phone = normalize_phone(sms.from_phone)
    found = await sample_answered_by(services.pool, phone=phone, message_id=sms.message_id)
    if found is None:
        log.info(
            "verification_reply_not_asked",
            sender=sms.masked_from,
            message_id=sms.message_id,
        )
        return False
    bound = log.bind(group_id=found["group_id"], sample_id=found["sample_id"])
    if found["duplicate"]:
        bound.info("verification_reply_duplicate")
        return True
    try:
        await client.get_workflow_handle(found["sample_id"]).signal(
            PAYMENT_ANSWER_SIGNAL,
            PaymentAnswer(answer=answer, message_id=sms.message_id, received_at=sms.received_at),
        )
    except RPCError as err:  # the check closed in between (counted as no answer): nobody waits
        bound.warning("verification_reply_too_late", error=str(err))
        return False
    bound.info("verification_reply_taken", answer=answer)
    return True


def register() -> None:
    """Put the handler in the inbound SMS registry (`create_app` calls this; twice changes nothing)."""
    register_inbound_handler(verification_reply)
