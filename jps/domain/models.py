"""Pydantic models of the domain: proposals, members, officer actions and a group's state.

Input models (what a client may send) validate the data rules of DESIGN.md and name the field
that breaks one. The state models are what the workflow holds and answers to queries; the API
turns them into masked response models, so a NIK in clear never leaves through a listing.
"""

# Over 400 lines on purpose: the domain's models are one vocabulary (the proposal and its members,
# one argument model per officer action, the state the workflow answers with) built on one input
# base (`_Input`) and each other; split, every part would import the rest. Each is a few lines.

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from jps.domain.nik import PROVINCE_CODES, Gender, NikError, check_nik_consistency
from jps.domain.programs import LpjCategory, Program, ProgramPolicy
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind
from jps.domain.wages import WageTotals, WorkRole, Worksite

PHONE_RE = re.compile(r"^\+628[0-9]{7,11}$")  # ASCII digits: Python's \d matches any script's
REGION_RE = re.compile(r"^[0-9]{4}$")

Rupiah = Annotated[int, Field(gt=0, le=10**12, description="Whole rupiah", examples=[10_000_000])]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same rule as a JSON Schema pattern, so that OpenAPI clients (and the fuzzer) know it.
NO_CONTROL_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"
Notes = Annotated[str, Field(max_length=2000)]


def declare_no_control_characters(schema: dict[str, Any], *_: Any) -> None:
    """A model's JSON Schema, completed: each free-text property (a string without a pattern, format
    or enum of its own) says it takes no control characters, which `_Input` refuses."""
    for prop in schema.get("properties", {}).values():
        for variant in [prop, *prop.get("anyOf", [])]:
            if variant.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(variant):
                variant["pattern"] = NO_CONTROL_PATTERN


