"""The product's client for the notification gateway (SMS, WhatsApp, e-mail).

One HTTP call per `send`, no retries of its own: the notification activity's Temporal retries
do that, and the idempotency key (the outbox row's id) makes a retried send deliver once. Like
the bank client, its errors are Temporal `ApplicationError`s with the right `non_retryable` flag:

- `NotifyTransientError` (retryable): 5xx (an outage included), 408, 429, timeouts, connection errors.
- `NotifyRejectedError` (non-retryable): any other 4xx; the message itself is bad.
"""

from __future__ import annotations

from types import TracebackType
from typing import ClassVar, Literal

import httpx
import structlog
from temporalio.exceptions import ApplicationError

from infra.http import BoundedAsyncClient

log = structlog.get_logger()

DEFAULT_TIMEOUT_S = 5.0

Channel = Literal["sms", "whatsapp", "email"]


class NotifyError(ApplicationError):
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message, type=type(self).__name__, non_retryable=not self.retryable)
        self.status_code = status_code


class NotifyTransientError(NotifyError):
    retryable = True


class NotifyRejectedError(NotifyError):
    retryable = False


class NotifyClient:
    """One per worker (it holds a connection pool); `aclose()` it on shutdown."""

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = BoundedAsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> NotifyClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def send(
        self,
        message_id: str,
        recipient: str,
        channel: Channel,
        template: str,
        body: str,
        group_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Hand one message to the gateway; the key defaults to `message_id` (the outbox row's id)."""
        payload = {
            "message_id": message_id,
            "recipient": recipient,
            "channel": channel,
            "template": template,
            "body": body,
            "group_id": group_id,
        }
        headers = {"Idempotency-Key": idempotency_key or message_id}
        try:
            resp = await self._http.post("/messages", json=payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise NotifyTransientError(f"notification gateway timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise NotifyTransientError(f"notification gateway unreachable ({type(exc).__name__})") from exc
        status = resp.status_code
        if status < 400:
            log.info("notification_sent", message_id=message_id, template=template, channel=channel)
            return
        message = f"notification gateway answered {status}: {resp.text[:300]}"
        if status >= 500 or status in (408, 429):
            raise NotifyTransientError(message, status_code=status)
        raise NotifyRejectedError(message, status_code=status)
