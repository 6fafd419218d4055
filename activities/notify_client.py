"""The product's client for the notification gateway (SMS, WhatsApp, e-mail).

One HTTP call per `send` (or per `send_batch`, many messages each with its own key), no retries
of its own: the notification activity's Temporal retries
do that, and the idempotency key (the outbox row's id) makes a retried send deliver once. Like
the bank client, its errors are Temporal `ApplicationError`s with the right `non_retryable` flag:

- `NotifyTransientError` (retryable): 5xx (an outage included), 408, 429, timeouts, connection errors;
  a request taking over twice the timeout in all (`TOTAL_TIMEOUTS`), however its answer trickles in.
- `NotifyRejectedError` (non-retryable): any other 4xx; the message itself is bad.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Literal

import httpx
import structlog
from temporalio.exceptions import ApplicationError

from infra.http import BoundedAsyncClient

log = structlog.get_logger()

DEFAULT_TIMEOUT_S = 5.0
# A request's whole time, as a multiple of `timeout` (which bounds the connection and each read, not
# their sum): a gateway answering drop by drop must not hold a delivery run past its claim's lease.
TOTAL_TIMEOUTS = 2

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


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message of a batch; its idempotency key is its id (the outbox row's)."""

    message_id: str
    recipient: str
    channel: Channel
    template: str
    body: str
    group_id: str | None = None


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
        self._total_s = timeout * TOTAL_TIMEOUTS

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
        await self._post("/messages", json=payload, headers=headers)
        log.info("notification_sent", message_id=message_id, template=template, channel=channel)

    async def send_batch(self, messages: Sequence[Outgoing]) -> dict[str, str | None]:
        """Hand many messages to the gateway in one request (`POST /messages/batch`). Answers each
        message's id: None when the gateway accepted it, else the reason it refused that one. A
        message missing from the answer was not taken. The whole request failing raises as `send`
        does (the gateway took none of them, or may have: their keys make a resend harmless)."""
        payload = {
            "messages": [
                {
                    "idempotency_key": m.message_id,
                    "message_id": m.message_id,
                    "recipient": m.recipient,
                    "channel": m.channel,
                    "template": m.template,
                    "body": m.body,
                    "group_id": m.group_id,
                }
                for m in messages
            ]
        }
        resp = await self._post("/messages/batch", json=payload)
        try:
            results = resp.json()["results"]
            answers = {
                str(r["idempotency_key"]): None
                if r["status"] == "accepted"
                else str(r.get("error") or "rejected")
                for r in results
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise NotifyTransientError(
                f"notification gateway answered an unreadable batch result: {exc}"
            ) from exc
        ours = {m.message_id for m in messages}
        answers = {k: v for k, v in answers.items() if k in ours}
        log.info("notifications_sent", accepted=sum(v is None for v in answers.values()), asked=len(messages))
        return answers

    async def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        """The answer of a POST the gateway took (below 400); otherwise the error `send` documents."""
        try:
            async with asyncio.timeout(self._total_s):
                resp = await self._http.post(url, **kwargs)
        except httpx.TimeoutException as exc:
            raise NotifyTransientError(f"notification gateway timed out ({type(exc).__name__})") from exc
        except TimeoutError as exc:  # the whole request's bound: the gateway may have taken it (keyed)
            took = f"notification gateway took over {self._total_s:g} s to answer"
            raise NotifyTransientError(took) from exc
        except httpx.TransportError as exc:
            raise NotifyTransientError(f"notification gateway unreachable ({type(exc).__name__})") from exc
        status = resp.status_code
        if status < 400:
            return resp
        message = f"notification gateway answered {status}: {resp.text[:300]}"
        if status >= 500 or status in (408, 429):
            raise NotifyTransientError(message, status_code=status)
        raise NotifyRejectedError(message, status_code=status)