class _Input(BaseModel):
    """What a client sends. Text may not carry control characters (PostgreSQL refuses NUL, and a
    step that cannot be written would wedge the group): a 422 naming the field instead."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        str_max_length=4000,
        json_schema_extra=declare_no_control_characters,
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, v: object) -> object:
        if isinstance(v, str) and _CONTROL.search(v):
            raise ValueError("control characters are not allowed")
        return v


class BankAccount(_Input):
    """Rekening bank."""

    bank_code: str = Field(min_length=3, max_length=3, pattern=r"^\d{3}$", examples=["002"])
    account_no: str = Field(min_length=6, max_length=20, pattern=r"^\d+$", examples=["1234567890"])
    holder_name: str = Field(min_length=1, max_length=120, examples=["Kelompok Maju Jaya"])


class Member(_Input):
    """Anggota kelompok."""

    # The patterns (schema only) say what the validators check; these name the field in their own words.
    nik: str = Field(examples=["3171014507900001"], json_schema_extra={"pattern": "^[0-9]{16}$"})
    name: str = Field(min_length=1, max_length=120)
    birth_date: date | None = None
    gender: Gender | None = None
    phone: str = Field(examples=["+6281234567890"], json_schema_extra={"pattern": PHONE_RE.pattern})
    is_leader: bool = False
    bank_account: BankAccount | None = Field(None, description="Padat Karya: the worker's own wage account")
    work_role: WorkRole = Field(
        WorkRole.WORKER, description="Padat Karya: worker, skilled or foreman (the daily rate depends on it)"
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not PHONE_RE.match(v):
            raise ValueError("must be an Indonesian mobile number like +6281234567890")
        return v

    @model_validator(mode="after")
    def _nik(self) -> Member:
        try:
            check_nik_consistency(self.nik, self.birth_date, self.gender)
        except NikError as exc:
            # Raised from the model so the error names the field; the message never echoes the NIK.
            raise ValueError(f"nik: {exc}") from None
        return self


class Proposal(_Input):
    """Proposal kelompok: what a registrar submits."""

    program: Program
    name: str = Field(min_length=3, max_length=160, examples=["Kelompok Usaha Maju Jaya"])
    region_code: str = Field(
        description="4-digit regency/city code (kode wilayah)",
        examples=["3171"],
        # What `_region` checks, for OpenAPI clients; the validator names the field in its own words.
        json_schema_extra={"pattern": f"^({'|'.join(sorted(PROVINCE_CODES))})(0[1-9]|[1-9][0-9])$"},
    )
    description: str = Field("", max_length=2000, description="Business plan (TKM) or facility (Padat Karya)")
    requested_amount: Rupiah
    bank_account: BankAccount = Field(description="The group's account (TKM aid is paid here)")
    members: list[Member] = Field(min_length=1)
    worksite: Worksite | None = Field(
        None, description="Padat Karya: where the facility is built (workday photos are checked against it)"
    )

    @field_validator("region_code")
    @classmethod
    def _region(cls, v: str) -> str:
        if not REGION_RE.match(v) or v[:2] not in PROVINCE_CODES or v[2:] == "00":
            raise ValueError("must be a 4-digit regency/city code of a real province, e.g. 3171")
        return v

    @model_validator(mode="after")
    def _members(self) -> Proposal:
        leaders = sum(1 for m in self.members if m.is_leader)
        if leaders != 1:
            raise ValueError(f"members: exactly one leader (is_leader) is required, found {leaders}")
        seen: set[str] = set()
        for i, m in enumerate(self.members):
            if m.nik in seen:
                raise ValueError(f"members.{i}.nik: the same NIK appears twice in the group")
            seen.add(m.nik)
            if self.program == Program.PADAT_KARYA and m.bank_account is None:
                raise ValueError(
                    f"members.{i}.bank_account: Padat Karya wages go to each worker's own account"
                )
        return self

    def policy_errors(self, policy: ProgramPolicy) -> list[tuple[str, str]]:
        """Rules that depend on the programme policy: (field, reason) pairs, empty when all pass."""
        errors: list[tuple[str, str]] = []
        n = len(self.members)
        if not policy.min_members <= n <= policy.max_members:
            errors.append(("members", f"group size {n} outside {policy.min_members}-{policy.max_members}"))
        if self.requested_amount > policy.aid_ceiling:
            errors.append(("requested_amount", f"above the programme ceiling of Rp {policy.aid_ceiling:,}"))
        if self.program == Program.PADAT_KARYA and policy.wages is not None and self.worksite is None:
            errors.append(("worksite", "a Padat Karya proposal names its worksite (lat, lon, radius_m)"))
        return errors


class Officer(BaseModel):
    """The acting officer, taken from the verified token (never from the request body)."""

    id: str
    name: str = ""
    roles: list[Role]
    regions: list[str]


# ---- officer actions: one argument model each; the API adds the officer from the token ----


class ActionBase(_Input):
    officer: Officer | None = Field(None, description="Filled by the API from the token", exclude=False)


class ResubmitArgs(ActionBase):
    proposal: Proposal | None = Field(None, description="The revised proposal; omitted = unchanged")
    notes: Notes = ""


class VerifyArgs(ActionBase):
    decision: Literal["approve", "reject", "revise"]
    notes: Notes = ""


# Every date an officer sends is bounded here, so no due-date arithmetic can overflow; the
# workflow's validators add the bounds that depend on today (WIB).
OfficerDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
MAX_TRAINING_DAYS = 90  # a training's length, first day to last
TRAINING_HORIZON_DAYS = 365  # how far ahead a training may be scheduled


class ScheduleTrainingArgs(ActionBase):
    starts_on: OfficerDate
    ends_on: OfficerDate
    venue: str = Field(min_length=2, max_length=200)

    @model_validator(mode="after")
    def _dates(self) -> ScheduleTrainingArgs:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: must not be before starts_on")
        if (self.ends_on - self.starts_on).days >= MAX_TRAINING_DAYS:
            raise ValueError(f"ends_on: a training lasts at most {MAX_TRAINING_DAYS} days")
        return self


class RecordAttendanceArgs(ActionBase):
    attended_niks: list[str] = Field(description="NIKs of the members who attended")


class DecideTrainingArgs(ActionBase):
    decision: Literal["reschedule", "proceed", "cancel"]
    notes: Notes = Field(min_length=1)


class ApproveDisbursementArgs(ActionBase):
    amount: Rupiah
    notes: Notes = ""


class AuthorizeDisbursementArgs(ActionBase):
    notes: Notes = ""


class UpdateBankAccountArgs(ActionBase):
    bank_account: BankAccount
    member_nik: str | None = Field(None, description="Padat Karya: whose wage account; omitted = the group's")


class ReportVisitArgs(ActionBase):
    visit_no: int = Field(ge=1, le=100)
    visited_on: OfficerDate
    business_status: Literal["running", "struggling", "stopped"]
    monthly_revenue: int | None = Field(None, ge=0, le=10**12)
    notes: Notes = ""
    progress_percent: int | None = Field(None, ge=0, le=100, description="Padat Karya: construction progress")
    handover: bool = Field(False, description="Padat Karya paid by muster rolls: the handover report")


class ResolvePaymentArgs(ActionBase):
    """Close a payment investigation; accepted only when the bank's own status agrees."""

    transfer_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9-]+$")
    outcome: Literal["paid", "failed"]
    reason: Notes = Field(min_length=3)


