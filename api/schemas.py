"""What the API shows: response models, separate from the input models of `jps.domain.models`.

A NIK only ever reaches these models through `mask_nik`, and account numbers are cut to their last
four digits, so a listing, a detail page or a timeline cannot leak one even if the state it was
built from carried them in clear (the workflow's own state does).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from jps.domain.models import GroupSummary, Proposal
from jps.domain.nik import mask_nik, mask_niks_in
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.domain.stages import Stage, TaskKind

T = TypeVar("T")


def mask_account(account_no: str | None) -> str | None:
    if not account_no:
        return account_no
    return "*" * max(len(account_no) - 4, 0) + account_no[-4:]


def _example(**example: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


def example_of(model: type[BaseModel]) -> dict[str, Any]:
    """The first example of a response model (to nest it in another model's example)."""
    extra: Any = model.model_config.get("json_schema_extra")
    example: dict[str, Any] = extra["examples"][0]
    return example


class ErrorOut(BaseModel):
    """FastAPI's error shape: `detail` is a sentence, or a list naming each invalid field."""

    model_config = _example(detail="stage is training; verify is allowed in verification only")
    detail: str | list[dict[str, Any]]


class Page(BaseModel, Generic[T]):
    model_config = _example(items=[], total=0, page=1, size=50)
    items: list[T]
    total: int = Field(description="Rows matching the filters, over all pages")
    page: int
    size: int


class BankAccountOut(BaseModel):
    model_config = _example(bank_code="002", account_no="******7890", holder_name="Kelompok Maju Jaya")
    bank_code: str
    account_no: str | None = Field(description="Masked: last four digits only")
    holder_name: str


class MemberOut(BaseModel):
    """Anggota kelompok, as shown: the NIK masked, no birth date (the NIK's hidden part encodes it)."""

    model_config = _example(
        nik="3171********0001",
        name="Siti Aminah",
        gender="P",
        phone="+6281234567890",
        is_leader=True,
        bank_account=None,
    )
    nik: str = Field(description="Masked NIK, e.g. 3171********0001")
    name: str
    gender: str | None = None
    phone: str
    is_leader: bool
    bank_account: BankAccountOut | None = None


class TaskOut(BaseModel):
    """The step the group waits on (tugas), its due date and how far it has escalated."""

    model_config = _example(
        kind="verify",
        roles=["verifier"],
        opened_at="2020-09-01T02:00:00Z",
        due_at="2020-09-08T02:00:00Z",
        escalation_level=0,
        claimed_by=None,
        overdue=False,
        note="",
    )
    kind: TaskKind
    roles: list[Role]
    opened_at: datetime | None = None
    due_at: datetime
    escalation_level: int = Field(
        0, description="0 with the assignee, 1 reminded, 2 region's supervisor, 3 national directorate"
    )
    claimed_by: str | None = None
    overdue: bool = False
    note: str = ""


class PaymentOut(BaseModel):
    model_config = _example(
        transfer_id="TKM-3171-AB12CD34EF-1",
        beneficiary="Kelompok Maju Jaya",
        bank_code="002",
        account_no="******7890",
        amount=10_000_000,
        status="paid",
        attempt=1,
        member_nik=None,
        reason="",
    )
    transfer_id: str
    beneficiary: str
    bank_code: str
    account_no: str | None
    amount: int
    status: Literal["pending", "paid", "failed"]
    attempt: int = 1
    member_nik: str | None = Field(None, description="Padat Karya: the worker's masked NIK")
    reason: str = ""


class VisitOut(BaseModel):
    model_config = _example(
        visit_no=1,
        due_on="2020-10-01",
        handover=False,
        reported_on="2020-09-30",
        reported_by="mentor-1",
        business_status="running",
        monthly_revenue=4_500_000,
        progress_percent=None,
        notes="",
    )
    visit_no: int
    due_on: date
    handover: bool = False
    reported_on: date | None = None
    reported_by: str | None = None
    business_status: str | None = None
    monthly_revenue: int | None = None
    progress_percent: int | None = None
    notes: str = ""


class TrainingOut(BaseModel):
    model_config = _example(
        attempt=1,
        starts_on="2020-08-10",
        ends_on="2020-08-12",
        venue="BLK Jakarta Timur",
        scheduled_by="trainer-1",
        attended=18,
    )
    attempt: int
    starts_on: date
    ends_on: date
    venue: str
    scheduled_by: str
    attended: int | None = Field(None, description="How many members attended (None until recorded)")


class GroupSummaryOut(BaseModel):
    """One line of a listing."""

    model_config = _example(
        group_id="TKM-3171-AB12CD34EF",
        program="tkm",
        name="Kelompok Usaha Maju Jaya",
        region_code="3171",
        stage="verification",
        member_count=20,
        requested_amount=10_000_000,
        approved_amount=None,
        paid_amount=0,
        escalation_level=0,
        submitted_at="2020-09-01T02:00:00Z",
        updated_at="2020-09-01T02:00:00Z",
        open_task=example_of(TaskOut),
    )
    group_id: str
    program: Program
    name: str
    region_code: str
    stage: Stage
    member_count: int
    requested_amount: int
    approved_amount: int | None = None
    paid_amount: int = 0
    open_task: TaskOut | None = None
    escalation_level: int = 0
    submitted_at: datetime
    updated_at: datetime


class GroupOut(BaseModel):
    """A group (kelompok) as an officer sees it: stage, masked members, open task, money, visits."""

    model_config = _example(
        group_id="TKM-3171-AB12CD34EF",
        program="tkm",
        name="Kelompok Usaha Maju Jaya",
        region_code="3171",
        stage="verification",
        description="Warung makan dan katering",
        member_count=20,
        members=[example_of(MemberOut)],
        bank_account=example_of(BankAccountOut),
        open_task=example_of(TaskOut),
        escalation_level=0,
        requested_amount=10_000_000,
        approved_amount=None,
        paid_amount=0,
        approved_by=None,
        authorized_by=None,
        submitted_by="registrar-1",
        submitted_at="2020-09-01T02:00:00Z",
        payments=[],
        visits=[],
        training=[],
        decision_notes="",
        outcome_reason="",
    )
    group_id: str
    program: Program
    name: str
    region_code: str
    stage: Stage
    description: str = ""
    member_count: int
    members: list[MemberOut]
    bank_account: BankAccountOut | None = None
    open_task: TaskOut | None = None
    escalation_level: int = 0
    requested_amount: int
    approved_amount: int | None = None
    paid_amount: int = 0
    approved_by: str | None = None
    authorized_by: str | None = None
    submitted_by: str
    submitted_at: datetime
    payments: list[PaymentOut] = Field(default_factory=list)
    visits: list[VisitOut] = Field(default_factory=list)
    training: list[TrainingOut] = Field(default_factory=list)
    decision_notes: str = ""
    outcome_reason: str = ""

    @classmethod
    def from_state(
        cls, state: GroupSummary | Mapping[str, Any], proposal: Proposal | Mapping[str, Any] | None = None
    ) -> GroupOut:
        """From the workflow's state (NIKs in clear) or the read model's copy of it (already masked).
        An update's answer is a summary without the members: pass the `proposal` beside it."""
        d: Mapping[str, Any] = state.model_dump(mode="json") if isinstance(state, GroupSummary) else state
        members_of: Mapping[str, Any] = (
            d["proposal"]
            if proposal is None
            else proposal.model_dump(mode="json")
            if isinstance(proposal, Proposal)
            else proposal
        )
        payments = [_payment_out(p) for p in d.get("payments") or []]
        return cls(
            group_id=d["group_id"],
            program=d["program"],
            name=d["name"],
            region_code=d["region_code"],
            stage=d["stage"],
            description=mask_niks_in(members_of.get("description") or ""),
            member_count=len(members_of["members"]),
            members=[_member_out(m) for m in members_of["members"]],
            bank_account=_bank_out(members_of.get("bank_account")),
            open_task=task_out(d.get("open_task")),
            escalation_level=d.get("escalation_level") or 0,
            requested_amount=d["requested_amount"],
            approved_amount=d.get("approved_amount"),
            paid_amount=sum(p.amount for p in payments if p.status == "paid"),
            approved_by=d.get("approved_by"),
            authorized_by=d.get("authorized_by"),
            submitted_by=d["submitted_by"],
            submitted_at=d["submitted_at"],
            payments=payments,
            visits=[VisitOut.model_validate(mask_niks_in(v)) for v in d.get("visits") or []],
            training=[TrainingOut.model_validate(mask_niks_in(t)) for t in d.get("training") or []],
            decision_notes=mask_niks_in(d.get("decision_notes") or ""),
            outcome_reason=mask_niks_in(d.get("outcome_reason") or ""),
        )


def _bank_out(b: Mapping[str, Any] | None) -> BankAccountOut | None:
    if not b:
        return None
    return BankAccountOut(
        bank_code=b["bank_code"], account_no=mask_account(b.get("account_no")), holder_name=b["holder_name"]
    )


def _member_out(m: Mapping[str, Any]) -> MemberOut:
    return MemberOut(
        nik=mask_nik(m["nik"]),
        name=m["name"],
        gender=m.get("gender"),
        phone=m["phone"],
        is_leader=m.get("is_leader", False),
        bank_account=_bank_out(m.get("bank_account")),
    )


def _payment_out(p: Mapping[str, Any]) -> PaymentOut:
    return PaymentOut(
        transfer_id=p["transfer_id"],
        beneficiary=p["beneficiary"],
        bank_code=p["bank_code"],
        account_no=mask_account(p.get("account_no")),
        amount=p["amount"],
        status=p["status"],
        attempt=p.get("attempt", 1),
        member_nik=mask_nik(p["member_nik"]) if p.get("member_nik") else None,
        reason=p.get("reason") or "",
    )


def task_out(t: Mapping[str, Any] | None, now: datetime | None = None) -> TaskOut | None:
    if not t:
        return None
    out = TaskOut.model_validate({k: v for k, v in t.items() if k in TaskOut.model_fields})
    out.overdue = out.due_at < (now or datetime.now(UTC))
    out.note = mask_niks_in(out.note)
    return out


# The read model's task columns, as listings select them (with `TASK_COLUMNS`).
TASK_COLUMNS = """task_kind, task_roles, task_due_at, escalation_level, claimed_by,
       state->'open_task'->>'opened_at' AS task_opened_at, state->'open_task'->>'note' AS task_note"""


def task_from_row(row: Mapping[str, Any]) -> TaskOut | None:
    if not row["task_kind"]:
        return None
    return task_out(
        {
            "kind": row["task_kind"],
            "roles": row["task_roles"] or [],
            "due_at": row["task_due_at"],
            "opened_at": row["task_opened_at"],
            "escalation_level": row["escalation_level"],
            "claimed_by": row["claimed_by"],
            "note": row["task_note"] or "",
        }
    )


# ---- submissions, imports and bulk work ----


class RowResult(BaseModel):
    """One line of an import file: what happened to it, and for a refusal the field and the reason."""

    model_config = _example(
        row=7,
        group_ref="G-0001",
        status="invalid",
        group_id=None,
        field="members.3.nik",
        reason="NIK birth date part (DDMMYY, DD+40 for women) is not a valid date",
    )
    row: int = Field(description="1-based line number in the file, the header being line 1")
    group_ref: str
    status: Literal["valid", "created", "existing", "invalid", "conflict", "failed"]
    group_id: str | None = None
    field: str | None = None
    reason: str = ""


class ImportJobOut(BaseModel):
    """An import: counts so far and every row's result once known."""

    model_config = _example(
        job_id="imp-5f2c1a",
        status="done",
        dry_run=False,
        filename="kelompok.csv",
        rows=40,
        groups=2,
        processed_groups=2,
        created=2,
        existing=0,
        invalid_rows=0,
        conflicts=0,
        failed=0,
        started_at="2020-09-01T02:00:00Z",
        finished_at="2020-09-01T02:00:03Z",
        results=[],
    )
    job_id: str
    status: Literal["running", "done", "failed"]
    dry_run: bool
    filename: str
    rows: int = Field(description="Data rows in the file (one per member)")
    groups: int = Field(description="Groups found in the file")
    processed_groups: int
    created: int = 0
    existing: int = Field(0, description="Already imported before (same file and group_ref): nothing new")
    invalid_rows: int = 0
    conflicts: int = Field(0, description="Groups refused because a NIK is in another active group")
    failed: int = 0
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    results: list[RowResult] = Field(default_factory=list)


class BulkItemOut(BaseModel):
    model_config = _example(group_id="TKM-3171-AB12CD34EF", status=200, stage="training", detail=None)
    group_id: str
    status: int = Field(description="The HTTP status the single action would have answered")
    stage: Stage | None = None
    detail: str | list[dict[str, Any]] | None = None


class BulkOut(BaseModel):
    model_config = _example(
        action="verify",
        succeeded=1,
        failed=0,
        results=[example_of(BulkItemOut)],
    )
    action: str
    succeeded: int
    failed: int
    results: list[BulkItemOut]


# ---- history, audit, reports, health ----


class HistoryEventOut(BaseModel):
    model_config = _example(
        at="2020-09-02T03:00:00Z",
        event="verification_approved",
        stage="training",
        officer="verifier-1",
        reason="documents complete",
        details={"from_stage": "verification"},
    )
    at: datetime
    event: str
    stage: Stage | None = None
    officer: str | None = Field(None, description="The acting officer's id (token sub); null when automated")
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class HistoryOut(BaseModel):
    model_config = _example(
        group_id="TKM-3171-AB12CD34EF",
        source="temporal",
        temporal_ui_url="http://127.0.0.1:8233/namespaces/default/workflows/TKM-3171-AB12CD34EF",
        events=[example_of(HistoryEventOut)],
    )
    group_id: str
    source: Literal["temporal", "audit_log"] = Field(
        description=(
            "temporal: the workflow's event history; audit_log: history expired, read from the audit table"
        )
    )
    temporal_ui_url: str
    events: list[HistoryEventOut]


class AuditRowOut(BaseModel):
    model_config = _example(
        id=42,
        group_id="TKM-3171-AB12CD34EF",
        seq=3,
        at="2020-09-02T03:00:00Z",
        actor="verifier-1",
        actor_roles=["verifier"],
        event="verification_approved",
        stage="training",
        reason="",
        details={},
        prev_hash="9f2c…",
        hash="4be1…",
    )
    id: int
    group_id: str | None
    seq: int | None
    at: datetime
    actor: str | None
    actor_roles: list[str]
    event: str
    stage: str | None
    reason: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerifyOut(BaseModel):
    model_config = _example(valid=True, rows=1234, broken_at_id=None, problem=None)
    valid: bool
    rows: int = Field(description="Rows checked before the end of the chain or the first break")
    broken_at_id: int | None = None
    problem: str | None = None


class StageSummaryOut(BaseModel):
    model_config = _example(
        stage="mentoring",
        groups=1985,
        people=39700,
        requested_amount=19_850_000_000,
        approved_amount=19_850_000_000,
        paid_amount=19_850_000_000,
    )
    stage: Stage
    groups: int
    people: int
    requested_amount: int
    approved_amount: int
    paid_amount: int


class ProgramSummaryOut(BaseModel):
    model_config = _example(
        program="tkm",
        label="Tenaga Kerja Mandiri",
        groups=1985,
        people=39700,
        disbursed_groups=1985,
        disbursed_people=39700,
        requested_amount=19_850_000_000,
        approved_amount=19_850_000_000,
        paid_amount=19_850_000_000,
        stages=[example_of(StageSummaryOut)],
    )
    program: Program
    label: str
    groups: int
    people: int
    disbursed_groups: int = Field(description="Groups with aid paid (at least one transfer confirmed)")
    disbursed_people: int
    requested_amount: int
    approved_amount: int
    paid_amount: int
    stages: list[StageSummaryOut]


class SummaryOut(BaseModel):
    model_config = _example(
        as_of="2020-10-02",
        regions=["*"],
        programs=[example_of(ProgramSummaryOut)],
    )
    as_of: date | None = Field(description="End of this day (Asia/Jakarta); null = now")
    regions: list[str] = Field(description="The officer's region scope the figures cover")
    programs: list[ProgramSummaryOut]


class HealthOut(BaseModel):
    model_config = _example(status="ok", api="up", postgres="up", temporal="up")
    status: Literal["ok", "degraded"]
    api: str
    postgres: str
    temporal: str


class PaymentCallbackOut(BaseModel):
    model_config = _example(
        transfer_id="TKM-3171-AB12CD34EF-1", group_id="TKM-3171-AB12CD34EF", accepted=True
    )
    transfer_id: str
    group_id: str
    accepted: bool


class InboxItemOut(BaseModel):
    """A task in an officer's inbox (kotak tugas), with the group it belongs to."""

    model_config = _example(
        group_id="TKM-3171-AB12CD34EF",
        program="tkm",
        name="Kelompok Usaha Maju Jaya",
        region_code="3171",
        stage="verification",
        member_count=20,
        task=example_of(TaskOut),
    )
    group_id: str
    program: Program
    name: str
    region_code: str
    stage: Stage
    member_count: int
    task: TaskOut
