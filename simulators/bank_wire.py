"""The bank simulator's data: what clients send it, its fault knobs and configuration, and one row
of its own ledger of transfers. The behaviour is in `simulators/bank_ledger.py`, the HTTP front and
the semantics the product relies on in `simulators/bank.py`."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

CLOSED_ACCOUNT_PREFIX = "999"
PERMANENT_REASONS = frozenset({"account_closed"})
TRANSIENT_LOOKING_REASON = "beneficiary_bank_unavailable"
DUPLICATE_REFERENCE = "duplicate reference"
BATCH_MAX = 100  # transfers in one `POST /transfers/batch`

TransferStatus = Literal["pending", "paid", "failed"]
# Every fault the simulator counts when it injects one (latency is not counted: it hits every
# request). `Faults.enabled_modes()` names the ones a configuration turns on.
INJECTED_FAULTS = (
    "error",
    "timeout_after_commit",
    "accepted_then_failed",
    "duplicate_callback",
    "dropped_callback",
    "delayed_callback",
    "timeout_then_reject",
    "conflict_in_flight",
    "long_pending",
    "false_failure_callback",
)


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


class BatchRequest(BaseModel):
    """`POST /transfers/batch`: each item a `TransferRequest` plus its `idempotency_key`. The items are
    checked one by one, so a bad one is that item's 422 (as `POST /transfers` would answer it alone)
    and the others are taken; only the envelope is refused whole."""

    model_config = ConfigDict(extra="forbid")

    transfers: list[dict[str, Any]]


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
    timeout_then_reject_rate: float = Field(
        0.0, ge=0, le=1, description="New transfers whose answer hangs and whose replays get a 422"
    )
    conflict_in_flight_rate: float = Field(
        0.0, ge=0, le=1, description="Replays of a still pending transfer answered 409"
    )
    long_pending_rate: float = Field(0.0, ge=0, le=1, description="New transfers kept pending long_pending_s")
    long_pending_s: float = Field(60.0, ge=0)
    false_failure_callback_rate: float = Field(
        0.0, ge=0, le=1, description="New transfers that get a 'failed' callback, then are paid"
    )
    no_batches: bool = Field(False, description="A bank without POST /transfers/batch: it answers 404")
    seed: int | None = None

    def enabled_modes(self) -> set[str]:
        """The counted fault modes (`INJECTED_FAULTS`) this configuration can inject."""
        rates = {
            "error": self.error_rate,
            "timeout_after_commit": self.timeout_after_commit_rate,
            "accepted_then_failed": self.accepted_then_failed_rate,
            "duplicate_callback": self.duplicate_callback_rate,
            "dropped_callback": self.drop_callback_rate,
            "delayed_callback": 1.0 if self.out_of_order_callbacks else 0.0,
            "timeout_then_reject": self.timeout_then_reject_rate,
            "conflict_in_flight": self.conflict_in_flight_rate,
            "long_pending": self.long_pending_rate,
            "false_failure_callback": self.false_failure_callback_rate,
        }
        return {mode for mode, rate in rates.items() if rate > 0}


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
    reject_replays: bool = False  # timeout_then_reject: its first answer hangs, every replay gets a 422
    pending_until: datetime | None = None  # long_pending: not settled before then

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


def now() -> datetime:
    return datetime.now(UTC)
