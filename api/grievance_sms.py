"""Grievances by SMS: the two inbound handlers (`api/inbound.py`).

- `grievance_keyword`: `ADUAN <group id or -> <NIK> <category> <text>` (`jps.domain.grievances`,
  the README's table of category words) files a grievance from the sender's number, idempotent on the
  message id (`request_id = sms:<message id>`). A message that starts with the keyword but is malformed,
  or that the workflow refuses, is consumed and logged, and its sender is answered by SMS (which part
  was unreadable, with the format; or that it could not be filed, without saying why: no oracle of
  groups and NIKs), at most once an hour per number. A number that is not Indonesian gets no answer.
- `grievance_reply` (a fallback, tried after every other handler): any other message from a number a
  case asked for information (`status = info_requested`, matched by the keyed hash of the number)
  is that complainant's answer. A reply from a number nobody asked is not taken: the webhook logs it
  (masked) and ignores it.
"""

from __future__ import annotations

import structlog
from temporalio.client import Client

from api.deps import Services
from api.grievance_service import policy_of
from api.inbound import InboundSms, register_inbound_handler
from api.queries.grievances import asked_grievance
from infra.grievances import file_grievance, grievance_step
from infra.lifecycle import Refusal
from infra.outbox import OutboxMessage, queue_messages, sent_recently
from jps.contracts.grievances import ComplainantArgs
from jps.contracts.names import GRIEVANCE_PROVIDE_INFO_UPDATE
from jps.domain.grievances import (
    SMS_TEXTS,
    SmsParseError,
    normalize_phone,
    parse_sms_grievance,
    phone_digest,
    sms_part_word,
    text_problem,
)
from jps.domain.models import PHONE_RE
from jps.domain.nik import NikError, mask_niks_in, parse_nik

log = structlog.get_logger()

REPLY_EVERY_S = 3600  # at most one answer to a number's unfiled ADUAN messages an hour


async def _answer(services: Services, sms: InboundSms, phone: str, template: str, part: str = "") -> None:
    """Tell the sender their ADUAN filed nothing: queued in the outbox (sent within a minute), keyed by
    the message id (a gateway's retry answers once), at most one a number an hour (a flood of bad
    messages is not a flood of answers)."""
    if not PHONE_RE.match(phone) or await sent_recently(services.pool, phone, template, REPLY_EVERY_S):
        return
    body = SMS_TEXTS[template].format(part=sms_part_word(part))
    message = OutboxMessage(f"sms:{sms.message_id}:answer", None, phone, "sms", template, body)
    await queue_messages(services.pool, [message])


async def grievance_keyword(services: Services, client: Client, sms: InboundSms) -> bool:
    bound = log.bind(message_id=sms.message_id, sender=sms.masked_from)
    phone = normalize_phone(sms.from_phone)
    try:
        parsed = parse_sms_grievance(sms.text)
    except SmsParseError as err:
        bound.info("sms_grievance_malformed", part=str(mask_niks_in(str(err))))
        await _answer(services, sms, phone, "grievance_sms_unreadable", str(err))
        return True
    if parsed is None:
        return False
    if not PHONE_RE.match(phone):
        bound.info("sms_grievance_foreign_number")
        return True
    try:
        parse_nik(parsed.nik)
    except NikError:
        bound.info("sms_grievance_malformed", part="NIK")
        await _answer(services, sms, phone, "grievance_sms_unreadable", "NIK")
        return True
    try:
        ref = await file_grievance(
            client,
            nik=parsed.nik,
            phone=phone,
            group_id=parsed.group_id,
            category=parsed.category,
            text=parsed.text,
            channel="sms",
            request_id=f"sms:{sms.message_id}",
            task_queue=services.settings.temporal_task_queue,
            policy=policy_of(services),
        )
    except Refusal as refusal:
        bound.info("sms_grievance_refused", kind=refusal.kind)
        await _answer(services, sms, phone, "grievance_sms_not_filed")
        return True
    bound.info("grievance_filed", grievance_id=ref.grievance_id, channel="sms")
    return True


async def grievance_reply(services: Services, client: Client, sms: InboundSms) -> bool:
    bound = log.bind(message_id=sms.message_id, sender=sms.masked_from)
    phone = normalize_phone(sms.from_phone)
    grievance_id = await asked_grievance(
        services.pool, phone_hash=phone_digest(phone, services.settings.phone_hash_key)
    )
    if grievance_id is None:
        bound.info("sms_reply_from_unasked_number")
        return False
    text = sms.text.strip()
    if text_problem(text):
        bound.info("sms_reply_refused", grievance_id=grievance_id, problem=text_problem(text))
        return True
    args = ComplainantArgs(via="sms", phone=phone, text=text, message_id=sms.message_id)
    try:
        await grievance_step(client, grievance_id, GRIEVANCE_PROVIDE_INFO_UPDATE, args)
    except Refusal as refusal:
        bound.info("sms_reply_refused", grievance_id=grievance_id, kind=refusal.kind)
        return True
    bound.info("sms_reply_taken", grievance_id=grievance_id)
    return True


def register() -> None:
    register_inbound_handler(grievance_keyword)
    register_inbound_handler(grievance_reply, fallback=True)
