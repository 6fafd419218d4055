"""Members' SMS, as the notification gateway delivers them to `POST /inbound/sms`: the message model,
the registry of handlers, and the once-only record of message ids.

A handler is `async (services, client, sms) -> bool`: True when the message was its to take
(consumed), False to pass it on. The webhook tries them in order: the handlers registered with
`register_inbound_handler`, in the order they were registered, then the fallbacks (a reply to
whatever the sender was asked: `fallback=True`), until one consumes it. A message nobody takes is
logged (the number masked) and ignored.

Every message id is taken once (`inbound_messages`, PostgreSQL; its statements in
`api.queries.inbound`): a gateway's retry or a replay answers `duplicate: true` and does nothing. A
handler that fails (Temporal down) gives the id back, so the gateway's retry tries again; handlers
are idempotent on the message id themselves (a grievance filed by SMS has it as its `request_id`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from temporalio.client import Client

from api.deps import Services
from api.queries import inbound as inbound_messages
from jps.domain.grievances import SMS_TEXT_MAX, mask_phone
from jps.domain.nik import mask_niks_in

log = structlog.get_logger()

RECEIVED_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
RECEIVED_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class InboundSms(BaseModel):
    """One member's SMS as the gateway reports it (`from` is accepted for `from_phone`)."""

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "message_id": "sms-20201007-0001",
                    "from_phone": "+6281234567890",
                    "text": "ADUAN TKM-3171-AB12CD34EF 3171014507900001 BELUMTERIMA bantuan belum masuk",
                    "received_at": "2020-10-07T02:00:00+00:00",
                }
            ]
        },
    )
    message_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")
    from_phone: str = Field(
        min_length=4,
        max_length=20,
        validation_alias=AliasChoices("from_phone", "from"),
        pattern=r"^\+?[0-9]+$",
    )
    text: str = Field(max_length=SMS_TEXT_MAX)
    received_at: datetime

    @field_validator("received_at")
    @classmethod
    def _plausible(cls, v: datetime) -> datetime:
        """A gateway's clock, not year 1 or 9999: such a time overflows once turned to UTC (a 500)."""
        if not RECEIVED_EARLIEST <= v.replace(tzinfo=v.tzinfo or UTC) <= RECEIVED_LATEST:
            raise ValueError("received_at must be between 2000 and 2100")
        return v

    @property
    def masked_from(self) -> str:
        return mask_phone(self.from_phone)


InboundHandler = Callable[[Services, Client, InboundSms], Awaitable[bool]]

_HANDLERS: list[InboundHandler] = []
_FALLBACKS: list[InboundHandler] = []


def register_inbound_handler(handler: InboundHandler, *, fallback: bool = False) -> InboundHandler:
    """Add a handler (once; registering it again changes nothing). Usable as a decorator."""
    target = _FALLBACKS if fallback else _HANDLERS
    if handler not in _HANDLERS and handler not in _FALLBACKS:
        target.append(handler)
    return handler


def inbound_handlers() -> list[InboundHandler]:
    return [*_HANDLERS, *_FALLBACKS]


async def dispatch(services: Services, client: Client, sms: InboundSms) -> str | None:
    """Try the handlers in order; the name of the one that consumed the message, or None."""
    bound = log.bind(message_id=sms.message_id, sender=sms.masked_from)
    for handler in inbound_handlers():
        if await handler(services, client, sms):
            name = getattr(handler, "__name__", "handler")
            await inbound_messages.mark_handled(services.pool, message_id=sms.message_id, handler=name)
            bound.info("inbound_sms_handled", handler=name)
            return name
    # Nobody's: logged (the number masked, the text's first words without a NIK) and ignored.
    bound.info("inbound_sms_ignored", text=str(mask_niks_in(sms.text[:40])))
    return None
