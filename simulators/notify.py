"""The notification gateway stand-in (SMS, WhatsApp, e-mail): it records what it was asked to send.

It owns the list of messages it received, stored once per `Idempotency-Key`: a repeated key is
accepted (202, `duplicate: true`) and counted but not stored again, whatever its body, because
that is what a gateway does with a client's retry. Tests read the messages back with
`GET /messages`. The product's side is `activities/notify_client.py`.

Fault modes (`POST /admin/faults`, or the same names as CLI flags):

- `latency_ms`: every non-admin request waits this long first (before anything is stored).
- `answer_delay_ms`: a slow gateway: the message is stored, then the answer waits this long (a client
  that gives up first retries with the same key, which stores nothing twice).
- `dribble_ms`: a gateway that answers drop by drop: the message is stored, then the answer comes a
  byte every this many ms (no single read waits long, the whole answer does).
- `error_rate`: a request answers 503 before doing anything (nothing stored).
- `down`: every non-admin request answers 503 until it is turned off (an outage).
- `batch_omit_rate`: a message of a batch is left out of the answer (and not stored).
- `no_batches`: `POST /messages/batch` answers 404, as a gateway without batches would.
- `seed`: re-seeds the RNG behind `error_rate` and `batch_omit_rate`.

`POST /messages/batch` takes up to `BATCH_MAX` messages in one request, each with its own
idempotency key, and answers each: accepted (stored once per key, as above) or rejected with the
reason (a message the gateway would have refused alone). The faults apply to the whole request.

The inbound side (issue 14): `POST /admin/inbound` makes the gateway deliver members' SMS to the
product's webhook (`inbound_url`, default `JPS_API_BASE_URL/inbound/sms`), signed with the inbound
secret (`JPS_SMS_HMAC_SECRET`) as `jps.signing.gateway_headers` says, one POST per message, and
answers what the webhook answered to each. Faults per call: `duplicates` (each message delivered
that many more times, with the same id), `out_of_order` (the messages delivered last first),
`bad_signature` (signed with a wrong secret: the webhook must answer 401). `GET/POST
/admin/inbound/config` reads or sets the URL and secret.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import httpx
import structlog
import uvicorn
from fastapi import FastAPI, Header, HTTPException, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from infra.http import KEEP_ALIVE_S
from jps.signing import gateway_headers

log = structlog.get_logger()


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=200)
    recipient: str = Field(min_length=1, max_length=200, description="Phone number or officer address")
    channel: Literal["sms", "whatsapp", "email"]
    template: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=4000)
    group_id: str | None = None


BATCH_MAX = 500  # messages in one `POST /messages/batch`


class BatchRequest(BaseModel):
    """The items are checked one by one (`MessageRequest` and a key each): a bad one is rejected in
    the answer, the others stored; only a malformed envelope is refused whole."""

    model_config = ConfigDict(extra="forbid")

    messages: list[dict[str, Any]] = Field(min_length=1, max_length=BATCH_MAX)


class Message(MessageRequest):
    idempotency_key: str
    received_at: datetime
    duplicates: int = 0


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(0, ge=0)
    answer_delay_ms: int = Field(0, ge=0, description="Stored, then the answer waits this long")
    dribble_ms: int = Field(0, ge=0, le=60_000, description="Stored, then the answer a byte every this long")
    error_rate: float = Field(0.0, ge=0, le=1)
    down: bool = False
    batch_omit_rate: float = Field(0.0, ge=0, le=1, description="A batch's message left out of its answer")
    no_batches: bool = Field(False, description="An older gateway: POST /messages/batch answers 404")
    seed: int | None = None


class InboundConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbound_url: str = Field("", max_length=500, description="The product's webhook (POST /inbound/sms)")
    inbound_secret: str = Field("", max_length=500, description="The HMAC secret the product checks")


class InboundMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_phone: str = Field(min_length=1, max_length=20)
    text: str = Field(max_length=2000)
    message_id: str | None = Field(None, max_length=200, description="Default: a fresh id")
    received_at: datetime | None = None


class InboundDelivery(BaseModel):
    """Members' SMS to deliver to the product, with this call's faults."""

    model_config = ConfigDict(extra="forbid")

    messages: list[InboundMessage] = Field(min_length=1, max_length=100)
    duplicates: int = Field(0, ge=0, le=10, description="Deliver each message this many more times")
    out_of_order: bool = Field(False, description="Deliver the messages last first")
    bad_signature: bool = Field(False, description="Sign with a wrong secret")


class NotifySimulator:
    def __init__(self, faults: Faults | None = None, inbound: InboundConfig | None = None) -> None:
        self._initial_inbound = inbound or InboundConfig()
        self.inbound = self._initial_inbound.model_copy()
        self._initial_faults = faults or Faults()
        self.faults = self._initial_faults.model_copy()
        self.rng = random.Random(self.faults.seed)
        self.messages: dict[str, Message] = {}  # by idempotency key, in arrival order
        self.refused = 0  # requests answered with an injected 503
        self.batches = 0  # `POST /messages/batch` requests taken (past the faults)

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(faults.seed)
        log.info("notify_faults_set", **faults.model_dump(exclude_defaults=True))

    def reset(self) -> None:
        self.inbound = self._initial_inbound.model_copy()
        self.set_faults(self._initial_faults.model_copy())
        self.messages.clear()
        self.refused = 0
        self.batches = 0

    def receive(self, key: str, req: MessageRequest) -> tuple[Message, bool]:
        known = self.messages.get(key)
        if known is not None:
            known.duplicates += 1
            log.debug("message_duplicate", key=key, message_id=known.message_id)
            return known, True
        msg = Message(**req.model_dump(), idempotency_key=key, received_at=datetime.now(UTC))
        self.messages[key] = msg
        log.debug("message_received", key=key, template=msg.template, channel=msg.channel)
        return msg, False

    async def deliver_inbound(self, req: InboundDelivery) -> list[dict[str, Any]]:
        """POST each message to the product's webhook, signed (or not, as the faults say)."""
        if not self.inbound.inbound_url:
            raise HTTPException(409, "no inbound_url configured (POST /admin/inbound/config)")
        bodies = []
        for m in req.messages:
            payload = {
                "message_id": m.message_id or f"sim-{uuid.uuid4().hex[:16]}",
                "from_phone": m.from_phone,
                "text": m.text,
                "received_at": (m.received_at or datetime.now(UTC)).isoformat(),
            }
            bodies.extend([json.dumps(payload).encode()] * (1 + req.duplicates))
        if req.out_of_order:
            bodies.reverse()
        secret = "not-the-secret" if req.bad_signature else self.inbound.inbound_secret
        answers: list[dict[str, Any]] = []
        async with httpx.AsyncClient(timeout=30) as http:
            for body in bodies:
                headers = {"content-type": "application/json", **gateway_headers(body, secret)}
                resp = await http.post(self.inbound.inbound_url, content=body, headers=headers)
                try:
                    answer: Any = resp.json()
                except ValueError:
                    answer = resp.text[:200]
                answers.append(
                    {
                        "message_id": json.loads(body)["message_id"],
                        "status": resp.status_code,
                        "answer": answer,
                    }
                )
                log.info("inbound_delivered", status=resp.status_code)
        return answers

    def stats(self) -> dict[str, int]:
        return {
            "messages": len(self.messages),
            "duplicates": sum(m.duplicates for m in self.messages.values()),
            "refused": self.refused,
            "batches": self.batches,
        }


