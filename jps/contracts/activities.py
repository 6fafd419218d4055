"""Every activity's input and result: one object each, so adding a field never breaks a caller.

The workflow calls each activity through a typed reference to its method; these models are what
crosses, and what the histories record (kept small: bulky data stays in PostgreSQL, passed by id).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from jps.contracts.wages import BudgetDraw, WageWeekRecord
from jps.domain.models import GroupSummary, Proposal, SpendingLine
from jps.domain.stages import Stage

# ---- the recorded step (record_transition) ----


class BudgetSettlement(BaseModel):
    """Close a budget reservation: what the bank paid moves to spent, the rest is released."""

    reservation_id: str
    paid_amount: int = Field(ge=0)


class TransitionRecord(BaseModel):
    """One step of a group's life, as the workflow hands it to the `record_transition` activity.

    The activity writes it in one transaction: the read model (groups, members), the stage
    transition, the audit row and the outbox notifications; (group_id, seq, run_id) makes a retry a
    no-op, and a step re-executed after a reset (same seq, another run) a new one (activities/steps.py).
    Each record is also one line of the group's timeline, read back from the Temporal history.
    """

    group_id: str
    seq: int
    at: datetime
    event: str = Field(description="snake_case event name, e.g. verification_approved, escalated")
    stage: Stage = Field(description="The stage after this step")
    from_stage: Stage | None = None
    officer: str | None = Field(None, description="Acting officer id; None for automated events")
    officer_roles: list[str] = Field(default_factory=list)
    reason: str = ""
    details: dict[str, str | int | float | bool | list[str] | None] = Field(default_factory=dict)
    notify: list[str] = Field(default_factory=list, description="Notification templates to queue")
    run_id: str = Field(
        "", description="The workflow run that took the step: a reset's re-executed steps are new ones"
    )
    state: GroupSummary = Field(description="The group's state after the step, for the read model")
    proposal: Proposal | None = Field(
        None, description="Only when the members changed: rewrite them (and their NIK claims)"
    )
    settle: BudgetSettlement | None = Field(None, description="Settle the budget in the same transaction")
    lpj_lines: list[SpendingLine] | None = Field(
        None, description="An LPJ submission (version state.lpj.version): its lines, written once"
    )
    receivable_event: ReceivableEvent | None = Field(None, description="A receivable's movement")
    wage_weeks: list[WageWeekRecord] | None = Field(None, description="Muster-roll weeks changed: their rows")
    draw: BudgetDraw | None = Field(None, description="Draw a wage batch's payment from the reservation")

    def line(self) -> RecordedStep:
        """The step as the group's timeline shows it (no state, no members)."""
        return RecordedStep(
            seq=self.seq,
            at=self.at,
            event=self.event,
            stage=self.stage,
            from_stage=self.from_stage,
            officer=self.officer,
            reason=self.reason,
            details=self.details,
        )


class RecordedStep(BaseModel):
    """What `record_step` (the local activity) answers: the step's timeline line. A local activity's
    input is not in the history, only its result (in a marker), so the timeline reads this instead of
    the scheduled `record_transition` input (api/timeline.py). The same keys as TransitionRecord."""

    seq: int
    at: datetime
    event: str
    stage: Stage
    from_stage: Stage | None = None
    officer: str | None = None
    reason: str = ""
    details: dict[str, str | int | float | bool | list[str] | None] = Field(default_factory=dict)


class ReceivableEvent(BaseModel):
    """A receivable opened, a repayment recorded or an amount written off (receivable_events)."""

    kind: Literal["opened", "repayment", "write_off"]
    amount: int = Field(gt=0)
    paid_on: date | None = None
    reference: str = ""
    reason: str = ""


# ---- budget (ledger activities) ----


class BudgetRequest(BaseModel):
    group_id: str
    program: str
    region_code: str
    amount: int
    attempt: int = Field(description="Payment attempt; the reservation id is group_id:attempt")

    @property
    def reservation_id(self) -> str:
        return f"{self.group_id}:{self.attempt}"


class BudgetResult(BaseModel):
    reserved: bool
    frozen: bool = Field(False, description="Disbursements are frozen for this programme or region")
    reservation_id: str
    allocation_region: str | None = Field(None, description="The allocation drawn on (regency or province)")
    reason: str = ""


class FreezeStatus(BaseModel):
    frozen: bool
    reason: str = ""


# ---- payments (bank activities) ----


