"""`send_transfers` and `transfer_statuses` against the real bank simulator (over HTTP) and PostgreSQL:
once a try was ambiguous or the bank refused, only the bank's own status decides a transfer; nothing
goes to the bank while disbursement is frozen; every transfer gets one status and a per-transfer
problem never raises (issue 10, scenarios 1, 2 and 6).

Before these activities the workflow's `instruct_payments` let a 409 propagate as a non-retryable
`IdempotencyConflictError` (failing the group's workflow), recorded a 4xx after a lost answer as a
permanent failure of a transfer the bank had paid, and never looked at the freeze."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.bank_client import BankClient, BankTransientError
from activities.payments import PaymentActivities
from jps.contracts.activities import PaymentBatch, SendResult, StatusRequest, TransferSpec
from tests.sim_fixtures import BankAdmin
from tests.simulators._procs import free_port

GROUP = "TKM-3171-SENDTRANS01"


def spec(n: int, attempt: int = 1, **kw: Any) -> TransferSpec:
    data: dict[str, Any] = {
        "transfer_id": f"{GROUP}-A{attempt}-{n:02d}",
        "batch_id": f"{GROUP}-A{attempt}",
        "beneficiary": f"Pekerja {n}",
        "bank_code": "002",
        "account_no": f"55{n:08d}",
        "amount": 1_000_000,
    }
    return TransferSpec.model_validate({**data, **kw})


def batch(*transfers: TransferSpec, attempt: int = 1) -> PaymentBatch:
    return PaymentBatch(
        group_id=GROUP,
        batch_id=f"{GROUP}-A{attempt}",
        attempt=attempt,
        transfers=list(transfers),
        program="tkm",
        region_code="3171",
    )


def env(attempt: int = 1, start_to_close: timedelta = timedelta(minutes=2)) -> ActivityEnvironment:
    e = ActivityEnvironment()
    e.info = dataclasses.replace(
        e.info, attempt=attempt, start_to_close_timeout=start_to_close, started_time=datetime.now(UTC)
    )
    return e


async def freeze(pool: asyncpg.Pool, region: str = "3171") -> None:
    await pool.execute(
        """INSERT INTO disbursement_freezes (program, region_code, reason, frozen_by)
           VALUES ('tkm', $1, 'audit of the regency', 'supervisor-1')""",
        region,
    )


async def send(payments: PaymentActivities, b: PaymentBatch, attempt: int = 1) -> SendResult:
    result: SendResult = await env(attempt).run(payments.send_transfers, b)
    return result


@pytest.fixture
async def payments(db: asyncpg.Pool, bank_sim: BankAdmin) -> AsyncIterator[PaymentActivities]:
    async with BankClient(bank_sim.url, timeout=2.0) as bank:
        yield PaymentActivities(db, bank)


# ---- scenario 1: a 409 is decided by the bank's status, never raised ----


async def test_a_409_is_answered_by_the_banks_status(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    first = await send(payments, batch(spec(0), spec(1)))
    assert [s.status for s in first.statuses] == ["pending", "pending"]
    bank_sim.wait_settled(spec(0).transfer_id)
    # The same key with a different body (a changed instruction): the bank answers 409.
    changed = spec(0, beneficiary="Pekerja Nol")
    result = await send(payments, batch(changed, spec(1)), attempt=2)
    assert result.statuses[0].transfer_id == spec(0).transfer_id
    assert result.statuses[0].status == "paid"
    assert result.statuses[1].status in ("pending", "paid")  # the same instruction: answered as usual
    assert bank_sim.ledger()["transfers"] == 2


async def test_a_409_for_a_transfer_in_flight(payments: PaymentActivities, bank_sim: BankAdmin) -> None:
    bank_sim.config(settle_delay_ms=2_000)
    await send(payments, batch(spec(0)))
    bank_sim.faults(conflict_in_flight_rate=1.0)
    # A retried attempt replays the key while the bank still processes it: 409, then its status.
    [status] = (await send(payments, batch(spec(0)), attempt=2)).statuses
    assert (status.status, status.permanent) == ("pending", False)
    assert bank_sim.ledger()["faults_injected"]["conflict_in_flight"] >= 1


# ---- scenario 2: a lost answer, then a 4xx on the retry ----


async def test_lost_answer_then_4xx_is_the_banks_status_not_a_refusal(
    db: asyncpg.Pool, bank_sim: BankAdmin
) -> None:
    bank_sim.faults(timeout_then_reject_rate=1.0, hang_s=3.0)
    async with BankClient(bank_sim.url, timeout=0.3) as impatient:
        payments = PaymentActivities(db, impatient)
        [status] = (await send(payments, batch(spec(0)))).statuses
    # Try 1 timed out (the bank committed), try 2 got 422 'duplicate reference': the GET decides.
    assert (status.status, status.permanent) == ("paid", False)
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["paid"]) == (1, 1)


async def test_in_a_retried_attempt_a_4xx_for_a_transfer_the_bank_lacks_is_absent(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    """An earlier attempt may have sent it: a refusal now says nothing final. A status request, the
    bank still lacking it, sends it again and then takes the clean refusal for what it is."""
    bad = spec(0, account_no="5" * 41)  # longer than any account the bank accepts: 422
    [status] = (await send(payments, batch(bad), attempt=2)).statuses
    assert (status.status, status.permanent) == ("absent", False)
    req = StatusRequest(group_id=GROUP, program="tkm", region_code="3171", transfer_ids=[bad.transfer_id])
    [asked] = await env().run(payments.transfer_statuses, req)
    assert (asked.status, asked.permanent) == ("failed", True)
    assert bank_sim.ledger()["transfers"] == 0


async def test_a_clean_4xx_for_a_transfer_the_bank_does_not_have_is_permanent(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    bad = spec(0, account_no="5" * 41)  # longer than any account the bank accepts: 422
    ok = spec(1)
    result = await send(payments, batch(bad, ok))
    assert [(s.status, s.permanent) for s in result.statuses] == [("failed", True), ("pending", False)]
    assert result.statuses[0].reason == "refused"  # the bank's 422 text stays in the log (a reason code)
    assert bank_sim.ledger()["transfers"] == 1


async def test_a_bank_that_answers_nothing_fails_the_attempt_for_temporal_to_retry(db: asyncpg.Pool) -> None:
    async with BankClient(f"http://127.0.0.1:{free_port()}", timeout=0.5) as nobody:
        payments = PaymentActivities(db, nobody)
        with pytest.raises(BankTransientError, match="answered none") as raised:
            await send(payments, batch(spec(0), spec(1)))
        assert not raised.value.non_retryable
        await freeze(db)
        # Frozen: a transfer never tried is held (nothing sent, nothing unanswered, nothing raised);
        # one an earlier attempt may have sent is whatever the bank says, here nothing: unknown.
        fresh = await send(payments, batch(spec(2, attempt=2), attempt=2))
        assert [s.status for s in fresh.statuses] == ["held"]
        again = await send(payments, batch(spec(0), spec(1)), attempt=2)
        assert [s.status for s in again.statuses] == ["unknown", "unknown"]


# ---- scenario 6: the freeze before every POST ----


async def test_a_freeze_between_batches_holds_every_transfer(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    await send(payments, batch(spec(0)))
    await freeze(payments.pool)
    result = await send(payments, batch(spec(0, attempt=2), spec(1, attempt=2), attempt=2))
    assert [s.status for s in result.statuses] == ["held", "held"]
    assert result.frozen_reason == "audit of the regency"
    assert bank_sim.ledger()["transfers"] == 1  # nothing of the second batch reached the bank
    # Recorded all the same, so that a status request can send them with their keys once lifted.
    assert await payments.pool.fetchval("SELECT count(*) FROM payments WHERE attempt = 2") == 2


async def test_a_freeze_of_another_region_holds_nothing(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    await freeze(payments.pool, region="3273")
    result = await send(payments, batch(spec(0)))
    assert [s.status for s in result.statuses] == ["pending"] and result.frozen_reason == ""


class FreezeDuringOutage(httpx.AsyncBaseTransport):
    """The first POST never leaves (a connection error); meanwhile a supervisor freezes the region."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.posts = 0
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts += 1
            if self.posts == 1:
                await freeze(self.pool)
                raise httpx.ConnectError("unreachable (test)", request=request)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_a_retry_through_an_outage_does_not_send_after_a_freeze(
    db: asyncpg.Pool, bank_sim: BankAdmin
) -> None:
    transport = FreezeDuringOutage(db)
    async with BankClient(bank_sim.url, transport=transport) as bank:
        payments = PaymentActivities(db, bank)
        [status] = (await send(payments, batch(spec(0)))).statuses
    # The try was ambiguous, so the bank's status was asked: it does not have the transfer.
    assert status.status == "held" and transport.posts == 1
    assert bank_sim.ledger()["transfers"] == 0


