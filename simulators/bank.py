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
  must poll `GET /transfers/{id}`, which always tells the truth. `GET /transfers?id=..&id=..` (1 to
  `LOOKUP_MAX` ids) answers the same for many at once: `{items: [...], unknown: [ids]}`.
- `POST /transfers/batch` instructs 1 to `BATCH_MAX` transfers in one request: `{transfers: [{<the
  POST /transfers body>, idempotency_key}, ...]}`. Each item is taken exactly as `POST /transfers`
  takes one (same idempotency rules; a bad item is its own 422), and answered in the request's
  order: `{results: [{transfer_id, status_code, transfer: <the 202 body> | null, detail | null}]}`.
  A bank without it (`no_batches`) answers 404.

Fault modes (`POST /admin/faults`, or the same names as CLI flags), each rolled with a seeded RNG:

- `latency_ms`: every non-admin request waits this long first.
- `error_rate`: a request answers 503 before doing anything (nothing recorded, nothing paid).
- `timeout_after_commit_rate`: `POST /transfers` records the transfer (it will be paid), then the
  response hangs `hang_s` seconds, past any sane client timeout. A retry with the same key
  answers the same transfer. `POST /transfers/batch` records every item, then its one answer is
  lost at the same rate (rolled and counted once per answer, as for a single POST: per item, a batch
  of 20 at 10 % would lose nine answers in ten, its retries too).
- `accepted_then_failed_rate`: answers `pending`, then fails at settle time with reason
  `beneficiary_bank_unavailable`. Decision: that transfer is final (no money moved, replaying its
  key answers `failed` again) but the failure is not permanent (`permanent: false`): the product
  may instruct a new transfer (new transfer id and key) to the same account without an officer.
- `duplicate_callback_rate`: the callback is delivered twice, byte for byte (same body, same
  signature headers).
- `out_of_order_callbacks`: each callback (and each duplicate) waits a random 0..`out_of_order_window_ms`
  before delivery, so the callbacks of a batch arrive in a different order than they settled.
- `drop_callback_rate`: the callback is never sent.
- `timeout_then_reject_rate`: a new transfer is recorded (it will be paid), its answer hangs `hang_s`
  seconds, and every later `POST` with its key is answered 422 `duplicate reference`: a bank that
  forgets its idempotency once an answer was lost. Only `GET /transfers/{id}` tells the truth.
  In a batch such a new item (each counted) hangs the whole answer, after every item was recorded.
- `conflict_in_flight_rate`: a `POST` replaying the key of a transfer that is still pending is
  answered 409 (`transfer still in flight`), rolled per replay; once settled, replays answer as usual.
- `long_pending_rate`: a new transfer stays pending for `long_pending_s` seconds (instead of the
  settle delay) before it is paid or failed.
- `false_failure_callback_rate`: a new transfer that will be paid first gets a signed callback saying
  `failed` (`beneficiary_bank_unavailable`, `permanent: false`) while it is still pending; it is then
  paid, with its true callback. Acting on the first callback without asking the bank pays twice.
- `seed`: re-seeds the RNG so a run is reproducible.

`GET /admin/ledger` counts every injected fault by mode (`faults_injected`, the names in
`INJECTED_FAULTS`); `Faults.enabled_modes()` says which of them a configuration turns on. It also
counts the instruction requests taken: `single_posts` (`POST /transfers`) and `batches`
(`POST /transfers/batch`), neither counting an injected 503.

With `--state FILE` every change is appended to a JSON-lines file and replayed at start-up, so a
restarted simulator keeps its ledger (pending transfers resume settling; callbacks that were in
flight are lost, as they would be with a real bank: polling covers them).

The ledger and its behaviour live in `simulators/bank_ledger.py`, its data in `simulators/bank_wire.py`;
this module is the HTTP front and the command line.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import structlog
import uvicorn
from fastapi import FastAPI, Header, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from infra.http import KEEP_ALIVE_S
from simulators.bank_ledger import BankSimulator
from simulators.bank_wire import (
    BATCH_MAX,
    INJECTED_FAULTS,
    BankConfig,
    BatchRequest,
    ClosedAccount,
    ConfigUpdate,
    Faults,
    Plant,
    Transfer,
    TransferRequest,
)

