"""The bank gateway stand-in: its own ledger of transfers, signed callbacks, and injectable faults.

It owns what a real bank would: which transfers it accepted (by idempotency key), which it paid,
and the statement it hands out for reconciliation. The product's side is `activities/bank_client.py`.

Semantics the product relies on (the README of the simulators repeats them):

- `POST /transfers` with an `Idempotency-Key` header answers 202 with the transfer's current state.
  The same key with the same body answers the same transfer again and never pays twice; the same
  key with a different body is refused with 409. A transfer id is also unique: a second key for
  an already known transfer id is refused with 409 too, so a lost key can never cause a double pay.
  The body's `callback_url` is delivery metadata and is not part of the comparison.
- A transfer is `pending` until the settle delay passes, then `paid` (money moved, `paid_at` set)
  or `failed`. Accounts registered as closed, or whose number starts with `999`, fail with reason
  `account_closed` (permanent: an officer must fix the bank details): at once when the account is
  already closed at intake, at settle time when it was closed while the transfer waited.
- Every settled transfer gets one signed callback (see `jps.signing`), unless a fault drops it.
  Callback delivery retries connection errors and 5xx a few times, then gives up: the product
  must poll `GET /transfers/{id}`, which always tells the truth.

Fault modes (`POST /admin/faults`, or the same names as CLI flags), each rolled with a seeded RNG:

- `latency_ms`: every non-admin request waits this long first.
- `error_rate`: a request answers 503 before doing anything (nothing recorded, nothing paid).
- `timeout_after_commit_rate`: `POST /transfers` records the transfer (it will be paid), then the
  response hangs `hang_s` seconds, past any sane client timeout. A retry with the same key
  answers the same transfer.
- `accepted_then_failed_rate`: answers `pending`, then fails at settle time with reason
  `beneficiary_bank_unavailable`. Decision: that transfer is final (no money moved, replaying its
  key answers `failed` again) but the failure is not permanent (`permanent: false`): the product
  may instruct a new transfer (new transfer id and key) to the same account without an officer.
- `duplicate_callback_rate`: the callback is delivered twice, byte for byte (same body, same
  signature headers).
- `out_of_order_callbacks`: each callback (and each duplicate) waits a random 0..`out_of_order_window_ms`
  before delivery, so the callbacks of a batch arrive in a different order than they settled.
- `drop_callback_rate`: the callback is never sent.
- `seed`: re-seeds the RNG so a run is reproducible.

With `--state FILE` every change is appended to a JSON-lines file and replayed at start-up, so a
restarted simulator keeps its ledger (pending transfers resume settling; callbacks that were in
flight are lost, as they would be with a real bank: polling covers them).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import structlog
import uvicorn
from fastapi import FastAPI, Header, HTTPException, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.types import ASGIApp, Receive, Scope, Send

from infra.http import KEEP_ALIVE_S, BoundedAsyncClient
from jps.signing import signed_headers

log = structlog.get_logger()

CLOSED_ACCOUNT_PREFIX = "999"
PERMANENT_REASONS = frozenset({"account_closed"})
TRANSIENT_LOOKING_REASON = "beneficiary_bank_unavailable"
CALLBACK_ATTEMPTS = 3
CALLBACK_TIMEOUT_S = 5.0

TransferStatus = Literal["pending", "paid", "failed"]
INJECTED_FAULTS = (
    "error",
    "timeout_after_commit",
    "accepted_then_failed",
    "duplicate_callback",
    "dropped_callback",
    "delayed_callback",
)


# ---- wire models ----


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transfer_id: str = Field(min_length=1, max_length=200)
    batch_id: str = Field(min_length=1, max_length=200)
    beneficiary: str = Field(min_length=1, max_length=200)
    bank_code: str = Field(min_length=1, max_length=20)
    account_no: str = Field(min_length=1, max_length=40)
    amount: StrictInt = Field(gt=0, description="Whole rupiah")
    callback_url: str | None = None

    def body_hash(self) -> str:
        # callback_url is where to report, not what to pay: a retry from a restarted API on
        # another address is still the same instruction.
        payload = self.model_dump(exclude={"callback_url"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(0, ge=0)
    error_rate: float = Field(0.0, ge=0, le=1)
    timeout_after_commit_rate: float = Field(0.0, ge=0, le=1)
    hang_s: float = Field(30.0, ge=0, description="How long a timed-out-after-commit response hangs")
    accepted_then_failed_rate: float = Field(0.0, ge=0, le=1)
    duplicate_callback_rate: float = Field(0.0, ge=0, le=1)
    out_of_order_callbacks: bool = False
    out_of_order_window_ms: int = Field(500, ge=0)
    drop_callback_rate: float = Field(0.0, ge=0, le=1)
    seed: int | None = None


class BankConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = Field(None, description="Where callbacks go when a transfer names none")
    settle_delay_ms: int = Field(500, ge=0)


class ConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = None
    settle_delay_ms: int | None = Field(None, ge=0)


class ClosedAccount(BaseModel):
    account_no: str = Field(min_length=1)


class Plant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["paid_not_recorded", "amount_differs", "recorded_not_paid"]
    transfer_id: str | None = Field(
        None,
        description="Which paid transfer to alter (default: the latest); the new id for paid_not_recorded",
    )
    amount: int | None = Field(
        None, gt=0, description="paid_not_recorded: its amount; amount_differs: the new one"
    )
    account_no: str = "0000000001"
    bank_code: str = "002"


class Transfer(BaseModel):
    """One row of the bank's own ledger."""

    transfer_id: str
    batch_id: str
    beneficiary: str
    bank_code: str
    account_no: str
    amount: int
    status: TransferStatus = "pending"
    reason: str = ""
    outcome: Literal["paid", "failed"] = "paid"  # decided at intake, applied at settle time
    idempotency_key: str
    body_hash: str
    callback_url: str | None = None
    created_at: datetime
    settled_at: datetime | None = None
    duplicates: int = 0
    planted: str | None = None  # a reconciliation mismatch planted by /admin/plant
    statement_amount: int | None = None  # amount_differs: what the statement claims
    hidden_from_statement: bool = False  # recorded_not_paid

    @property
    def paid_at(self) -> datetime | None:
        return self.settled_at if self.status == "paid" else None

    def public(self) -> dict[str, Any]:
        """What the bank tells a client about a transfer (status answers and callbacks)."""
        return {
            "transfer_id": self.transfer_id,
            "batch_id": self.batch_id,
            "status": self.status,
            "reason": self.reason,
            "permanent": self.status == "failed" and self.reason in PERMANENT_REASONS,
            "amount": self.amount,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
        }

    def statement_line(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "batch_id": self.batch_id,
            "beneficiary": self.beneficiary,
            "bank_code": self.bank_code,
            "account_no": self.account_no,
            "amount": self.statement_amount if self.statement_amount is not None else self.amount,
            "status": self.status,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
        }


