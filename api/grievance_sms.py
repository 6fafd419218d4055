"""Grievances by SMS: the two inbound handlers (`api/inbound.py`).

- `grievance_keyword`: `ADUAN <group id or -> <NIK> <category> <text>` (`jps.domain.grievances`,
  the README's table of category words) files a grievance from the sender's number, idempotent on the
  message id (`request_id = sms:<message id>`). A message that starts with the keyword but is malformed
  (or from a number that is not Indonesian) is consumed and logged: no case.
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
from jps.contracts.grievances import ComplainantArgs
from jps.contracts.names import GRIEVANCE_PROVIDE_INFO_UPDATE
from jps.domain.grievances import (
    SmsParseError,
    normalize_phone,
    parse_sms_grievance,
    phone_digest,
    text_problem,
)
from jps.domain.models import PHONE_RE
from jps.domain.nik import NikError, parse_nik

log = structlog.get_logger()


async def grievance_keyword(services: Services, client: Client, sms: InboundSms) -> bool:
    bound = log.bind(message_id=sms.message_id, sender=sms.masked_from)
    try:
        parsed = parse_sms_grievance(sms.text)
    except SmsParseError as err:
        bound.info("sms_grievance_malformed", part=str(err))
        return True
    if parsed is None:
        return False
    phone = normalize_phone(sms.from_phone)
    if not PHONE_RE.match(phone):
        bound.info("sms_grievance_foreign_number")
        return True
    try:
        parse_nik(parsed.nik)
    except NikError:
        bound.info("sms_grievance_malformed", part="NIK")
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