__all__ = [
    "BATCH_MAX",
    "INJECTED_FAULTS",
    "BankConfig",
    "BankSimulator",
    "Faults",
    "Transfer",
    "TransferRequest",
    "create_app",
    "main",
]

log = structlog.get_logger()

LOOKUP_MAX = 100  # transfer ids in one `GET /transfers`


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


def _answer_lost(sim: BankSimulator, taken: list[Transfer]) -> bool:
    """Whether the answer about the transfers a request just took hangs: the transfers are recorded,
    they will be paid; only the answer is lost. A `timeout_then_reject` transfer at its intake (each
    counted) hangs it; otherwise `timeout_after_commit` is rolled once, for the one answer."""
    rejecting = [t for t in taken if t.reject_replays]  # new ones only: instruct refuses their replays
    for t in rejecting:
        sim.injected["timeout_then_reject"] += 1
        log.info("fault_injected", fault="timeout_then_reject", transfer_id=t.transfer_id)
    if rejecting:
        return True
    if taken and sim.roll(sim.faults.timeout_after_commit_rate):
        sim.injected["timeout_after_commit"] += 1
        log.info(
            "fault_injected",
            fault="timeout_after_commit",
            transfer_id=taken[0].transfer_id,
            transfers=len(taken),
        )
        return True
    return False


def _batch_item(sim: BankSimulator, item: dict[str, Any]) -> tuple[dict[str, Any], Transfer | None]:
    """One transfer of a batch, taken as `POST /transfers` takes one: its answer, and the transfer
    when the bank took it."""
    named = item.get("transfer_id")
    transfer_id = named if isinstance(named, str) else None

    def refused(status_code: int, detail: str) -> tuple[dict[str, Any], None]:
        answer = {"transfer_id": transfer_id, "status_code": status_code, "transfer": None, "detail": detail}
        return answer, None

    key = item.get("idempotency_key")
    if not isinstance(key, str) or not key:
        return refused(400, "idempotency_key is required")
    try:
        req = TransferRequest.model_validate({k: v for k, v in item.items() if k != "idempotency_key"})
    except ValidationError as err:
        first = err.errors()[0]
        return refused(422, f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}")
    try:
        t = sim.instruct(key, req)
    except HTTPException as err:
        return refused(err.status_code, str(err.detail))
    return {"transfer_id": t.transfer_id, "status_code": 202, "transfer": t.public(), "detail": None}, t


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
        sim.single_posts += 1
        t = sim.instruct(idempotency_key, req)
        answer = t.public()
        if _answer_lost(sim, [t]):
            await asyncio.sleep(sim.faults.hang_s)
        return answer

    @app.post("/transfers/batch")
    async def create_transfers(body: BatchRequest) -> dict[str, Any]:
        if sim.faults.no_batches:
            raise HTTPException(404, "Not Found")  # as a bank without the endpoint answers
        if not 1 <= len(body.transfers) <= BATCH_MAX:
            raise HTTPException(422, f"transfers: 1 to {BATCH_MAX} transfers")
        sim.batches += 1
        # Every item is recorded before the one answer, which may then be lost.
        answered = [_batch_item(sim, item) for item in body.transfers]
        if _answer_lost(sim, [t for _, t in answered if t is not None]):
            await asyncio.sleep(sim.faults.hang_s)
        return {"results": [answer for answer, _ in answered]}

    @app.get("/transfers")
    async def get_transfers(ids: Annotated[list[str], Query(alias="id")]) -> dict[str, Any]:
        if not 1 <= len(ids) <= LOOKUP_MAX:
            raise HTTPException(422, f"id: 1 to {LOOKUP_MAX} transfer ids")
        known = [sim.transfers.get(tid) for tid in ids]
        return {
            "items": [t.public() for t in known if t is not None],
            "unknown": [tid for tid, t in zip(ids, known, strict=True) if t is None],
        }

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
    from jps.settings import BANK_HMAC_SECRET, SecretsError, check_production_secrets, get_settings

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
    if args.secret == settings.bank_hmac_secret:  # it signs callbacks with the deployment's key
        try:
            check_production_secrets(settings, uses=[BANK_HMAC_SECRET])
        except SecretsError as err:
            raise SystemExit(f"bank-sim: {err}") from None
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
