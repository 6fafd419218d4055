"""A group (kelompok) as officers see it: one line of a listing, or the whole group with its masked
members, open tasks, payments, visits and training."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import example_config, example_of, mask_account
from api.schemas.tasks import TaskOut, task_out, tasks_out
from jps.domain.models import GroupSummary, LpjState, Proposal
from jps.domain.nik import mask_nik, mask_niks_in
from jps.domain.programs import Program
from jps.domain.stages import Stage
from jps.domain.wages import WageTotals


class BankAccountOut(BaseModel):
    model_config = example_config(bank_code="002", account_no="******7890", holder_name="Kelompok Maju Jaya")
    bank_code: str
    account_no: str | None = Field(description="Masked: last four digits only")
    holder_name: str


class MemberOut(BaseModel):
    """Anggota kelompok, as shown: the NIK masked, no birth date (the NIK's hidden part encodes it)."""

    model_config = example_config(
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


class PaymentOut(BaseModel):
    model_config = example_config(
        transfer_id="TKM-3171-AB12CD34EF-1",
        beneficiary="Kelompok Maju Jaya",
        bank_code="002",
        account_no="******7890",
        amount=10_000_000,
        status="paid",
        attempt=1,
        member_nik=None,
        reason="",
        released_by=None,
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
    released_by: str | None = Field(
        None, description="Padat Karya: the supervisor who gave up this unpaid share (release-share)"
    )


class VisitOut(BaseModel):
    model_config = example_config(
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
    model_config = example_config(
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

    model_config = example_config(
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
        open_tasks=[example_of(TaskOut)],
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
    open_task: TaskOut | None = Field(None, description="The most urgent of `open_tasks` (the earliest due)")
    open_tasks: list[TaskOut] = Field(
        default_factory=list, description="Every task open now, the most urgent first"
    )
    escalation_level: int = 0
    submitted_at: datetime
    updated_at: datetime


class ReceivableOut(BaseModel):
    """Aid not accounted for (tuntutan ganti rugi), and what became of it."""

    amount: int
    reason: str = Field(description="overdue, rejected or short")
    opened_at: datetime
    recovered: int
    written_off: int
    outstanding: int
    repayments: int


def _receivable_out(r: Mapping[str, Any] | None) -> ReceivableOut | None:
    if not r:
        return None
    outstanding = r["amount"] - r.get("recovered", 0) - r.get("written_off", 0)
    return ReceivableOut.model_validate({**r, "outstanding": outstanding})


class GroupOut(BaseModel):
    """A group (kelompok) as an officer sees it: stage, masked members, open task, money, visits."""

    model_config = example_config(
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
        open_tasks=[example_of(TaskOut)],
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
    open_task: TaskOut | None = Field(None, description="The most urgent of `open_tasks` (the earliest due)")
    open_tasks: list[TaskOut] = Field(
        default_factory=list, description="Every task open now, the most urgent first"
    )
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
    lpj: LpjState | None = Field(None, description="TKM, once paid: the use-of-funds report (LPJ)")
    receivable: ReceivableOut | None = Field(None, description="Aid not accounted for, being recovered")
    wages: WageTotals | None = Field(
        None, description="Padat Karya paid by muster rolls: workdays planned and worked, the weeks' wages"
    )
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
            open_tasks=tasks_out(d),
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
            lpj=LpjState.model_validate(mask_niks_in(d["lpj"])) if d.get("lpj") else None,
            receivable=_receivable_out(d.get("receivable")),
            wages=WageTotals.model_validate(d["wages"]) if d.get("wages") else None,
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
        released_by=p.get("released_by"),
    )
