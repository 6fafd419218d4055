"""The bank simulator's faults that make an answer ambiguous or wrong, over real HTTP through the
product's client: an answer lost then a 4xx on the retry, a 409 for a transfer still in flight, a
transfer kept pending, a 'failed' callback for a transfer the bank then pays. In each, the bank's own
status (`GET /transfers/{id}`) tells the truth and the money moves once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from activities.bank_client import BankClient, BankRejectedError, BankTransientError, IdempotencyConflictError
from simulators.bank import INJECTED_FAULTS, Faults
from tests.sim_fixtures import BankAdmin, CallbackSink
from tests.simulators._procs import simulator_process
from tests.simulators.test_bank import spec


@pytest.fixture
async def client(bank_sim: BankAdmin) -> AsyncIterator[BankClient]:
    async with BankClient(bank_sim.url, timeout=2.0) as c:
        yield c


async def test_lost_answer_then_a_4xx_on_the_retry_while_the_money_moves(bank_sim: BankAdmin) -> None:
    bank_sim.faults(timeout_then_reject_rate=1.0, hang_s=1.0)
    async with BankClient(bank_sim.url, timeout=0.3) as impatient:
        with pytest.raises(BankTransientError, match="timed out"):
            await impatient.create_transfer(spec())
    bank_sim.faults()  # decided at intake: the transfer keeps refusing its replays
    async with BankClient(bank_sim.url) as c:
        with pytest.raises(BankRejectedError, match="duplicate reference") as refused:
            await c.create_transfer(spec())
        assert refused.value.status_code == 422
        # The refusal says nothing about the money: the status does.
        assert bank_sim.wait_settled("g1:1")["status"] == "paid"
        status = await c.get_transfer("g1:1")
        assert status is not None and status.status == "paid"
        assert [line.transfer_id for line in await c.statement()] == ["g1:1"]
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["paid"]) == (1, 1)
    assert ledger["faults_injected"]["timeout_then_reject"] == 1


async def test_409_for_a_transfer_still_in_flight(client: BankClient, bank_sim: BankAdmin) -> None:
    bank_sim.config(settle_delay_ms=600)
    bank_sim.faults(conflict_in_flight_rate=1.0)
    assert (await client.create_transfer(spec())).status == "pending"  # the first POST is answered
    with pytest.raises(IdempotencyConflictError, match="still in flight") as conflict:
        await client.create_transfer(spec())
    assert conflict.value.status_code == 409
    status = await client.get_transfer("g1:1")
    assert status is not None and status.status == "pending"
    bank_sim.wait_settled("g1:1")
    assert (await client.create_transfer(spec())).status == "paid"  # settled: replays answer again
    ledger = bank_sim.ledger()
    assert (ledger["transfers"], ledger["paid"], ledger["faults_injected"]["conflict_in_flight"]) == (1, 1, 1)


async def test_a_transfer_kept_pending(client: BankClient, bank_sim: BankAdmin) -> None:
    bank_sim.faults(long_pending_rate=1.0, long_pending_s=0.8)
    started = time.monotonic()
    await client.create_transfer(spec())
    await asyncio.sleep(0.3)  # six settle delays
    assert (await client.get_transfer("g1:1")).status == "pending"  # type: ignore[union-attr]
    assert bank_sim.wait_settled("g1:1", timeout=5)["status"] == "paid"
    assert time.monotonic() - started >= 0.8
    assert bank_sim.ledger()["faults_injected"]["long_pending"] == 1


async def test_a_failed_callback_for_a_transfer_the_bank_then_pays(
    client: BankClient, bank_sim: BankAdmin, callback_sink: CallbackSink
) -> None:
    bank_sim.config(settle_delay_ms=500)
    bank_sim.faults(false_failure_callback_rate=1.0)
    await client.create_transfer(spec(callback_url=callback_sink.url))
    [lie] = callback_sink.wait_for(1)
    said = lie.json()
    assert (said["transfer_id"], said["status"], said["permanent"]) == ("g1:1", "failed", False)
    # Asked at that moment, the bank says it is still pending.
    assert (await client.get_transfer("g1:1")).status == "pending"  # type: ignore[union-attr]
    _, truth = callback_sink.wait_for(2, timeout=5)
    assert truth.json()["status"] == "paid"
    assert [line.transfer_id for line in await client.statement()] == ["g1:1"]
    assert bank_sim.ledger()["faults_injected"]["false_failure_callback"] == 1


def test_enabled_modes_name_what_a_configuration_injects() -> None:
    assert Faults().enabled_modes() == set()
    some = Faults(error_rate=0.1, out_of_order_callbacks=True)
    assert some.enabled_modes() == {"error", "delayed_callback"}
    every = Faults(
        error_rate=0.1,
        timeout_after_commit_rate=0.1,
        accepted_then_failed_rate=0.1,
        duplicate_callback_rate=0.1,
        out_of_order_callbacks=True,
        drop_callback_rate=0.1,
        timeout_then_reject_rate=0.1,
        conflict_in_flight_rate=0.1,
        long_pending_rate=0.1,
        false_failure_callback_rate=0.1,
    )
    assert every.enabled_modes() == set(INJECTED_FAULTS)


def test_the_new_faults_are_command_line_flags_and_kept_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "bank.jsonl"
    body = spec().model_dump(exclude={"idempotency_key", "callback_url"})
    args = ("--state", str(state), "--long-pending-rate", "1", "--long-pending-s", "60")
    with simulator_process("simulators.bank", *args) as url:
        faults = httpx.get(f"{url}/admin/faults").json()
        assert (faults["long_pending_rate"], faults["long_pending_s"]) == (1.0, 60.0)
        httpx.post(f"{url}/transfers", json=body, headers={"Idempotency-Key": "k1"}).raise_for_status()
    # Restarted with a short settle delay and no faults: the transfer still waits out its minute.
    with simulator_process("simulators.bank", "--state", str(state), "--settle-delay-ms", "10") as url:
        time.sleep(0.3)
        assert (BankAdmin(url).transfer("g1:1") or {})["status"] == "pending"
