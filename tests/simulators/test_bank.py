"""The bank simulator over real HTTP, mostly through the product's own client: idempotency, every
fault mode, signed callbacks, planted reconciliation mismatches, and a restart that keeps the ledger."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from activities.bank_client import (
    BankClient,
    BankRejectedError,
    BankTransientError,
    IdempotencyConflictError,
    TransferResponse,
)
from jps.contracts.activities import TransferSpec
from jps.settings import get_settings
from jps.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.sim_fixtures import BankAdmin, CallbackSink
from tests.simulators._procs import simulator_process

SECRET = get_settings().bank_hmac_secret


def spec(n: int = 1, **kw: object) -> TransferSpec:
    data: dict[str, object] = {
        "transfer_id": f"g{n}:1",
        "batch_id": f"g{n}:batch1",
        "beneficiary": f"Kelompok {n}",
        "bank_code": "002",
        "account_no": f"12345{n:05d}",
        "amount": 10_000_000,
    }
    data.update(kw)
    return TransferSpec.model_validate(data)


@pytest.fixture
async def client(bank_sim: BankAdmin) -> AsyncIterator[BankClient]:
    async with BankClient(bank_sim.url, timeout=2.0) as c:
        yield c


async def wait_settled(client: BankClient, transfer_id: str) -> str:
    deadline = time.monotonic() + 5
    while True:
        t = await client.get_transfer(transfer_id)
        assert t is not None
        if t.settled:
            return t.status
        assert time.monotonic() < deadline, f"{transfer_id} still pending"
        await asyncio.sleep(0.02)


# ---- idempotency ----


async def test_same_key_twice_pays_once(client: BankClient, bank_sim: BankAdmin) -> None:
    first = await client.create_transfer(spec())
    second = await client.create_transfer(spec())
    assert first.status == "pending" and second.transfer_id == first.transfer_id
    assert await wait_settled(client, "g1:1") == "paid"
    assert (await client.create_transfer(spec())).status == "paid"  # a late replay answers the truth

    lines = await client.statement()
    assert [(line.transfer_id, line.amount) for line in lines] == [("g1:1", 10_000_000)]
    ledger = bank_sim.ledger()
    assert ledger["paid"] == 1 and ledger["total_paid"] == 10_000_000
    assert ledger["duplicates_suppressed"] == 2


async def test_concurrent_requests_with_one_key_pay_once(client: BankClient, bank_sim: BankAdmin) -> None:
    answers = await asyncio.gather(*(client.create_transfer(spec()) for _ in range(20)))
    assert {a.transfer_id for a in answers} == {"g1:1"}
    await wait_settled(client, "g1:1")
    assert bank_sim.ledger()["transfers"] == 1
    assert bank_sim.ledger()["duplicates_suppressed"] == 19


async def test_key_reused_with_different_body_is_refused(client: BankClient, bank_sim: BankAdmin) -> None:
    await client.create_transfer(spec())
    with pytest.raises(IdempotencyConflictError) as exc:
        await client.create_transfer(spec(amount=9_999_999))
    assert exc.value.status_code == 409 and exc.value.non_retryable
    async with httpx.AsyncClient(base_url=bank_sim.url) as http:
        resp = await http.post(
            "/transfers",
            json={**spec(amount=1).model_dump(exclude={"idempotency_key", "callback_url"})},
            headers={"Idempotency-Key": "g1:1"},
        )
    assert resp.status_code == 409
    assert resp.json() == {"detail": "idempotency key reused with a different body"}
    assert bank_sim.ledger()["transfers"] == 1


async def test_known_transfer_id_under_another_key_is_refused(client: BankClient) -> None:
    await client.create_transfer(spec())
    with pytest.raises(IdempotencyConflictError):
        await client.create_transfer(spec(idempotency_key="another-key"))


async def test_callback_url_is_not_part_of_the_body_comparison(client: BankClient) -> None:
    await client.create_transfer(spec(callback_url="http://127.0.0.1:1/a"))
    again = await client.create_transfer(spec(callback_url="http://127.0.0.1:1/b"))
    assert again.transfer_id == "g1:1"


async def test_bad_requests_are_rejected(client: BankClient, bank_sim: BankAdmin) -> None:
    body = spec().model_dump(exclude={"idempotency_key", "callback_url"})
    async with httpx.AsyncClient(base_url=bank_sim.url) as http:
        assert (await http.post("/transfers", json=body)).status_code == 400  # no key
        for amount in (0, -5, 1.5, "100"):
            resp = await http.post(
                "/transfers", json={**body, "amount": amount}, headers={"Idempotency-Key": "k"}
            )
            assert resp.status_code == 422, amount
    assert bank_sim.ledger()["transfers"] == 0


async def test_unknown_transfer_is_none(client: BankClient) -> None:
    assert await client.get_transfer("never-sent") is None


# ---- fault modes ----


async def test_injected_5xx_is_transient_and_records_nothing(client: BankClient, bank_sim: BankAdmin) -> None:
    bank_sim.faults(error_rate=1.0)
    with pytest.raises(BankTransientError) as exc:
        await client.create_transfer(spec())
    assert exc.value.status_code == 503 and not exc.value.non_retryable
    with pytest.raises(BankTransientError):
        await client.get_transfer("g1:1")
    bank_sim.faults()
    assert bank_sim.ledger()["transfers"] == 0
    assert (await client.create_transfer(spec())).status == "pending"


async def test_error_rate_is_reproducible_with_a_seed(client: BankClient, bank_sim: BankAdmin) -> None:
    async def outcomes() -> list[bool]:
        bank_sim.faults(error_rate=0.5, seed=42)
        result = []
        for _ in range(20):
            try:
                await client.get_transfer("x")
                result.append(True)
            except BankTransientError:
                result.append(False)
        return result

    first = await outcomes()
    assert 0 < sum(first) < 20
    assert await outcomes() == first


async def test_latency(client: BankClient, bank_sim: BankAdmin) -> None:
    bank_sim.faults(latency_ms=300)
    started = time.monotonic()
    assert await client.get_transfer("x") is None
    assert time.monotonic() - started >= 0.3


async def test_timeout_after_commit_then_retry_pays_exactly_once(bank_sim: BankAdmin) -> None:
    bank_sim.faults(timeout_after_commit_rate=1.0, hang_s=1.5)
    async with BankClient(bank_sim.url, timeout=0.3) as impatient:
        with pytest.raises(BankTransientError) as exc:
            await impatient.create_transfer(spec())
        assert "timed out" in str(exc.value)
    # The money moved although we never heard back.
    assert bank_sim.wait_settled("g1:1")["status"] == "paid"

    bank_sim.faults()
    async with BankClient(bank_sim.url) as c:
        again = await c.create_transfer(spec())  # the activity's retry: same key
        assert again.transfer_id == "g1:1" and again.status == "paid"
        assert len(await c.statement()) == 1
    assert bank_sim.ledger()["paid"] == 1 and bank_sim.ledger()["duplicates_suppressed"] == 1


async def test_closed_account_fails_permanently(
    client: BankClient, bank_sim: BankAdmin, callback_sink: CallbackSink
) -> None:
    bank_sim.close_account("5550001")
    first = await client.create_transfer(spec(1, account_no="5550001", callback_url=callback_sink.url))
    by_convention = await client.create_transfer(spec(2, account_no="9991234567"))
    for answer in (first, by_convention):
        assert (answer.status, answer.reason, answer.permanent) == ("failed", "account_closed", True)
    # Final: a replay answers the same failure, and the callback reports it.
    assert (await client.create_transfer(spec(1, account_no="5550001"))).status == "failed"
    [cb] = callback_sink.wait_for(1)
    assert cb.json()["status"] == "failed" and cb.json()["permanent"] is True
    assert await client.statement() == []
    assert bank_sim.ledger()["total_paid"] == 0


async def test_account_closed_while_pending_fails_at_settle_time(
    client: BankClient, bank_sim: BankAdmin
) -> None:
    bank_sim.config(settle_delay_ms=300)
    assert (await client.create_transfer(spec(account_no="5550002"))).status == "pending"
    bank_sim.close_account("5550002")
    assert await wait_settled(client, "g1:1") == "failed"
    t = await client.get_transfer("g1:1")
    assert t is not None and (t.reason, t.permanent) == ("account_closed", True)


async def test_accepted_then_failed_is_final_but_not_permanent(
    client: BankClient, bank_sim: BankAdmin
) -> None:
    bank_sim.faults(accepted_then_failed_rate=1.0)
    assert (await client.create_transfer(spec())).status == "pending"
    assert await wait_settled(client, "g1:1") == "failed"
    t = await client.get_transfer("g1:1")
    assert t is not None
    assert (t.reason, t.permanent, t.paid_at) == ("beneficiary_bank_unavailable", False, None)
    assert await client.statement() == []

    # The product's remedy: a new transfer (new id, new key) to the same account.
    bank_sim.faults()
    await client.create_transfer(spec(transfer_id="g1:2"))
    assert await wait_settled(client, "g1:2") == "paid"
    assert [line.transfer_id for line in await client.statement()] == ["g1:2"]


async def test_dropped_callback_status_still_tells_the_truth(
    client: BankClient, bank_sim: BankAdmin, callback_sink: CallbackSink
) -> None:
    bank_sim.faults(drop_callback_rate=1.0)
    await client.create_transfer(spec(callback_url=callback_sink.url))
    assert await wait_settled(client, "g1:1") == "paid"
    await asyncio.sleep(0.3)
    assert callback_sink.received == []
    assert bank_sim.ledger()["callbacks"]["dropped"] == 1


async def test_duplicate_callbacks_arrive_twice_with_the_same_content(
    client: BankClient, bank_sim: BankAdmin, callback_sink: CallbackSink
) -> None:
    bank_sim.faults(duplicate_callback_rate=1.0)
    await client.create_transfer(spec(callback_url=callback_sink.url))
    a, b = callback_sink.wait_for(2)
    assert a.body == b.body
    for h in (SIGNATURE_HEADER, TIMESTAMP_HEADER):
        assert a.headers[h.lower()] == b.headers[h.lower()]
    await asyncio.sleep(0.2)
    assert len(callback_sink.received) == 2


async def test_out_of_order_callbacks(
    client: BankClient, bank_sim: BankAdmin, callback_sink: CallbackSink
) -> None:
    bank_sim.faults(out_of_order_callbacks=True, out_of_order_window_ms=400, seed=7)
    ids = [f"g1:w{i}" for i in range(8)]
    for transfer_id in ids:
        await client.create_transfer(spec(transfer_id=transfer_id, callback_url=callback_sink.url))
    arrived = [cb.json()["transfer_id"] for cb in callback_sink.wait_for(8)]
    assert sorted(arrived) == sorted(ids)
    assert arrived != ids


async def test_callbacks_are_signed(
    client: BankClient, bank_sim: BankAdmin, callback_sink: CallbackSink
) -> None:
    bank_sim.config(callback_url=callback_sink.url)  # the default, for transfers that name none
    await client.create_transfer(spec())
    [cb] = callback_sink.wait_for(1)
    payload = cb.json()
    assert payload["transfer_id"] == "g1:1" and payload["status"] == "paid"
    assert payload["amount"] == 10_000_000 and payload["paid_at"] is not None
    ts, sig = cb.headers[TIMESTAMP_HEADER.lower()], cb.headers[SIGNATURE_HEADER.lower()]
    assert verify(cb.body, SECRET, ts, sig)
    assert not verify(cb.body.replace(b"10000000", b"90000000"), SECRET, ts, sig)
    assert not verify(cb.body, "another-secret", ts, sig)
    assert not verify(cb.body, SECRET, int(ts) + 1, sig)
    assert not verify(cb.body, SECRET, ts, sig, now=int(ts) + 301)


async def test_callback_is_retried_when_the_receiver_fails(
    client: BankClient, bank_sim: BankAdmin, callback_sink: CallbackSink
) -> None:
    callback_sink.status_code = 503
    await client.create_transfer(spec(callback_url=callback_sink.url))
    callback_sink.wait_for(1)
    callback_sink.status_code = 200
    first, second = callback_sink.wait_for(2, timeout=3)
    assert first.body == second.body
    # The bank counts the callback once it has read our 200, a moment after the sink saw it.
    deadline = time.monotonic() + 3
    sent = bank_sim.ledger()["callbacks"]["sent"]
    while sent != 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        sent = bank_sim.ledger()["callbacks"]["sent"]
    assert sent == 1


# ---- reconciliation ----


async def test_planted_mismatches_appear_in_the_statement(client: BankClient, bank_sim: BankAdmin) -> None:
    for n in (1, 2, 3):
        await client.create_transfer(spec(n))
    for n in (1, 2, 3):
        await wait_settled(client, f"g{n}:1")

    bank_sim.plant("amount_differs", transfer_id="g1:1", amount=9_000_000)
    bank_sim.plant("recorded_not_paid", transfer_id="g2:1")
    planted = bank_sim.plant("paid_not_recorded", amount=2_500_000)

    by_id = {line.transfer_id: line for line in await client.statement()}
    assert by_id["g1:1"].amount == 9_000_000
    assert "g2:1" not in by_id
    assert by_id[planted["transfer_id"]].amount == 2_500_000
    assert by_id["g3:1"].amount == 10_000_000
    # Without a transfer id, amount_differs picks the latest paid transfer not yet planted.
    assert bank_sim.plant("amount_differs")["transfer_id"] == "g3:1"


async def test_statement_since(client: BankClient, bank_sim: BankAdmin) -> None:
    await client.create_transfer(spec(1))
    await wait_settled(client, "g1:1")
    cut = datetime.now(UTC)
    await client.create_transfer(spec(2))
    await wait_settled(client, "g2:1")
    assert [line.transfer_id for line in await client.statement(since=cut)] == ["g2:1"]
    assert len(await client.statement()) == 2


# ---- the process the local stack runs ----


def test_restart_with_state_keeps_the_ledger(tmp_path: Path) -> None:
    state = tmp_path / "bank.jsonl"
    body = spec().model_dump(exclude={"idempotency_key", "callback_url"})
    args = ("--state", str(state), "--settle-delay-ms", "20", "--drop-callback-rate", "0.5")
    with simulator_process("simulators.bank", *args) as url:
        assert httpx.get(f"{url}/admin/faults").json()["drop_callback_rate"] == 0.5
        assert httpx.post(f"{url}/transfers", json=body, headers={"Idempotency-Key": "k1"}).status_code == 202
        BankAdmin(url).wait_settled("g1:1")
    with simulator_process("simulators.bank", *args) as url:
        again = httpx.post(f"{url}/transfers", json=body, headers={"Idempotency-Key": "k1"})
        assert again.json()["status"] == "paid"
        conflict = httpx.post(
            f"{url}/transfers", json={**body, "amount": 5}, headers={"Idempotency-Key": "k1"}
        )
        assert conflict.status_code == 409
        ledger = httpx.get(f"{url}/admin/ledger").json()
        assert (ledger["transfers"], ledger["paid"], ledger["duplicates_suppressed"]) == (1, 1, 1)


def test_pending_transfers_settle_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "bank.jsonl"
    body = spec().model_dump(exclude={"idempotency_key", "callback_url"})
    with simulator_process("simulators.bank", "--state", str(state), "--settle-delay-ms", "60000") as url:
        httpx.post(f"{url}/transfers", json=body, headers={"Idempotency-Key": "k1"})
        assert (BankAdmin(url).transfer("g1:1") or {})["status"] == "pending"
    with simulator_process("simulators.bank", "--state", str(state), "--settle-delay-ms", "10") as url:
        assert BankAdmin(url).wait_settled("g1:1")["status"] == "paid"


async def test_many_transfers_are_looked_up_in_one_request_and_the_unknown_named(
    client: BankClient, bank_sim: BankAdmin
) -> None:
    for n in (1, 2, 3):
        await client.create_transfer(spec(n))
    ids = ["g1:1", "g9:1", "g2:1", "g3:1", "never-sent"]
    found = await client.get_transfers(ids)
    assert list(found) == ids
    assert found["g9:1"] is None and found["never-sent"] is None
    assert {tid: t.transfer_id for tid, t in found.items() if t is not None} == {
        "g1:1": "g1:1",
        "g2:1": "g2:1",
        "g3:1": "g3:1",
    }
    single = await client.get_transfer("g2:1")
    assert single is not None and found["g2:1"] is not None and found["g2:1"].status == single.status
    async with httpx.AsyncClient(base_url=bank_sim.url) as http:
        too_many = await http.get("/transfers", params=[("id", f"t{i}") for i in range(101)])
        none = await http.get("/transfers")
    assert too_many.status_code == 422 and none.status_code == 422
    bank_sim.faults(error_rate=1.0)
    with pytest.raises(BankTransientError):
        await client.get_transfers(ids)


# ---- many transfers in one request ----


def batch_items(*specs: TransferSpec) -> list[dict[str, object]]:
    """`POST /transfers/batch` items: each the `POST /transfers` body and its idempotency key."""
    return [
        {**s.model_dump(exclude={"idempotency_key", "callback_url"}), "idempotency_key": s.key} for s in specs
    ]


def batch_body(*specs: TransferSpec) -> dict[str, object]:
    return {"transfers": batch_items(*specs)}


async def test_a_batch_records_each_transfer_once_and_a_replay_answers_the_same(bank_sim: BankAdmin) -> None:
    specs = [spec(n) for n in range(1, 6)]
    async with httpx.AsyncClient(base_url=bank_sim.url) as http:
        first = await http.post("/transfers/batch", json=batch_body(*specs))
        assert first.status_code == 200
        results = first.json()["results"]
        assert [r["transfer_id"] for r in results] == [s.transfer_id for s in specs]  # the request's order
        assert {(r["status_code"], r["transfer"]["status"], r["detail"]) for r in results} == {
            (202, "pending", None)
        }
        ledger = bank_sim.ledger()
        assert (ledger["transfers"], ledger["batches"], ledger["single_posts"]) == (5, 1, 0)

        for s in specs:
            bank_sim.wait_settled(s.transfer_id)
        again = (await http.post("/transfers/batch", json=batch_body(*specs))).json()["results"]
        # A replay answers the very same transfers, now paid, and records none again.
        assert [(r["transfer_id"], r["status_code"]) for r in again] == [(s.transfer_id, 202) for s in specs]
        assert {r["transfer"]["status"] for r in again} == {"paid"}
        # A single POST with one of the keys is the same transfer too.
        body = specs[0].model_dump(exclude={"idempotency_key", "callback_url"})
        single = await http.post("/transfers", json=body, headers={"Idempotency-Key": specs[0].key})
        assert single.json()["transfer_id"] == specs[0].transfer_id
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["paid"], ledger["total_paid"]) == (5, 5, 50_000_000)
    assert (ledger["duplicates_suppressed"], ledger["batches"], ledger["single_posts"]) == (6, 2, 1)
    assert sorted(line["transfer_id"] for line in bank_sim.statement()) == sorted(
        s.transfer_id for s in specs
    )


async def test_a_batchs_bad_items_are_refused_beside_the_accepted_ones(
    client: BankClient, bank_sim: BankAdmin
) -> None:
    await client.create_transfer(spec(1))
    items = [
        spec(1, amount=9_999_999),  # its key with another body: 409
        spec(2),
        spec(3, idempotency_key="another-key", transfer_id="g1:1"),  # a known transfer id: 409
        spec(4, account_no="5" * 41),  # longer than any account the bank accepts: 422
        spec(5),
    ]
    async with httpx.AsyncClient(base_url=bank_sim.url) as http:
        no_key = spec(6).model_dump(exclude={"idempotency_key", "callback_url"})
        body = {"transfers": [*batch_items(*items), no_key]}
        results = (await http.post("/transfers/batch", json=body)).json()["results"]
    assert [(r["transfer_id"], r["status_code"]) for r in results] == [
        ("g1:1", 409),
        ("g2:1", 202),
        ("g1:1", 409),
        ("g4:1", 422),
        ("g5:1", 202),
        ("g6:1", 400),
    ]
    assert results[0]["detail"] == "idempotency key reused with a different body"
    assert results[2]["detail"] == "transfer_id already used with another idempotency key"
    assert results[3]["detail"].startswith("account_no: ")
    assert [r["transfer"] is None for r in results] == [True, False, True, True, False, True]
    assert bank_sim.ledger()["transfers"] == 3  # g1 before, g2 and g5 now
    t = bank_sim.transfer("g1:1")
    assert t is not None and t["amount"] == 10_000_000


async def test_a_batch_of_none_or_too_many_is_refused_whole(bank_sim: BankAdmin) -> None:
    async with httpx.AsyncClient(base_url=bank_sim.url) as http:
        none = await http.post("/transfers/batch", json={"transfers": []})
        too_many = await http.post("/transfers/batch", json=batch_body(*(spec(n) for n in range(1, 102))))
        hundred = await http.post("/transfers/batch", json=batch_body(*(spec(n) for n in range(1, 101))))
    for refused in (none, too_many):
        assert refused.status_code == 422
        assert refused.json()["detail"] == "transfers: 1 to 100 transfers"
    assert hundred.status_code == 200 and len(hundred.json()["results"]) == 100
    assert (bank_sim.ledger()["transfers"], bank_sim.ledger()["batches"]) == (100, 1)


async def test_a_bank_without_batches_answers_404_and_records_nothing(bank_sim: BankAdmin) -> None:
    bank_sim.faults(no_batches=True)
    async with httpx.AsyncClient(base_url=bank_sim.url) as http:
        resp = await http.post("/transfers/batch", json=batch_body(spec(1)))
    assert resp.status_code == 404
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["batches"]) == (0, 0)


async def test_a_lost_batch_answer_comes_after_every_item_was_recorded(bank_sim: BankAdmin) -> None:
    """The batch's one answer is lost after every item was recorded (counted once, a lost answer as a
    single POST's); the retry, with the same keys and bodies, is answered with the same transfers."""
    bank_sim.faults(timeout_after_commit_rate=1.0, hang_s=1.5)
    specs = [spec(n) for n in range(1, 4)]
    async with BankClient(bank_sim.url, timeout=0.3) as impatient:
        with pytest.raises(BankTransientError, match="timed out"):
            await impatient.create_transfers(specs)
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["faults_injected"]["timeout_after_commit"]) == (3, 1)
    bank_sim.faults()
    async with BankClient(bank_sim.url) as c:
        again = await c.create_transfers(specs)  # the retry: the same keys and bodies
    assert [a.transfer_id for a in again if isinstance(a, TransferResponse)] == [s.transfer_id for s in specs]
    for s in specs:
        assert bank_sim.wait_settled(s.transfer_id)["status"] == "paid"
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["paid"], ledger["duplicates_suppressed"]) == (3, 3, 3)