class ReleaseShareArgs(ActionBase):
    """A supervisor gives up a Padat Karya worker's unpaid share (the worker left, the account can
    never be fixed), so that the group goes on."""

    member_nik: str = Field(min_length=16, max_length=16, pattern=r"^\d{16}$")
    reason: Notes = Field(min_length=3)


class CancelArgs(ActionBase):
    reason: Notes = Field(min_length=3)


FILE_ID_PATTERN = r"^F-[A-Za-z0-9]{8,40}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class SpendingLine(_Input):
    """One line of an LPJ: what part of the aid bought what, with its receipt (an uploaded file)."""

    category: LpjCategory
    amount: Rupiah
    spent_on: OfficerDate
    supplier: str = Field(min_length=2, max_length=200)
    file_id: str = Field(pattern=FILE_ID_PATTERN, description="The receipt: a file uploaded to the group")
    photo_file_id: str | None = Field(
        None, pattern=FILE_ID_PATTERN, description="A photo of the goods (it may carry its location)"
    )
    receipt_sha256: str | None = Field(
        None,
        pattern=SHA256_PATTERN,
        description="Filled by the API from the file store (the receipt's content hash); a value sent "
        "is replaced",
    )


class SubmitLpjArgs(ActionBase):
    lines: list[SpendingLine] = Field(min_length=1, max_length=500)
    notes: Notes = ""


class ReviewLpjArgs(ActionBase):
    decision: Literal["accept", "revise", "reject"]
    notes: Notes = ""

    @model_validator(mode="after")
    def _notes_when_not_accepted(self) -> ReviewLpjArgs:
        if self.decision != "accept" and len(self.notes) < 3:
            raise ValueError("notes: say what must change, or why it is rejected")
        return self


class RecordRepaymentArgs(ActionBase):
    amount: Rupiah
    paid_on: OfficerDate
    reference: str = Field(min_length=3, max_length=80, description="The deposit's reference (e.g. NTPN)")

    @property
    def normalised_reference(self) -> str:
        """The reference as a repayment is known by: case and spaces aside ("ntpn 0a1b" = "NTPN0A1B")."""
        return "".join(self.reference.split()).upper()


class WriteOffReceivableArgs(ActionBase):
    amount: Rupiah
    reason: Notes = Field(min_length=3)

    @property
    def key(self) -> str:
        """What tells this write-off from another: its amount and reason, case and spacing aside."""
        return f"{self.amount}:{' '.join(self.reason.split()).casefold()}"


class ClaimTaskArgs(ActionBase):
    release: bool = Field(False, description="True gives the task back to the pool")
    task: TaskKind | None = Field(
        None, description="Which open task; omitted = the most urgent one open to the officer's roles"
    )


# ---- state ----


class Task(BaseModel):
    """Tugas: one wait for a person (or an outside party), with its own due date and escalation."""

    kind: TaskKind
    roles: list[Role]
    opened_at: datetime
    due_at: datetime
    escalation_level: int = 0
    claimed_by: str | None = None
    note: str = ""


class TrainingSession(BaseModel):
    attempt: int
    starts_on: date
    ends_on: date
    venue: str
    scheduled_by: str
    attended: int | None = None
    attended_niks: list[str] = Field(default_factory=list)


class Payment(BaseModel):
    transfer_id: str
    idempotency_key: str
    beneficiary: str
    bank_code: str
    account_no: str
    amount: int
    status: Literal["pending", "paid", "failed"] = "pending"
    attempt: int = 1
    member_nik: str | None = None
    reason: str = ""
    permanent: bool = Field(False, description="Failed for good: an officer must fix the account")
    released_by: str | None = Field(None, description="A supervisor gave up this unpaid share")


