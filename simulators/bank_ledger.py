"""The bank simulator's behaviour: its ledger of transfers (by idempotency key), settlement, signed
callbacks, the injected faults, reconciliation plants and the JSON-lines journal. `simulators/bank.py`
puts HTTP in front of it and states the semantics the product relies on."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog
from fastapi import HTTPException

from infra.http import BoundedAsyncClient
from jps.signing import signed_headers
from simulators.bank_wire import (
    CLOSED_ACCOUNT_PREFIX,
    DUPLICATE_REFERENCE,
    INJECTED_FAULTS,
    TRANSIENT_LOOKING_REASON,
    BankConfig,
    Faults,
    Plant,
    Transfer,
    TransferRequest,
    now,
)

log = structlog.get_logger()

CALLBACK_ATTEMPTS = 3
CALLBACK_TIMEOUT_S = 5.0


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
        # Instruction requests taken (past the injected 503s): `POST /transfers`, `POST /transfers/batch`.
        self.single_posts = 0
        self.batches = 0
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
        self.single_posts = 0
        self.batches = 0
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
            if t.reject_replays:
                # A bank that forgets its idempotency once the first answer was lost (counted when
                # that answer hung): the money moves all the same; GET /transfers/{id} tells the truth.
                log.info("transfer_replay_refused", key=key, transfer_id=t.transfer_id)
                raise HTTPException(422, DUPLICATE_REFERENCE)
            if t.status == "pending" and self.roll(self.faults.conflict_in_flight_rate):
                self.injected["conflict_in_flight"] += 1
                log.info("fault_injected", fault="conflict_in_flight", transfer_id=t.transfer_id)
                raise HTTPException(409, "transfer still in flight")
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
            created_at=now(),
        )
        if self.is_closed(req.account_no):
            t.status, t.reason, t.outcome, t.settled_at = "failed", "account_closed", "failed", now()
        elif self.roll(self.faults.accepted_then_failed_rate):
            self.injected["accepted_then_failed"] += 1
            t.outcome, t.reason = "failed", TRANSIENT_LOOKING_REASON
        self._roll_intake_faults(t)
        self.transfers[t.transfer_id] = t
        self.keys[key] = t.transfer_id
        self._save(t)
        log.debug("transfer_received", transfer_id=t.transfer_id, amount=t.amount, status=t.status)
        if t.status == "pending":
            self._spawn(self._settle_later(t.transfer_id))
            if t.outcome == "paid" and self.roll(self.faults.false_failure_callback_rate):
                self._spawn(self._false_failure_callback(t))
        else:
            self._spawn(self._deliver_callback(t))
        return t

    def _roll_intake_faults(self, t: Transfer) -> None:
        """The faults decided once per new transfer (each rolled, in a fixed order)."""
        if self.roll(self.faults.timeout_then_reject_rate):
            t.reject_replays = True  # counted when a replay is refused
        if t.status == "pending" and self.roll(self.faults.long_pending_rate):
            self.injected["long_pending"] += 1
            t.pending_until = t.created_at + timedelta(seconds=self.faults.long_pending_s)

    async def _false_failure_callback(self, t: Transfer) -> None:
        """A signed callback saying the transfer failed (not permanently) while the bank is about to
        pay it: only GET /transfers/{id} tells the truth."""
        url = t.callback_url or self.config.callback_url
        if not url:
            return
        self.injected["false_failure_callback"] += 1
        payload = {**t.public(), "status": "failed", "reason": TRANSIENT_LOOKING_REASON, "permanent": False}
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **signed_headers(body, self.secret)}
        log.info("fault_injected", fault="false_failure_callback", transfer_id=t.transfer_id)
        await self._post_callback(url, body, headers, t.transfer_id, 0.0)

    async def _settle_later(self, transfer_id: str) -> None:
        t = self.transfers.get(transfer_id)
        if t is None:
            return  # reset meanwhile
        due = t.created_at + timedelta(milliseconds=self.config.settle_delay_ms)
        if t.pending_until is not None:
            due = max(due, t.pending_until)
        await asyncio.sleep(max(0.0, (due - now()).total_seconds()))
        if self.transfers.get(transfer_id) is not t or t.status != "pending":
            return  # reset meanwhile
        if self.is_closed(t.account_no):
            # Closed while the transfer waited: a bank checks the account when it moves the money.
            t.outcome, t.reason = "failed", "account_closed"
        t.status = t.outcome
        t.settled_at = now()
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
            at = now()
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
                created_at=at,
                settled_at=at,
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
            "single_posts": self.single_posts,
            "batches": self.batches,
        }
