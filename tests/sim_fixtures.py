"""Pytest fixtures that run the bank and notification simulators for real, on free ports.

Loaded by `tests/conftest.py` (`pytest_plugins`), so every test can ask for:

- `simulators` (session): both simulators started once; `.bank_url`, `.notify_url`, `.bank`, `.notify`.
- `bank_sim` (function): the bank simulator reset (empty ledger, no faults, no default callback URL,
  50 ms settle delay), as a `BankAdmin`: `.url`, `.faults(...)`, `.config(callback_url=...)`,
  `.close_account(...)`, `.plant(...)`, `.ledger()`, `.statement()`, `.transfer(id)`,
  `.wait_settled(id)`. Its reads use the `/admin/...` mirrors, which faults never touch.
- `notify_sim` (function): the notification simulator reset, as a `NotifyAdmin`: `.url`,
  `.faults(...)`, `.messages(group_id=..., recipient=...)`, `.stats()`.
- `callback_sink` (function): a tiny HTTP server that records every request POSTed to it
  (`.url`, `.received`, `.wait_for(n)`), for tests of the bank's callbacks without the API.

Each server is uvicorn in a daemon thread on a socket bound to port 0, so the fixed ports of a
running `make run` stack are never touched. The admin helpers are synchronous (httpx.Client):
the servers run on their own loops, so a short blocking call from an async test is harmless.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from jps.settings import get_settings
from simulators.bank import BankConfig, BankSimulator
from simulators.bank import create_app as create_bank_app
from simulators.notify import NotifySimulator
from simulators.notify import create_app as create_notify_app

SETTLE_DELAY_MS = 50  # fast enough for tests, slow enough that `pending` is observable


class ThreadedServer:
    """An ASGI app served by uvicorn in a background thread on a free port of 127.0.0.1."""

    def __init__(self, app: Any, name: str) -> None:
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and without it every response waits ~40 ms for a delayed ACK (Nagle).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name=name, daemon=True
        )

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self._thread.name} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class _Admin:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = self.http.post(path, json=body)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def _get(self, path: str, **params: Any) -> Any:
        resp = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        resp.raise_for_status()
        return resp.json()

    def reset(self) -> None:
        self._post("/admin/reset")

    def faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault modes (unnamed ones go back to off)."""
        return self._post("/admin/faults", faults)


class BankAdmin(_Admin):
    def config(self, **update: Any) -> dict[str, Any]:
        """Change `callback_url` (the default for transfers that name none) or `settle_delay_ms`."""
        return self._post("/admin/config", update)

    def close_account(self, account_no: str) -> None:
        self._post("/admin/accounts/closed", {"account_no": account_no})

    def plant(self, kind: str, **kw: Any) -> dict[str, Any]:
        return self._post("/admin/plant", {"kind": kind, **kw})

    def ledger(self) -> dict[str, Any]:
        return self._get("/admin/ledger")

    def statement(self, since: str | None = None) -> list[dict[str, Any]]:
        return self._get("/admin/statement", since=since)["items"]

    def transfer(self, transfer_id: str) -> dict[str, Any] | None:
        resp = self.http.get(f"/admin/transfers/{transfer_id}")
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()

    def wait_settled(self, transfer_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            t = self.transfer(transfer_id)
            if t is not None and t["status"] != "pending":
                return t
            if time.monotonic() > deadline:
                raise TimeoutError(f"transfer {transfer_id} still {t and t['status']}")
            time.sleep(0.02)


class NotifyAdmin(_Admin):
    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        return self._get("/messages", **filters)["items"]

    def stats(self) -> dict[str, int]:
        return self._get("/admin/stats")

    def inbound_config(self, *, inbound_url: str, inbound_secret: str) -> None:
        resp = self.http.post(
            "/admin/inbound/config", json={"inbound_url": inbound_url, "inbound_secret": inbound_secret}
        )
        resp.raise_for_status()

    def deliver(self, *messages: dict[str, Any], **faults: Any) -> list[dict[str, Any]]:
        """Members' SMS delivered to the configured webhook (faults: duplicates, out_of_order,
        bad_signature); what the webhook answered to each delivery."""
        resp = self.http.post("/admin/inbound", json={"messages": list(messages), **faults}, timeout=60)
        resp.raise_for_status()
        deliveries: list[dict[str, Any]] = resp.json()["deliveries"]
        return deliveries


@dataclass
class Simulators:
    bank_url: str
    notify_url: str
    bank: BankAdmin
    notify: NotifyAdmin


@pytest.fixture(scope="session")
def simulators() -> Iterator[Simulators]:
    bank_sim = BankSimulator(
        get_settings().bank_hmac_secret, config=BankConfig(settle_delay_ms=SETTLE_DELAY_MS)
    )
    bank = ThreadedServer(create_bank_app(bank_sim), "bank-sim").start()
    notify = ThreadedServer(create_notify_app(NotifySimulator()), "notify-sim").start()
    try:
        yield Simulators(bank.url, notify.url, BankAdmin(bank.url), NotifyAdmin(notify.url))
    finally:
        bank.stop()
        notify.stop()


@pytest.fixture
def bank_sim(simulators: Simulators) -> BankAdmin:
    simulators.bank.reset()
    return simulators.bank


@pytest.fixture
def notify_sim(simulators: Simulators) -> NotifyAdmin:
    simulators.notify.reset()
    return simulators.notify


@dataclass
class ReceivedRequest:
    body: bytes
    headers: dict[str, str]
    at: float

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class CallbackSink:
    """Records every POST; answers `status_code` (set it to 500 to see the bank retry)."""

    url: str = ""
    received: list[ReceivedRequest] = field(default_factory=list)
    status_code: int = 200
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
        self.status_code = 200

    def wait_for(self, n: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.received)} of {n} callbacks arrived")
            time.sleep(0.01)
        return list(self.received)


@pytest.fixture(scope="session")
def _callback_sink_server() -> Iterator[CallbackSink]:
    sink = CallbackSink()
    app = FastAPI()

    @app.post("/{path:path}")
    async def record(request: Request) -> Response:
        body = await request.body()
        with sink._lock:
            sink.received.append(ReceivedRequest(body, dict(request.headers), time.monotonic()))
        return Response(status_code=sink.status_code)

    server = ThreadedServer(app, "callback-sink").start()
    sink.url = f"{server.url}/payments/callback"
    try:
        yield sink
    finally:
        server.stop()


@pytest.fixture
def callback_sink(_callback_sink_server: CallbackSink) -> CallbackSink:
    _callback_sink_server.clear()
    return _callback_sink_server