_FAULTED = frozenset({"/messages", "/messages/batch"})


class FaultMiddleware:
    """Latency, errors and outages in front of `POST /messages` and `POST /messages/batch` (plain
    ASGI: cheap per request)."""

    def __init__(self, app: ASGIApp, sim: NotifySimulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Only the product's endpoint is faulted: a test can always look, and end an outage.
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in _FAULTED:
            await self.app(scope, receive, send)
            return
        sim, faults = self.sim, self.sim.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.down or (faults.error_rate > 0 and sim.rng.random() < faults.error_rate):
            sim.refused += 1
            detail = "gateway down (injected fault)" if faults.down else "gateway error (injected fault)"
            await JSONResponse({"detail": detail}, status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _batch_item(sim: NotifySimulator, item: dict[str, Any]) -> dict[str, Any]:
    """One message of a batch: stored once per key, or rejected with the reason."""
    key = item.get("idempotency_key")
    fields = {k: v for k, v in item.items() if k != "idempotency_key"}
    if not isinstance(key, str) or not 1 <= len(key) <= 200:
        return {
            "idempotency_key": key if isinstance(key, str) else None,
            "status": "rejected",
            "error": "idempotency_key is required (1-200 characters)",
        }
    try:
        req = MessageRequest.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        return {"idempotency_key": key, "status": "rejected", "error": f"{where}: {first['msg']}"}
    msg, duplicate = sim.receive(key, req)
    return {
        "idempotency_key": key,
        "message_id": msg.message_id,
        "status": "accepted",
        "duplicate": duplicate,
    }


def _answer(sim: NotifySimulator, body: dict[str, Any], status: int) -> Any:
    """The answer as it is, or with `dribble_ms` set, streamed a byte at a time."""
    if not sim.faults.dribble_ms:
        return body
    data = json.dumps(body).encode()
    pause = sim.faults.dribble_ms / 1000

    async def drops() -> AsyncIterator[bytes]:
        for i in range(len(data)):
            yield data[i : i + 1]
            await asyncio.sleep(pause)

    return StreamingResponse(drops(), status_code=status, media_type="application/json")


def create_app(sim: NotifySimulator) -> FastAPI:
    app = FastAPI(title="Notification gateway simulator")
    app.state.sim = sim

    app.add_middleware(FaultMiddleware, sim=sim)

    @app.post("/messages", status_code=202)
    async def send(
        req: MessageRequest,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> dict[str, Any]:
        if not idempotency_key:
            raise HTTPException(400, "Idempotency-Key header is required")
        msg, duplicate = sim.receive(idempotency_key, req)
        if sim.faults.answer_delay_ms:
            await asyncio.sleep(sim.faults.answer_delay_ms / 1000)
        return _answer(sim, {"message_id": msg.message_id, "status": "accepted", "duplicate": duplicate}, 202)

    @app.post("/messages/batch")
    async def send_batch(req: BatchRequest) -> dict[str, Any]:
        if sim.faults.no_batches:
            raise HTTPException(404, "Not Found")
        sim.batches += 1
        omit = sim.faults.batch_omit_rate
        results = [_batch_item(sim, item) for item in req.messages if not (omit and sim.rng.random() < omit)]
        if sim.faults.answer_delay_ms:
            await asyncio.sleep(sim.faults.answer_delay_ms / 1000)
        return _answer(sim, {"results": results}, 200)

    @app.get("/messages")
    async def list_messages(
        group_id: str | None = None, recipient: str | None = None, template: str | None = None
    ) -> dict[str, Any]:
        items = [
            m.model_dump(mode="json")
            for m in sim.messages.values()
            if (group_id is None or m.group_id == group_id)
            and (recipient is None or m.recipient == recipient)
            and (template is None or m.template == template)
        ]
        return {"items": items, "total": len(items)}

    @app.get("/admin/stats")
    async def stats() -> dict[str, int]:
        return sim.stats()

    @app.get("/admin/faults")
    async def get_faults() -> Faults:
        return sim.faults

    @app.post("/admin/faults")
    async def set_faults(faults: Faults) -> Faults:
        sim.set_faults(faults)
        return sim.faults

    @app.get("/admin/inbound/config")
    async def get_inbound_config() -> InboundConfig:
        return sim.inbound

    @app.post("/admin/inbound/config")
    async def set_inbound_config(config: InboundConfig) -> InboundConfig:
        sim.inbound = config
        return sim.inbound

    @app.post("/admin/inbound")
    async def deliver_inbound(req: InboundDelivery) -> dict[str, Any]:
        deliveries = await sim.deliver_inbound(req)
        return {"deliveries": deliveries}

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
    from jps.settings import SMS_HMAC_SECRET, SecretsError, check_production_secrets, get_settings

    parser = argparse.ArgumentParser(
        prog="python -m simulators.notify", description="The notification gateway simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--answer-delay-ms", type=int, default=0, help="slow gateway: answer after this")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--down", action="store_true")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--inbound-url", default=None, help="the product's webhook (default: the API's)")
    args = parser.parse_args(argv)

    settings = get_settings()
    try:  # it signs the inbound SMS it hands the API with the deployment's key
        check_production_secrets(settings, uses=[SMS_HMAC_SECRET])
    except SecretsError as err:
        raise SystemExit(f"notify-sim: {err}") from None
    inbound = InboundConfig(
        inbound_url=args.inbound_url or f"{settings.api_base_url}/inbound/sms",
        inbound_secret=settings.sms_hmac_secret,
    )
    configure_logging(json=settings.production, level=settings.log_level, process="notify-sim")
    faults = Faults(
        latency_ms=args.latency_ms,
        answer_delay_ms=args.answer_delay_ms,
        error_rate=args.error_rate,
        down=args.down,
        seed=args.seed,
    )
    log.info("notify_sim_starting", host=args.host, port=args.port)
    app = create_app(NotifySimulator(faults, inbound))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