class TransferSpec(BaseModel):
    """What we ask the bank to pay. The idempotency key must be the same on every retry."""

    transfer_id: str = Field(min_length=1)
    batch_id: str = Field(min_length=1)
    beneficiary: str = Field(min_length=1)
    bank_code: str = Field(min_length=1)
    account_no: str = Field(min_length=1)
    amount: int = Field(gt=0, description="Whole rupiah")
    idempotency_key: str | None = Field(None, description="Default: the transfer id")
    callback_url: str | None = Field(None, description="Default: the client's callback_url")

    @property
    def key(self) -> str:
        return self.idempotency_key or self.transfer_id


class PaymentBatch(BaseModel):
    group_id: str
    batch_id: str
    attempt: int
    transfers: list[TransferSpec]
    program: str = Field("", description="With region_code: whose freeze is checked before each POST")
    region_code: str = ""


# One default for one fact: a failure the bank does not call permanent is a passing one (a new
# transfer may simply be tried, once the bank's own status confirms the failure). The callback
# route, the bank client and the status poll all use this.
PERMANENT_WHEN_UNSAID = False

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


_DIGIT_RUN = re.compile(r"\d{6,}")


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group(0)
    return "*" * (len(run) - 4) + run[-4:]


def clean_reason(text: str) -> str:
    """A bank's (or an error's) reason as we keep, show and log it: no control characters
    (PostgreSQL refuses NUL; a step that cannot be written must never follow money that moved), no
    run of six or more digits in clear (an account number, a NIK, a phone number: only the last four
    stay), at most 500 characters."""
    return _DIGIT_RUN.sub(_mask_digits, _CONTROL.sub(" ", text))[:500]


# What a failed or undecided transfer's reason may say, shown to officers, written to the audit log
# and sent to the group leader. The bank's own text (which may name its hosts, its internal codes,
# another customer's data) stays in our logs: `bank_reason` maps it where it enters, in the
# activities that call the bank and in the callback route.
BANK_REASONS = (
    "account_closed",  # the beneficiary's account is closed: an officer fixes the bank details
    "account_invalid",  # no such account, a malformed number or holder
    "beneficiary_bank_unavailable",  # the receiving bank did not take it, for now
    "bank_unavailable",  # the bank's gateway failed (5xx, connection)
    "timeout",  # no answer in time
    "duplicate",  # the bank holds another instruction under this key
    "refused",  # the bank refused the instruction, for a reason of its own
    "other",
)
_REASON_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("account_closed", ("account_closed", "closed", "dormant", "ditutup")),
    (
        "account_invalid",
        ("account_invalid", "invalid account", "no such account", "unknown account", "malformed"),
    ),
    ("beneficiary_bank_unavailable", ("beneficiary_bank", "beneficiary bank")),
    ("timeout", ("timeout", "timed out", "time out", "did not answer")),
    ("duplicate", ("duplicate", "idempotency", " 409 ")),
    (
        "bank_unavailable",
        (" 500 ", " 502 ", " 503 ", " 504 ", "unavailable", "connect", "offline", "maintenance"),
    ),
    ("refused", ("refused", "rejected", "declined", "denied", " 400 ", " 403 ", " 422 ")),
)


def bank_reason(raw: str) -> str:
    """The reason code (`BANK_REASONS`) for a bank's text; "" for none. A code passes unchanged."""
    text = f" {raw.strip().lower()} "
    if not text.strip():
        return ""
    if text.strip() in BANK_REASONS:
        return text.strip()
    for code, needles in _REASON_RULES:
        if any(n in text for n in needles):
            return code
    return "other"


class PaymentResult(BaseModel):
    """The bank's word on one transfer (callback or status poll)."""

    transfer_id: str
    status: Literal["paid", "failed"]
    reason: str = ""
    permanent: bool = PERMANENT_WHEN_UNSAID

    @field_validator("reason")
    @classmethod
    def _clean(cls, v: str) -> str:
        return clean_reason(v)


TransferState = Literal["paid", "failed", "pending", "absent", "unknown", "held"]


