"""How the bank and notification clients classify what comes back: retryable or not.

Most answers here come from a scripted transport (httpx.MockTransport), because a real bank
never sends a 429 or a proxy's HTML error page on demand; one test runs against the real
simulator to check the request the client actually puts on the wire.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.bank_client import BankClient, BankRejectedError, BankTransientError, IdempotencyConflictError
from activities.notify_client import NotifyClient, NotifyRejectedError, NotifyTransientError
from jps.contracts.activities import TransferSpec
from tests.sim_fixtures import BankAdmin
from tests.simulators._procs import free_port

SPEC = TransferSpec(
    transfer_id="g1:1",
    batch_id="g1:b1",
    beneficiary="Kelompok Maju",
    bank_code="002",
    account_no="1234567890",
    amount=10_000_000,
    idempotency_key="g1:disb:1",
)


def scripted(handler: Callable[[httpx.Request], httpx.Response]) -> BankClient:
    return BankClient("http://bank.test", transport=httpx.MockTransport(handler))


def answer(
    status: int, body: object = None, text: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(_request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers={"content-type": "text/html"})
        return httpx.Response(status, json=body if body is not None else {"detail": "x"})

    return handler


def fail_with(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (answer(500), BankTransientError),
        (answer(502, text="<html>Bad Gateway</html>"), BankTransientError),
        (answer(503), BankTransientError),
        (answer(408), BankTransientError),
        (answer(429), BankTransientError),
        (answer(401), BankTransientError),  # our credentials, not the account: retry
        (answer(403), BankTransientError),
        (answer(400), BankRejectedError),
        (answer(422), BankRejectedError),
        (answer(404), BankRejectedError),
        (answer(409), IdempotencyConflictError),
        (answer(202, text="<html>proxy says hi</html>"), BankTransientError),
        (answer(202, {"transfer_id": "g1:1", "status": "weird"}), BankTransientError),
        (fail_with(httpx.ReadTimeout("slow")), BankTransientError),
        (fail_with(httpx.ConnectTimeout("slow")), BankTransientError),
        (fail_with(httpx.ConnectError("refused")), BankTransientError),
        (fail_with(httpx.RemoteProtocolError("dropped")), BankTransientError),
    ],
)
async def test_create_transfer_classifies(
    handler: Callable[[httpx.Request], httpx.Response], error: type[Exception]
) -> None:
    async with scripted(handler) as client:
        with pytest.raises(error) as exc:
            await client.create_transfer(SPEC)
    # Each is a Temporal ApplicationError whose type and retryability an activity can pass on as is.
    assert isinstance(exc.value, ApplicationError)
    assert exc.value.type == error.__name__
    assert exc.value.non_retryable is (error is not BankTransientError)


async def test_request_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"transfer_id": "g1:1", "status": "pending", "reason": ""})

    async with BankClient(
        "http://bank.test", transport=httpx.MockTransport(handler), callback_url="http://api/cb"
    ) as client:
        result = await client.create_transfer(SPEC)
        await client.create_transfer(SPEC.model_copy(update={"idempotency_key": None}))
    assert result.status == "pending" and not result.settled and not result.permanent
    assert seen[0].headers["Idempotency-Key"] == "g1:disb:1"
    assert seen[1].headers["Idempotency-Key"] == "g1:1"  # the default key is the transfer id
    import json

    body = json.loads(seen[0].content)
    assert body == {
        "transfer_id": "g1:1",
        "batch_id": "g1:b1",
        "beneficiary": "Kelompok Maju",
        "bank_code": "002",
        "account_no": "1234567890",
        "amount": 10_000_000,
        "callback_url": "http://api/cb",
    }


async def test_get_transfer_404_is_none_and_5xx_transient() -> None:
    async with scripted(answer(404)) as client:
        assert await client.get_transfer("nope") is None
    async with scripted(answer(500)) as client:
        with pytest.raises(BankTransientError):
            await client.get_transfer("x")


async def test_statement_garbled_is_transient() -> None:
    async with scripted(answer(200, {"rows": []})) as client:
        with pytest.raises(BankTransientError):
            await client.statement()


async def test_unreachable_bank_is_transient() -> None:
    async with BankClient(f"http://127.0.0.1:{free_port()}", timeout=1) as client:
        with pytest.raises(BankTransientError, match="unreachable"):
            await client.create_transfer(SPEC)


async def test_against_the_simulator(bank_sim: BankAdmin) -> None:
    async with BankClient(bank_sim.url) as client:
        first = await client.create_transfer(SPEC)
        assert (first.transfer_id, first.status, first.amount) == ("g1:1", "pending", 10_000_000)
        assert bank_sim.wait_settled("g1:1")["status"] == "paid"
        polled = await client.get_transfer("g1:1")
        assert polled is not None and polled.status == "paid" and polled.paid_at is not None
        [line] = await client.statement()
        assert (line.transfer_id, line.account_no, line.amount) == ("g1:1", "1234567890", 10_000_000)


# ---- the notification client ----


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, NotifyTransientError),
        (503, NotifyTransientError),
        (429, NotifyTransientError),
        (400, NotifyRejectedError),
        (422, NotifyRejectedError),
    ],
)
async def test_notify_client_classifies(status: int, error: type[Exception]) -> None:
    transport = httpx.MockTransport(answer(status))
    async with NotifyClient("http://notify.test", transport=transport) as client:
        with pytest.raises(error) as exc:
            await client.send("m1", "+6281234567890", "sms", "t", "body")
    assert isinstance(exc.value, ApplicationError)
    assert exc.value.non_retryable is (error is NotifyRejectedError)


async def test_notify_client_timeout_is_transient() -> None:
    transport = httpx.MockTransport(fail_with(httpx.ReadTimeout("slow")))
    async with NotifyClient("http://notify.test", transport=transport) as client:
        with pytest.raises(NotifyTransientError, match="timed out"):
            await client.send("m1", "+6281234567890", "sms", "t", "body")