class Visit(BaseModel):
    visit_no: int
    due_on: date
    handover: bool = False
    reported_on: date | None = None
    reported_by: str | None = None
    business_status: str | None = None
    monthly_revenue: int | None = None
    progress_percent: int | None = None
    notes: str = ""


class LpjState(BaseModel):
    """Where the group's use-of-funds report stands (its lines are in PostgreSQL, by version)."""

    paid: int = Field(description="The aid it accounts for")
    due_at: datetime = Field(description="The payment plus the policy's due_after")
    due_on: date = Field(description="due_at's day (WIB)")
    status: Literal["due", "under_review", "revise", "accepted", "rejected", "overdue"] = "due"
    version: int = Field(0, description="Submissions so far")
    submitted: int = Field(0, description="The last submission's total")
    by_category: dict[str, int] = Field(default_factory=dict, description="The last submission, per category")
    accounted: int = Field(0, description="Accepted: what the accepted lines account for")
    submitted_by: str | None = None
    reviewed_by: str | None = None
    notes: str = ""


class Receivable(BaseModel):
    """Aid not accounted for (tuntutan ganti rugi): recovered in instalments or written off."""

    amount: int
    reason: Literal["overdue", "rejected", "short"]
    opened_at: datetime
    recovered: int = 0
    written_off: int = 0
    repayments: int = 0
    references: list[str] = Field(
        default_factory=list, description="Each repayment's reference (NTPN), normalised: recorded once"
    )
    write_offs: list[str] = Field(
        default_factory=list, description="Each write-off's amount and reason (normalised): recorded once"
    )

    @property
    def outstanding(self) -> int:
        return self.amount - self.recovered - self.written_off


class GroupSummary(BaseModel):
    """A group's state without its proposal: what each recorded step carries and what every update
    answers (the members travel only when they change, which keeps every step's history event small;
    the read model and the `state` query have them)."""

    group_id: str
    program: Program
    name: str
    region_code: str
    stage: Stage
    submitted_by: str
    submitted_at: datetime
    requested_amount: int
    approved_amount: int | None = None
    approved_by: str | None = None
    authorized_by: str | None = None
    paid_at: datetime | None = None
    open_tasks: list[Task] = Field(
        default_factory=list, description="Every task open now, each with its own due date and escalation"
    )
    escalation_level: int = Field(0, description="The highest escalation among the open tasks")
    training: list[TrainingSession] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)
    visits: list[Visit] = Field(default_factory=list)
    lpj: LpjState | None = Field(None, description="TKM, once paid: the use-of-funds report")
    receivable: Receivable | None = Field(None, description="Aid not accounted for, being recovered")
    wages: WageTotals | None = Field(
        None, description="Padat Karya paid by muster rolls: the work period's weeks and wages (no NIKs)"
    )
    decision_notes: str = ""
    outcome_reason: str = ""
    request_hash: str = Field("", description="sha256 of the submitted body (Idempotency-Key checks)")
    seq: int = Field(0, description="Number of recorded steps so far")

    @model_validator(mode="before")
    @classmethod
    def _one_task_before_lists(cls, data: Any) -> Any:
        """States written before tasks became a list carry one `open_task`: read it as a list of one."""
        if isinstance(data, dict) and "open_tasks" not in data and data.get("open_task"):
            data = {**data, "open_tasks": [data["open_task"]]}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open_task(self) -> Task | None:
        """The most urgent open task (the earliest due): what clients that know one task read."""
        return min(self.open_tasks, key=lambda t: t.due_at, default=None)

    def task_of(self, *kinds: TaskKind) -> Task | None:
        """The open task of one of these kinds, if any."""
        return next((t for t in self.open_tasks if t.kind in kinds), None)


class StepResult(BaseModel):
    """What an officer's update answers (issue 15): which step of which group it was, and the stage it
    left. The step's record wrote the read model before the update answered, so a caller reads the
    group there (`api.queries.groups.group_after_step`) or asks the `state` query.

    Before, every update answered the whole GroupSummary (about 2 KB per step in the history's
    UPDATE_COMPLETED event). Its keys are a superset of these, so an answer from a worker still
    running the old code (or an update accepted before the change) decodes here too: the extra keys
    are ignored."""

    group_id: str
    seq: int = Field(
        description="The number of steps recorded once this one was: the read model has at least this"
    )
    stage: Stage