def _now() -> datetime:
    return datetime.now(UTC)


# ---- the bank ----


class BankSimulator:
    """The bank's state and behaviour; `create_app` puts HTTP in front of it.

    Everything runs on one event loop, so a check-then-insert without an `await` in between is
    atomic: two concurrent requests with one key cannot both create a transfer.
    """

    def __init__(
        self,
        secret: str,
        config: BankConfig | None = None,
        faults: Faults | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.secret = secret
        self._initial_config = config or BankConfig()
        self._initial_faults = faults or Faults()
        self.config = self._initial_config.model_copy()
        self.faults = self._initial_faults.model_copy()
        self.rng = random.Random(self.faults.seed)
        self.state_path = state_path
        self.transfers: dict[str, Transfer] = {}
        self.keys: dict[str, str] = {}  # idempotency key -> transfer id
        self.closed_accounts: set[str] = set()
        self.callbacks = {"sent": 0, "dropped": 0, "duplicated": 0, "failed": 0}
        # Every fault actually injected, by mode (latency is not counted: it hits every request).
        self.injected = dict.fromkeys(INJECTED_FAULTS, 0)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._load()

    # -- lifecycle --

    async def start(self) -> None:
        self._http = BoundedAsyncClient(timeout=CALLBACK_TIMEOUT_S)
        # Transfers that were pending when the previous process stopped settle now.
        for t in self.transfers.values():
            if t.status == "pending":
                self._spawn(self._settle_later(t.transfer_id))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    def reset(self) -> None:
        """Back to the start-up configuration with an empty ledger."""
        for task in list(self._tasks):
            task.cancel()
        self.config = self._initial_config.model_copy()
        self.set_faults(self._initial_faults.model_copy())
        self.transfers.clear()
        self.keys.clear()
        self.closed_accounts.clear()
        self.callbacks = dict.fromkeys(self.callbacks, 0)
        self.injected = dict.fromkeys(INJECTED_FAULTS, 0)
        if self.state_path is not None:
            self.state_path.write_text("")
        log.info("bank_reset")

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(faults.seed)
        log.info("bank_faults_set", **faults.model_dump(exclude_defaults=True))

    def roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    # -- persistence: an append-only JSON-lines journal, replayed at start-up --

    def _append(self, kind: str, data: dict[str, Any]) -> None:
        if self.state_path is None:
            return
        with self.state_path.open("a") as f:
            f.write(json.dumps({"kind": kind, **data}, default=str) + "\n")

    def _save(self, t: Transfer) -> None:
        self._append("transfer", t.model_dump(mode="json"))

    def _load(self) -> None:
        if self.state_path is None or not self.state_path.exists():
            return
        for line in self.state_path.read_text().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            kind = entry.pop("kind")
            if kind == "transfer":
                t = Transfer.model_validate(entry)
                self.transfers[t.transfer_id] = t
                self.keys[t.idempotency_key] = t.transfer_id
            elif kind == "closed":
                self.closed_accounts.add(entry["account_no"])
        log.info("bank_state_loaded", path=str(self.state_path), transfers=len(self.transfers))

    # -- transfers --

    def is_closed(self, account_no: str) -> bool:
        return account_no in self.closed_accounts or account_no.startswith(CLOSED_ACCOUNT_PREFIX)

    def close_account(self, account_no: str) -> None:
        self.closed_accounts.add(account_no)
        self._append("closed", {"account_no": account_no})

    def instruct(self, key: str, req: TransferRequest) -> Transfer:
        """Record a transfer instruction once per key; raises HTTPException(409) on a conflict."""
        body_hash = req.body_hash()
        known_id = self.keys.get(key)
        if known_id is not None:
            t = self.transfers[known_id]
            if t.body_hash != body_hash:
                log.warning("idempotency_conflict", key=key, transfer_id=req.transfer_id)
                raise HTTPException(409, "idempotency key reused with a different body")
            t.duplicates += 1
            self._save(t)
            log.debug("transfer_replayed", key=key, transfer_id=t.transfer_id, status=t.status)
            return t
        if req.transfer_id in self.transfers:
            log.warning("transfer_id_conflict", key=key, transfer_id=req.transfer_id)
            raise HTTPException(409, "transfer_id already used with another idempotency key")

        t = Transfer(
            **req.model_dump(),
            idempotency_key=key,
            body_hash=body_hash,
            created_at=_now(),
        )
        if self.is_closed(req.account_no):
            t.status, t.reason, t.outcome, t.settled_at = "failed", "account_closed", "failed", _now()
        elif self.roll(self.faults.accepted_then_failed_rate):
            self.injected["accepted_then_failed"] += 1
            t.outcome, t.reason = "failed", TRANSIENT_LOOKING_REASON
        self.transfers[t.transfer_id] = t
        self.keys[key] = t.transfer_id
        self._save(t)
        log.debug("transfer_received", transfer_id=t.transfer_id, amount=t.amount, status=t.status)
        if t.status == "pending":
            self._spawn(self._settle_later(t.transfer_id))
        else:
            self._spawn(self._deliver_callback(t))
        return t

    async def _settle_later(self, transfer_id: str) -> None:
        t = self.transfers.get(transfer_id)
        if t is None:
            return  # reset meanwhile
        elapsed_ms = (_now() - t.created_at).total_seconds() * 1000
        await asyncio.sleep(max(0.0, self.config.settle_delay_ms - elapsed_ms) / 1000)
        if self.transfers.get(transfer_id) is not t or t.status != "pending":
            return  # reset meanwhile
        if self.is_closed(t.account_no):
            # Closed while the transfer waited: a bank checks the account when it moves the money.
            t.outcome, t.reason = "failed", "account_closed"
        t.status = t.outcome
        t.settled_at = _now()
        if t.status == "paid":
            t.reason = ""
        self._save(t)
        log.info("transfer_settled", transfer_id=t.transfer_id, status=t.status, reason=t.reason)
        await self._deliver_callback(t)

    async def _deliver_callback(self, t: Transfer) -> None:
        url = t.callback_url or self.config.callback_url
        if not url:
            log.debug("callback_skipped_no_url", transfer_id=t.transfer_id)
            return
        if self.roll(self.faults.drop_callback_rate):
            self.callbacks["dropped"] += 1
            self.injected["dropped_callback"] += 1
            log.info("callback_dropped", transfer_id=t.transfer_id)
            return
        # Sign once: a duplicate is the very same request, as a real retrying bank would send.
        body = json.dumps(t.public()).encode()
        headers = {"Content-Type": "application/json", **signed_headers(body, self.secret)}
        copies = 2 if self.roll(self.faults.duplicate_callback_rate) else 1
        if copies == 2:
            self.callbacks["duplicated"] += 1
            self.injected["duplicate_callback"] += 1
        for _ in range(copies):
            delay = 0.0
            if self.faults.out_of_order_callbacks:
                delay = self.rng.uniform(0, self.faults.out_of_order_window_ms / 1000)
                self.injected["delayed_callback"] += 1
            self._spawn(self._post_callback(url, body, headers, t.transfer_id, delay))

    async def _post_callback(
        self, url: str, body: bytes, headers: dict[str, str], transfer_id: str, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        assert self._http is not None, "start() not called"
        for attempt in range(1, CALLBACK_ATTEMPTS + 1):
            try:
                resp = await self._http.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            else:
                if resp.is_success:
                    self.callbacks["sent"] += 1
                    log.debug("callback_sent", transfer_id=transfer_id)
                    return
                if resp.status_code < 500:
                    # The receiver refuses this callback (bad signature, unknown transfer):
                    # sending the same bytes again changes nothing, so the product must poll.
                    self.callbacks["failed"] += 1
                    log.warning("callback_refused", transfer_id=transfer_id, http_status=resp.status_code)
                    return
                outcome = f"http_{resp.status_code}"
            log.info("callback_retry", transfer_id=transfer_id, attempt=attempt, outcome=outcome)
            await asyncio.sleep(0.5 * attempt)
        self.callbacks["failed"] += 1
        log.warning("callback_gave_up", transfer_id=transfer_id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # a reference, or the loop may collect a running task
        task.add_done_callback(self._tasks.discard)

    # -- reconciliation --

    def statement(self, since: datetime | None) -> list[dict[str, Any]]:
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        paid = [
            t
            for t in self.transfers.values()
            if t.status == "paid"
            and not t.hidden_from_statement
            and (since is None or (t.settled_at is not None and t.settled_at >= since))
        ]
        paid.sort(key=lambda t: (t.settled_at or t.created_at, t.transfer_id))
        return [t.statement_line() for t in paid]

    def plant(self, p: Plant) -> dict[str, Any]:
        if p.kind == "paid_not_recorded":
            now = _now()
            transfer_id = p.transfer_id or f"planted-{len(self.transfers) + 1}"
            if transfer_id in self.transfers:
                raise HTTPException(409, f"transfer {transfer_id} already exists")
            t = Transfer(
                transfer_id=transfer_id,
                batch_id="planted",
                beneficiary="unknown beneficiary",
                bank_code=p.bank_code,
                account_no=p.account_no,
                amount=p.amount or 1_000_000,
                status="paid",
                idempotency_key=f"planted:{transfer_id}",
                body_hash="",
                created_at=now,
                settled_at=now,
                planted=p.kind,
            )
            self.transfers[t.transfer_id] = t
            self.keys[t.idempotency_key] = t.transfer_id
        else:
            t = self._plant_target(p.transfer_id)
            t.planted = p.kind
            if p.kind == "amount_differs":
                t.statement_amount = p.amount if p.amount is not None else t.amount + 1_000
            else:
                t.hidden_from_statement = True
        self._save(t)
        log.info("mismatch_planted", kind=p.kind, transfer_id=t.transfer_id)
        return {"kind": p.kind, "transfer_id": t.transfer_id, "amount": t.amount, **t.statement_line()}

    def _plant_target(self, transfer_id: str | None) -> Transfer:
        if transfer_id is not None:
            t = self.transfers.get(transfer_id)
            if t is None or t.status != "paid":
                raise HTTPException(404, f"no paid transfer {transfer_id}")
            return t
        candidates = [t for t in self.transfers.values() if t.status == "paid" and t.planted is None]
        if not candidates:
            raise HTTPException(404, "no paid transfer to alter")
        return max(candidates, key=lambda t: t.settled_at or t.created_at)

    def ledger(self) -> dict[str, Any]:
        ts = list(self.transfers.values())
        return {
            "transfers": len(ts),
            "pending": sum(t.status == "pending" for t in ts),
            "paid": sum(t.status == "paid" for t in ts),
            "failed": sum(t.status == "failed" for t in ts),
            "duplicates_suppressed": sum(t.duplicates for t in ts),
            "total_paid": sum(t.amount for t in ts if t.status == "paid"),
            "callbacks": dict(self.callbacks),
            "faults_injected": dict(self.injected),
        }


# ---- HTTP ----


class FaultMiddleware:
    """Latency and 5xx in front of the product-facing endpoints.

    Plain ASGI rather than `@app.middleware("http")`: that wrapper costs a task group per
    request, and the simulator must not be what limits a benchmark.
    """

    def __init__(self, app: ASGIApp, sim: BankSimulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        # Admin endpoints stay reliable: a test must always be able to look, and to turn faults off.
        if scope["type"] != "http" or path.startswith("/admin") or path == "/health":
            await self.app(scope, receive, send)
            return
        faults = self.sim.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if self.sim.roll(faults.error_rate):
            self.sim.injected["error"] += 1
            log.info("fault_injected", fault="error", path=path)
            response = JSONResponse({"detail": "bank unavailable (injected fault)"}, status_code=503)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(sim: BankSimulator) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await sim.start()
        yield
        await sim.stop()

    app = FastAPI(title="Bank gateway simulator", lifespan=lifespan)
    app.state.sim = sim

    app.add_middleware(FaultMiddleware, sim=sim)

    @app.post("/transfers", status_code=202)
    async def create_transfer(
        req: TransferRequest,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> dict[str, Any]:
        if not idempotency_key:
            raise HTTPException(400, "Idempotency-Key header is required")
        t = sim.instruct(idempotency_key, req)
        answer = t.public()
        if sim.roll(sim.faults.timeout_after_commit_rate):
            # The transfer is recorded and will be paid; only the answer is lost.
            sim.injected["timeout_after_commit"] += 1
            log.info("fault_injected", fault="timeout_after_commit", transfer_id=t.transfer_id)
            await asyncio.sleep(sim.faults.hang_s)
        return answer

    @app.get("/transfers/{transfer_id}")
    @app.get("/admin/transfers/{transfer_id}", include_in_schema=False)  # the same, never faulted
    async def get_transfer(transfer_id: str) -> dict[str, Any]:
        t = sim.transfers.get(transfer_id)
        if t is None:
            raise HTTPException(404, "unknown transfer")
        return t.public()

    @app.get("/statement")
    @app.get("/admin/statement", include_in_schema=False)  # the same, never faulted
    async def statement(since: datetime | None = None) -> dict[str, Any]:
        items = sim.statement(since)
        return {"items": items, "total": len(items)}

    @app.get("/admin/ledger")
    async def ledger() -> dict[str, Any]:
        return sim.ledger()

    @app.get("/admin/faults")
    async def get_faults() -> Faults:
        return sim.faults

    @app.post("/admin/faults")
    async def set_faults(faults: Faults) -> Faults:
        sim.set_faults(faults)
        return sim.faults

    @app.get("/admin/config")
    async def get_config() -> BankConfig:
        return sim.config

    @app.post("/admin/config")
    async def set_config(update: ConfigUpdate) -> BankConfig:
        sim.config = sim.config.model_copy(update=update.model_dump(exclude_unset=True))
        return sim.config

    @app.post("/admin/accounts/closed")
    async def close_account(body: ClosedAccount) -> dict[str, Any]:
        sim.close_account(body.account_no)
        return {"closed": sorted(sim.closed_accounts)}

    @app.post("/admin/plant")
    async def plant(body: Plant) -> dict[str, Any]:
        return sim.plant(body)

    @app.post("/admin/reset", status_code=204)
    async def reset() -> Response:
        sim.reset()
        return Response(status_code=204)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    from jps.logging import configure_logging
    from jps.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m simulators.bank", description="The bank gateway simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument(
        "--callback-url", default=None, help="default callback URL (e.g. API/payments/callback)"
    )
    parser.add_argument("--secret", default=settings.bank_hmac_secret, help="HMAC secret for callbacks")
    parser.add_argument("--state", type=Path, default=None, help="JSON-lines journal that survives restarts")
    parser.add_argument("--settle-delay-ms", type=int, default=BankConfig().settle_delay_ms)
    for name, field in Faults.model_fields.items():
        flag = "--" + name.replace("_", "-")
        if field.annotation is bool:
            parser.add_argument(flag, action="store_true")
        else:
            kind = float if field.annotation is float else int
            parser.add_argument(flag, type=kind, default=field.default)
    args = parser.parse_args(argv)

    configure_logging(json=settings.production, level=settings.log_level, process="bank-sim")
    faults = Faults(**{name: getattr(args, name) for name in Faults.model_fields})
    config = BankConfig(callback_url=args.callback_url, settle_delay_ms=args.settle_delay_ms)
    if args.state is not None:
        args.state.parent.mkdir(parents=True, exist_ok=True)
    sim = BankSimulator(args.secret, config=config, faults=faults, state_path=args.state)
    log.info("bank_sim_starting", host=args.host, port=args.port, callback_url=args.callback_url)
    uvicorn.run(
        create_app(sim),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