async def test_a_batch_replay_refused_after_a_lost_answer_is_that_items_422(bank_sim: BankAdmin) -> None:
    bank_sim.faults(timeout_then_reject_rate=1.0, hang_s=1.5)
    async with BankClient(bank_sim.url, timeout=0.3) as impatient:
        with pytest.raises(BankTransientError):
            await impatient.create_transfers([spec(1), spec(2)])
        replayed = await impatient.create_transfers([spec(1), spec(2)])
    for item in replayed:
        assert isinstance(item, BankRejectedError) and item.status_code == 422
        assert "duplicate reference" in item.message
    assert bank_sim.ledger()["faults_injected"]["timeout_then_reject"] == 2  # one per transfer taken
    assert bank_sim.wait_settled("g1:1")["status"] == "paid"
    assert bank_sim.wait_settled("g2:1")["status"] == "paid"


async def test_an_injected_5xx_fails_a_batch_whole_before_anything_is_recorded(
    client: BankClient, bank_sim: BankAdmin
) -> None:
    bank_sim.faults(error_rate=1.0)
    with pytest.raises(BankTransientError) as exc:
        await client.create_transfers([spec(1), spec(2)])
    assert exc.value.status_code == 503
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["batches"], ledger["faults_injected"]["error"]) == (0, 0, 1)