class TransferStatus(BaseModel):
    """What we know of one transfer after asking: the bank's final word (`paid`, `failed`), still
    in flight at the bank (`pending`), the bank has no such transfer (`absent`: it never arrived, so
    the same key may be sent again), no clear answer (`unknown`: only the bank's status may decide
    later), or not sent because disbursement is frozen (`held`)."""

    transfer_id: str
    status: TransferState
    reason: str = ""
    permanent: bool = PERMANENT_WHEN_UNSAID

    @field_validator("reason")
    @classmethod
    def _clean(cls, v: str) -> str:
        return clean_reason(v)

    @property
    def final(self) -> bool:
        return self.status in ("paid", "failed")

    def as_result(self) -> PaymentResult:
        assert self.status in ("paid", "failed")
        return PaymentResult(
            transfer_id=self.transfer_id,
            status="paid" if self.status == "paid" else "failed",
            reason=self.reason,
            permanent=self.permanent,
        )


class SendResult(BaseModel):
    """`send_transfers`: one status per transfer of the batch, in its order."""

    statuses: list[TransferStatus]
    frozen_reason: str = Field("", description="Set when transfers were held because of a freeze")


class StatusRequest(BaseModel):
    """`transfer_statuses`: ask the bank about these transfers; one it has never received is sent
    again with its original key, unless disbursement is frozen (then it is `held`)."""

    group_id: str
    program: str
    region_code: str
    transfer_ids: list[str]


# ---- reconciliation ----

# member_denied: not the bank's statement but a person asked after the payment answered "TIDAK" (the
# post-payment verification, activities/verification.py); finance resolves it like the others.
MismatchKind = Literal["paid_not_recorded", "recorded_not_paid", "amount_differs", "member_denied"]
# What a reconciliation run finds (its counts), and what the list shows.
MISMATCH_KINDS: tuple[MismatchKind, ...] = ("paid_not_recorded", "recorded_not_paid", "amount_differs")
LISTED_MISMATCH_KINDS: tuple[MismatchKind, ...] = (*MISMATCH_KINDS, "member_denied")
DEFAULT_PENDING_GRACE = timedelta(days=2)
# What a run did with a mismatch it found: recorded it as a new open row, found it already open (the
# row's figures refreshed), or left it resolved (an officer resolved the same facts before).
RecordedAs = Literal["opened", "already_open", "kept_resolved"]
# How much of the statement a run reads: all of it; from where the last completed run ended (the
# watermark; all of it when there is none); or an explicit window (`--days`), which moves no watermark.
ReconcileMode = Literal["full", "incremental", "window"]


class Mismatch(BaseModel):
    kind: MismatchKind
    transfer_id: str
    group_id: str | None = Field(None, description="None when we have no row for the transfer")
    ours: dict[str, Any] | None = Field(None, description="Our row: status, amount, instructed_at")
    bank: dict[str, Any] | None = Field(None, description="The bank's word: status, amount, paid_at")
    recorded_as: RecordedAs | None = Field(
        None, description="What the run did with it; None before recording"
    )


class ReconcileRequest(BaseModel):
    run_id: str = Field(description="One per run; a retried activity records nothing twice")
    since: datetime | None = Field(
        None, description="An explicit window: this part of the statement only (moves no watermark)"
    )
    full: bool = Field(False, description="The whole statement and all our rows, not from the watermark")
    pending_grace: timedelta = Field(
        DEFAULT_PENDING_GRACE, description="How long a transfer may be in flight"
    )


class ReconcileInput(BaseModel):
    """ReconciliationWorkflow's input (`jps reconcile` options); the daily schedule gives none."""

    since_days: int | None = Field(
        None, ge=1, description="Only the last N days of the statement; None: from the watermark"
    )
    full: bool = Field(False, description="The whole statement, whatever the watermark says")
    pending_grace: timedelta = Field(
        DEFAULT_PENDING_GRACE, description="How long a transfer may be in flight"
    )


class ReconcileResult(BaseModel):
    run_id: str
    mode: ReconcileMode = "full"
    statement_from: datetime | None = Field(None, description="Where the statement was read from; None: all")
    statement_until: datetime | None = Field(None, description="The last paid_at read (the next watermark)")
    compared: int = Field(description="Our transfers compared")
    bank_paid: int = Field(description="Transfers on the part of the bank's statement read")
    asked_bank: int = Field(0, description="Transfers whose status was asked of the bank one by one")
    mismatches: list[Mismatch] = Field(description="Every mismatch this run found, new or not")
    open_total: int = Field(0, description="Mismatches open after the run, found by this run or before")

    def count(self, kind: MismatchKind) -> int:
        return sum(m.kind == kind for m in self.mismatches)

    def recorded(self, how: RecordedAs) -> int:
        return sum(m.recorded_as == how for m in self.mismatches)