# ---- transfer_statuses ----


async def test_statuses_send_again_what_the_bank_never_received_unless_frozen(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    sent, never = spec(0), spec(1)
    await send(payments, batch(sent))
    await freeze(payments.pool)
    await send(payments, batch(never))  # held: recorded, not sent
    bank_sim.wait_settled(sent.transfer_id)
    req = StatusRequest(
        group_id=GROUP, program="tkm", region_code="3171", transfer_ids=[sent.transfer_id, never.transfer_id]
    )
    asked = await env().run(payments.transfer_statuses, req)
    assert [(s.transfer_id, s.status) for s in asked] == [
        (sent.transfer_id, "paid"),
        (never.transfer_id, "held"),
    ]
    assert bank_sim.ledger()["transfers"] == 1

    await payments.pool.execute("UPDATE disbursement_freezes SET lifted_at = now(), lifted_by = 'spv'")
    asked = await env().run(payments.transfer_statuses, req)
    assert [s.status for s in asked] == ["paid", "pending"]  # sent now, with its original key
    t = bank_sim.transfer(never.transfer_id)
    assert t is not None and bank_sim.ledger()["transfers"] == 2

    stranger = StatusRequest(group_id=GROUP, program="tkm", region_code="3171", transfer_ids=["nope"])
    [absent] = await env().run(payments.transfer_statuses, stranger)
    assert absent.status == "absent"


async def test_an_ambiguous_resend_is_unknown(db: asyncpg.Pool, bank_sim: BankAdmin) -> None:
    async with BankClient(bank_sim.url, timeout=2.0) as bank:
        await freeze(db)
        await send(PaymentActivities(db, bank), batch(spec(0)))  # held, recorded
        await db.execute("UPDATE disbursement_freezes SET lifted_at = now(), lifted_by = 'spv'")
    bank_sim.faults(timeout_after_commit_rate=1.0, hang_s=1.0)
    async with BankClient(bank_sim.url, timeout=0.2) as impatient:
        req = StatusRequest(
            group_id=GROUP, program="tkm", region_code="3171", transfer_ids=[spec(0).transfer_id]
        )
        [status] = await env().run(PaymentActivities(db, impatient).transfer_statuses, req)
    assert status.status == "unknown"


async def test_a_bank_refusing_the_many_at_once_lookup_is_asked_one_transfer_a_request(
    payments: PaymentActivities, bank_sim: BankAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More ids in one lookup than the bank takes (its 422), as a bank without the lookup would
    refuse it: each transfer is asked on its own, and a never-received one is still sent again."""
    import activities.payments as payments_module

    sent = [spec(n) for n in range(3)]
    await send(payments, batch(*sent))
    await freeze(payments.pool)
    never = spec(7)
    await send(payments, batch(never))  # held: recorded, not sent
    await payments.pool.execute("UPDATE disbursement_freezes SET lifted_at = now(), lifted_by = 'spv'")
    for t in sent:
        bank_sim.wait_settled(t.transfer_id)
    strangers = [f"stranger-{i:03d}" for i in range(110)]  # past the simulator's 100
    monkeypatch.setattr(payments_module, "LOOKUP_CHUNK", 500)
    ids = [*(t.transfer_id for t in sent), never.transfer_id, *strangers]
    req = StatusRequest(group_id=GROUP, program="tkm", region_code="3171", transfer_ids=ids)
    asked = await env().run(payments.transfer_statuses, req)
    assert [s.transfer_id for s in asked] == ids  # one each, in order
    assert [s.status for s in asked[:4]] == ["paid", "paid", "paid", "pending"]  # the last sent now
    assert {s.status for s in asked[4:]} == {"absent"}
    assert bank_sim.ledger()["transfers"] == 4


# ---- a group's transfers in one request ----


async def test_a_groups_batch_is_instructed_in_one_request(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    twenty = [spec(n) for n in range(20)]
    result = await send(payments, batch(*twenty))
    assert [s.transfer_id for s in result.statuses] == [t.transfer_id for t in twenty]
    assert {s.status for s in result.statuses} == {"pending"}
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["batches"], ledger["single_posts"]) == (20, 1, 0)
    # A retried attempt sends the same batch again: the same keys, the same transfers, nothing twice.
    for t in twenty:
        bank_sim.wait_settled(t.transfer_id)
    again = await send(payments, batch(*twenty), attempt=2)
    assert {s.status for s in again.statuses} == {"paid"}
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["paid"], ledger["batches"]) == (20, 20, 2)


async def test_more_than_a_hundred_transfers_go_in_requests_of_a_hundred(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    many = [spec(n) for n in range(130)]
    result = await send(payments, batch(*many))
    assert [s.transfer_id for s in result.statuses] == [t.transfer_id for t in many]
    assert {s.status for s in result.statuses} == {"pending"}
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["batches"], ledger["single_posts"]) == (130, 2, 0)


async def test_a_bank_without_batches_gets_one_transfer_a_request(
    payments: PaymentActivities, bank_sim: BankAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    bank_sim.faults(no_batches=True)
    twelve = [spec(n) for n in range(12)]
    result = await send(payments, batch(*twelve))
    assert {s.status for s in result.statuses} == {"pending"}
    events = [r.msg.get("event") for r in caplog.records if isinstance(r.msg, dict)]
    assert events.count("bank_batch_refused") == 1
    for t in twelve:
        assert bank_sim.wait_settled(t.transfer_id)["status"] == "paid"
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["single_posts"], ledger["batches"]) == (12, 12, 0)
    assert (ledger["paid"], ledger["total_paid"], ledger["duplicates_suppressed"]) == (12, 12_000_000, 0)
    assert sorted(line["transfer_id"] for line in bank_sim.statement()) == sorted(
        t.transfer_id for t in twelve
    )


async def test_a_batch_whose_answers_were_lost_is_paid_once(db: asyncpg.Pool, bank_sim: BankAdmin) -> None:
    """Every answer hangs after the bank recorded the batch: the attempt's tries send the same keys,
    it fails for Temporal to retry, and the retry is answered with the transfers the bank already
    has. Each is paid once."""
    bank_sim.faults(timeout_after_commit_rate=1.0, hang_s=1.0)
    five = [spec(n) for n in range(5)]
    async with BankClient(bank_sim.url, timeout=0.3) as impatient:
        with pytest.raises(BankTransientError, match="answered none of the 5"):
            await send(PaymentActivities(db, impatient), batch(*five))
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["batches"], ledger["duplicates_suppressed"]) == (5, 3, 10)
    bank_sim.faults()
    async with BankClient(bank_sim.url, timeout=2.0) as bank:
        result = await send(PaymentActivities(db, bank), batch(*five), attempt=2)
    assert {s.status for s in result.statuses} <= {"pending", "paid"}
    for t in five:
        assert bank_sim.wait_settled(t.transfer_id)["status"] == "paid"
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["paid"], ledger["total_paid"]) == (5, 5, 5_000_000)
    assert sorted(line["transfer_id"] for line in bank_sim.statement()) == sorted(t.transfer_id for t in five)


async def test_a_lost_batch_answer_then_refused_replays_are_the_banks_status(
    db: asyncpg.Pool, bank_sim: BankAdmin
) -> None:
    """The first try's answer is lost after the bank recorded the batch; the second try's items are
    refused (a bank that forgets its idempotency): the bank's status decides each, none is sent anew."""
    bank_sim.faults(timeout_then_reject_rate=1.0, hang_s=3.0)
    three = [spec(n) for n in range(3)]
    async with BankClient(bank_sim.url, timeout=0.3) as impatient:
        result = await send(PaymentActivities(db, impatient), batch(*three))
    # Refused replays are not refusals of the transfers: the bank's status, pending or paid by now.
    assert all(s.status in ("pending", "paid") and not s.permanent for s in result.statuses)
    for t in three:
        assert bank_sim.wait_settled(t.transfer_id)["status"] == "paid"
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["paid"], ledger["batches"]) == (3, 3, 2)


async def test_a_freeze_holds_the_whole_batch_and_the_bank_hears_nothing(
    payments: PaymentActivities, bank_sim: BankAdmin
) -> None:
    await freeze(payments.pool)
    twenty = [spec(n) for n in range(20)]
    result = await send(payments, batch(*twenty))
    assert {s.status for s in result.statuses} == {"held"} and len(result.statuses) == 20
    assert result.frozen_reason == "audit of the regency"
    # A retried attempt (an earlier one may have reached the bank) asks the bank, which has none.
    again = await send(payments, batch(*twenty), attempt=2)
    assert {s.status for s in again.statuses} == {"held"}
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["batches"], ledger["single_posts"]) == (0, 0, 0)


