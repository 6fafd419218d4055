"""The notification simulator over real HTTP, through the product's client: idempotency and faults."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.notify_client import NotifyClient, NotifyRejectedError, NotifyTransientError, Outgoing
from simulators.notify import BATCH_MAX
from tests.sim_fixtures import NotifyAdmin
from tests.simulators._procs import simulator_process


@pytest.fixture
async def client(notify_sim: NotifyAdmin) -> AsyncIterator[NotifyClient]:
    async with NotifyClient(notify_sim.url, timeout=2.0) as c:
        yield c


async def send(client: NotifyClient, n: int, group_id: str = "g1", recipient: str = "+6281234567890") -> None:
    await client.send(f"{group_id}:{n}:0", recipient, "whatsapp", "proposal_received", f"msg {n}", group_id)


async def test_messages_are_listed_and_filtered(client: NotifyClient, notify_sim: NotifyAdmin) -> None:
    await send(client, 1)
    await send(client, 2, recipient="supervisor:3171")
    await send(client, 3, group_id="g2")
    assert [m["message_id"] for m in notify_sim.messages(group_id="g1")] == ["g1:1:0", "g1:2:0"]
    [msg] = notify_sim.messages(recipient="supervisor:3171")
    assert (msg["channel"], msg["template"], msg["body"]) == ("whatsapp", "proposal_received", "msg 2")
    assert len(notify_sim.messages()) == 3


async def test_same_key_is_accepted_but_stored_once(client: NotifyClient, notify_sim: NotifyAdmin) -> None:
    await send(client, 1)
    await send(client, 1)
    async with httpx.AsyncClient(base_url=notify_sim.url) as http:
        raw = await http.post(
            "/messages",
            json={"message_id": "g1:1:0", "recipient": "x", "channel": "sms", "template": "t", "body": "b"},
            headers={"Idempotency-Key": "g1:1:0"},
        )
    assert raw.status_code == 202 and raw.json()["duplicate"] is True
    assert len(notify_sim.messages()) == 1
    assert notify_sim.stats() == {"messages": 1, "duplicates": 2, "refused": 0, "batches": 0}


async def test_bad_messages_are_rejected(client: NotifyClient, notify_sim: NotifyAdmin) -> None:
    body = {"message_id": "m", "recipient": "x", "channel": "sms", "template": "t", "body": "b"}
    async with httpx.AsyncClient(base_url=notify_sim.url) as http:
        assert (await http.post("/messages", json=body)).status_code == 400  # no key
    with pytest.raises(NotifyRejectedError):
        await client.send("m", "x", "pigeon", "t", "b")  # type: ignore[arg-type]
    assert notify_sim.messages() == []


async def test_outage_is_transient_and_ends(client: NotifyClient, notify_sim: NotifyAdmin) -> None:
    notify_sim.faults(down=True)
    for _ in range(3):
        with pytest.raises(NotifyTransientError):
            await send(client, 1)
    notify_sim.faults()
    await send(client, 1)
    assert len(notify_sim.messages()) == 1
    assert notify_sim.stats()["refused"] == 3


async def test_error_rate_and_latency(client: NotifyClient, notify_sim: NotifyAdmin) -> None:
    notify_sim.faults(error_rate=1.0)
    with pytest.raises(NotifyTransientError):
        await send(client, 1)
    notify_sim.faults(latency_ms=200)
    started = time.monotonic()
    await send(client, 1)
    assert time.monotonic() - started >= 0.2
    notify_sim.faults(error_rate=0.5, seed=1)
    delivered = 0
    for n in range(20):
        try:
            await send(client, n + 10)
            delivered += 1
        except NotifyTransientError:
            pass
    assert 0 < delivered < 20 and len(notify_sim.messages()) == delivered + 1


def test_the_process_the_stack_runs() -> None:
    with simulator_process("simulators.notify", "--down") as url:
        assert httpx.get(f"{url}/admin/faults").json()["down"] is True
        body = {"message_id": "m", "recipient": "x", "channel": "sms", "template": "t", "body": "b"}
        assert httpx.post(f"{url}/messages", json=body, headers={"Idempotency-Key": "m"}).status_code == 503
        httpx.post(f"{url}/admin/reset")  # back to the start-up faults: still down
        assert httpx.post(f"{url}/messages", json=body, headers={"Idempotency-Key": "m"}).status_code == 503
        httpx.post(f"{url}/admin/faults", json={})
        assert httpx.post(f"{url}/messages", json=body, headers={"Idempotency-Key": "m"}).status_code == 202


async def test_a_slow_gateway_stores_the_message_then_answers_late(notify_sim: NotifyAdmin) -> None:
    notify_sim.faults(answer_delay_ms=600)
    async with NotifyClient(notify_sim.url, timeout=0.2) as impatient:
        with pytest.raises(NotifyTransientError, match="timed out"):
            await send(impatient, 1)
    assert [m["message_id"] for m in notify_sim.messages()] == ["g1:1:0"]  # stored all the same
    async with NotifyClient(notify_sim.url, timeout=2.0) as patient:
        started = time.monotonic()
        await send(patient, 1)  # the retry: same key, nothing stored twice
        assert time.monotonic() - started >= 0.6
    assert notify_sim.stats() == {"messages": 1, "duplicates": 1, "refused": 0, "batches": 0}


def _outgoing(n: int, recipient: str = "+6281234567890", **changes: str) -> Outgoing:
    fields = {"channel": "sms", "template": "proposal_received", "body": f"msg {n}", **changes}
    return Outgoing(f"g1:{n}:0", recipient, group_id="g1", **fields)  # type: ignore[arg-type]


async def test_a_batch_answers_each_message_and_stores_each_key_once(
    client: NotifyClient, notify_sim: NotifyAdmin
) -> None:
    first = await client.send_batch([_outgoing(1), _outgoing(2, recipient="+6281200000002")])
    assert first == {"g1:1:0": None, "g1:2:0": None}
    again = await client.send_batch([_outgoing(1), _outgoing(3, channel="pigeon"), _outgoing(4, body="")])
    assert again["g1:1:0"] is None  # a retried key is accepted, not stored twice
    assert "channel" in (again["g1:3:0"] or "") and "body" in (again["g1:4:0"] or "")
    assert [m["message_id"] for m in notify_sim.messages()] == ["g1:1:0", "g1:2:0"]
    assert notify_sim.stats() == {"messages": 2, "duplicates": 1, "refused": 0, "batches": 2}


async def test_a_batch_fails_whole_on_an_outage_and_its_envelope_is_bounded(
    client: NotifyClient, notify_sim: NotifyAdmin
) -> None:
    notify_sim.faults(down=True)
    with pytest.raises(NotifyTransientError):
        await client.send_batch([_outgoing(1), _outgoing(2)])
    notify_sim.faults()
    assert notify_sim.messages() == []
    with pytest.raises(NotifyRejectedError, match="422"):
        await client.send_batch([_outgoing(n) for n in range(BATCH_MAX + 1)])
    async with httpx.AsyncClient(base_url=notify_sim.url) as http:  # an item without its key
        answer = await http.post("/messages/batch", json={"messages": [{"message_id": "m"}]})
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "rejected"
    assert notify_sim.messages() == []
