"""How the bank and notification clients classify what comes back: retryable or not.

Most answers here come from a scripted transport (httpx.MockTransport), because a real bank
never sends a 429 or a proxy's HTML error page on demand; one test runs against the real
simulator to check the request the client actually puts on the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.bank_client import (
    BankClient,
    BankRejectedError,
    BankTransientError,
    IdempotencyConflictError,
    TransferResponse,
)
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


# ---- many transfers in one request (against the simulator) ----


class Rewriting(httpx.AsyncBaseTransport):
    """Real HTTP to the simulator; a batch's answer is then changed by `rewrite` (a proxy or a bank
    that garbles it: the simulator never does), and every request is kept in `sent`."""

    def __init__(self, rewrite: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None) -> None:
        self.rewrite = rewrite
        self.sent: list[httpx.Request] = []
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        resp = await self._real.handle_async_request(request)
        if self.rewrite is None or not request.url.path.endswith("/batch"):
            return resp
        await resp.aread()
        results = self.rewrite(json.loads(resp.content)["results"])
        return httpx.Response(resp.status_code, json={"results": results})

    async def aclose(self) -> None:
        await self._real.aclose()


def specs(n: int) -> list[TransferSpec]:
    return [
        SPEC.model_copy(update={"transfer_id": f"g1:{i}", "idempotency_key": f"g1:disb:{i}"})
        for i in range(1, n + 1)
    ]


async def test_create_transfers_answers_each_transfer(
    bank_sim: BankAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    three = specs(3)
    transport = Rewriting()
    async with BankClient(bank_sim.url, transport=transport, callback_url="http://api/cb") as client:
        await client.create_transfer(three[0])
        changed = three[1].model_copy(update={"transfer_id": "g1:1"})  # another key for a known id
        bad = three[2].model_copy(update={"account_no": "5" * 41})  # the bank takes no such account
        caplog.clear()
        with caplog.at_level("INFO"):
            items = await client.create_transfers([three[0], changed, bad, *specs(5)[3:]])
    first, conflict, refused, fourth, fifth = items
    assert isinstance(first, TransferResponse) and (first.transfer_id, first.status) == ("g1:1", "pending")
    assert isinstance(conflict, IdempotencyConflictError) and conflict.non_retryable
    assert isinstance(refused, BankRejectedError) and refused.status_code == 422
    assert "account_no" in refused.message and "5555" not in refused.message
    assert [(t.transfer_id, t.amount) for t in (fourth, fifth) if isinstance(t, TransferResponse)] == [
        ("g1:4", 10_000_000),
        ("g1:5", 10_000_000),
    ]
    # On the wire: one request, each item the body `create_transfer` sends plus its own key.
    batch = transport.sent[-1]
    assert (batch.method, batch.url.path) == ("POST", "/transfers/batch")
    body = json.loads(batch.content)["transfers"]
    assert [t["idempotency_key"] for t in body] == [
        "g1:disb:1",
        "g1:disb:2",
        "g1:disb:3",
        "g1:disb:4",
        "g1:disb:5",
    ]
    assert {t["callback_url"] for t in body} == {"http://api/cb"}
    single = json.loads(transport.sent[0].content)
    assert body[0] == {**single, "idempotency_key": "g1:disb:1"}
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["batches"], ledger["single_posts"]) == (3, 1, 1)
    # Logged as `create_transfer` logs each, without the account numbers.
    logged = [
        r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == "transfer_instructed"
    ]
    assert [e["transfer_id"] for e in logged] == ["g1:1", "g1:4", "g1:5"]
    assert not any(SPEC.account_no in str(r.msg) for r in caplog.records)


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda results: results[:-1],  # one transfer left out
        lambda results: results[::-1],  # not in the order asked
        lambda results: [*results, results[0]],  # one too many
        lambda results: [{**r, "transfer": None} for r in results],  # accepted, but no transfer
        lambda results: [{**r, "status_code": "yes"} for r in results],  # garbled
    ],
)
async def test_a_batch_answer_that_does_not_name_every_transfer_is_not_trusted(
    bank_sim: BankAdmin, rewrite: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
) -> None:
    async with BankClient(bank_sim.url, transport=Rewriting(rewrite)) as client:
        with pytest.raises(BankTransientError) as exc:
            await client.create_transfers(specs(3))
    assert not exc.value.non_retryable
    assert bank_sim.ledger()["transfers"] == 3  # the bank took them: a retry with the same keys is safe


async def test_a_batch_items_status_is_classified_as_a_single_post_would_be(bank_sim: BankAdmin) -> None:
    def statuses(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        codes = [503, 429, 401, 409, 400]
        return [{**r, "status_code": code, "transfer": None} for r, code in zip(results, codes, strict=True)]

    async with BankClient(bank_sim.url, transport=Rewriting(statuses)) as client:
        items = await client.create_transfers(specs(5))
    assert [type(i) for i in items] == [
        BankTransientError,
        BankTransientError,
        BankTransientError,
        IdempotencyConflictError,
        BankRejectedError,
    ]


async def test_a_batch_request_refused_whole_raises(bank_sim: BankAdmin) -> None:
    bank_sim.faults(no_batches=True)
    async with BankClient(bank_sim.url) as client:
        with pytest.raises(BankRejectedError) as exc:
            await client.create_transfers(specs(2))
        assert exc.value.status_code == 404
        bank_sim.faults()
        with pytest.raises(BankRejectedError) as exc:
            await client.create_transfers([])  # the bank takes 1 to 100
        assert exc.value.status_code == 422 and "transfers" in exc.value.message
        bank_sim.faults(error_rate=1.0)
        with pytest.raises(BankTransientError):
            await client.create_transfers(specs(2))
    assert bank_sim.ledger()["transfers"] == 0