async def test_a_hanging_batch_ends_the_attempt_in_time_and_heartbeats(
    db: asyncpg.Pool, bank_sim: BankAdmin
) -> None:
    """The bank records the batch and never answers in time: the attempt stops waiting at four fifths of
    its start-to-close timeout (the batch counts as unanswered), heartbeating meanwhile."""
    bank_sim.faults(timeout_after_commit_rate=1.0, hang_s=30)
    beats: list[object] = []
    e = env(start_to_close=timedelta(seconds=2.5))
    e.on_heartbeat = lambda *details: beats.append(details)
    async with BankClient(bank_sim.url, timeout=60) as patient:
        started = time.monotonic()
        with pytest.raises(BankTransientError, match="answered none of the 3"):
            await e.run(PaymentActivities(db, patient).send_transfers, batch(*(spec(n) for n in range(3))))
        assert time.monotonic() - started < 2.5
    assert len(beats) >= 2
    assert bank_sim.ledger()["transfers"] == 3  # the bank has them: the workflow's status requests find them


async def test_answers_already_given_are_kept_when_the_attempt_runs_out_mid_batch(
    db: asyncpg.Pool, bank_sim: BankAdmin
) -> None:
    """130 transfers go in two requests: the first is answered, the second's answer is lost (seed 10
    rolls 0.57 then 0.43 against the rate 0.5). When the attempt stops waiting, the first hundred keep
    the bank's answer and the attempt does not fail; only the other thirty are left to the status
    requests."""
    bank_sim.faults(timeout_after_commit_rate=0.5, hang_s=30, seed=10)
    many = [spec(n) for n in range(130)]
    e = env(start_to_close=timedelta(seconds=2.5))
    async with BankClient(bank_sim.url, timeout=60) as patient:
        result = await e.run(PaymentActivities(db, patient).send_transfers, batch(*many))
    assert [s.status for s in result.statuses[:100]] == ["pending"] * 100
    assert [s.status for s in result.statuses[100:]] == ["unknown"] * 30
    assert bank_sim.ledger()["transfers"] == 130
