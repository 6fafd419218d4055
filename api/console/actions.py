"""The action forms of a group's page: which ones an officer sees, and a posted form read into the
same request body `POST /groups/{id}/actions/{action}` takes (`api.service.ACTION_BODIES`).

Showing a form is a convenience, not a permission: the workflow's validators decide, and the form
only hides what they would refuse for role, stage or open task. Members are picked by their number
in the group (the page never holds a NIK in clear); the NIKs are looked up here, server-side.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic import BaseModel

from api.queries import members
from api.schemas import GroupOut, PaymentOut, TaskOut
from api.service import ACTION_BODIES
from jps.domain.actions import ACTIONS
from jps.domain.models import Officer
from jps.domain.programs import Program
from jps.domain.stages import TaskKind

# The tasks each action answers, any one of them (the workflow's `_authorize` checks the same);
# cancel answers none.
ACTION_TASK: dict[str, tuple[TaskKind, ...]] = {
    "resubmit": (TaskKind.RESUBMIT_PROPOSAL,),
    "verify": (TaskKind.VERIFY,),
    "schedule-training": (TaskKind.SCHEDULE_TRAINING,),
    "record-attendance": (TaskKind.RECORD_ATTENDANCE,),
    "decide-training": (TaskKind.DECIDE_TRAINING,),
    "approve-disbursement": (TaskKind.APPROVE_DISBURSEMENT,),
    "authorize-disbursement": (TaskKind.AUTHORIZE_DISBURSEMENT,),
    "update-bank-account": (TaskKind.UPDATE_BANK_ACCOUNT,),
    "resolve-payment": (TaskKind.INVESTIGATE_PAYMENT,),
    "release-share": (TaskKind.UPDATE_BANK_ACCOUNT,),
    # A Padat Karya group paid by muster rolls reports its weekly progress in the work period too.
    "report-visit": (TaskKind.REPORT_VISIT, TaskKind.REPORT_PROGRESS),
    "submit-lpj": (TaskKind.SUBMIT_LPJ,),
    "review-lpj": (TaskKind.REVIEW_LPJ,),
    "record-repayment": (TaskKind.RECOVER_RECEIVABLE,),
    "write-off-receivable": (TaskKind.RECOVER_RECEIVABLE,),
    "cancel": (),
}
# The LPJ carries files: its form is multipart and posts to its own route (`api.console.lpj`); every
# other action's form posts to `/kelompok/{id}/aksi/{action}`.
MULTIPART_ACTIONS = ("submit-lpj",)
FORM_ACTIONS = tuple(name for name in ACTION_TASK if name not in MULTIPART_ACTIONS)


class FormError(ValueError):
    """A form field that cannot even be read (a letter in an amount): (field, reason)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def available(officer: Officer, group: GroupOut) -> list[str]:
    """The action forms to show this officer on this group, in lifecycle order: one for each open
    task the officer's roles answer (a group may wait on several at once), and cancel."""
    shown = []
    open_kinds = {t.kind for t in group.open_tasks}
    for name in ACTION_TASK:
        spec = ACTIONS[name]
        if not set(officer.roles) & set(spec.roles) or group.stage not in spec.stages:
            continue
        wanted = ACTION_TASK[name]
        if wanted and not open_kinds.intersection(wanted):
            continue
        if name == "cancel" and (
            TaskKind.AWAIT_BANK in open_kinds or any(p.status != "failed" for p in group.payments)
        ):
            continue  # the money is moving or paid
        if name == "resolve-payment" and not pending_transfers(group):
            continue  # nothing left to pick: the bank has given its word on every transfer
        if name == "release-share" and (
            group.program != Program.PADAT_KARYA or not releasable_members(group)
        ):
            continue  # only a Padat Karya worker's share is given up
        shown.append(name)
    return shown


def can_claim(officer: Officer, task: TaskOut) -> bool:
    """Whether the officer's roles may claim (or release) this task."""
    return bool(set(officer.roles) & set(task.roles))


def failed_members(group: GroupOut) -> list[int]:
    """Padat Karya: the numbers (1-based) of the workers whose transfer the bank refused."""
    refused = {p.member_nik for p in group.payments if p.status == "failed" and p.member_nik}
    return [i + 1 for i, m in enumerate(group.members) if m.nik in refused]


def releasable_members(group: GroupOut) -> list[int]:
    """Padat Karya: the numbers (1-based) of the workers whose latest transfer the bank refused and
    whose share nobody has given up yet: those a supervisor may release (`release-share`)."""
    latest: dict[str, PaymentOut] = {}
    for p in group.payments:  # in attempt order: a later transfer to a worker replaces the earlier
        if p.member_nik:
            latest[p.member_nik] = p
    unpaid = {nik for nik, p in latest.items() if p.status == "failed" and p.released_by is None}
    return [i + 1 for i, m in enumerate(group.members) if m.nik in unpaid]


def pending_transfers(group: GroupOut) -> list[PaymentOut]:
    """The transfers of the payment attempt in flight still waiting for the bank's word: those a
    finance officer may close an investigation on (`resolve-payment`). Account numbers come masked."""
    if not group.payments:
        return []
    attempt = max(p.attempt for p in group.payments)
    return [p for p in group.payments if p.attempt == attempt and p.status == "pending"]


def _text(form: dict[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _optional(form: dict[str, Any], name: str) -> str | None:
    return _text(form, name) or None


def rupiah_field(form: dict[str, Any], name: str, *, required: bool) -> int | None:
    """'10.000.000', 'Rp 10.000.000' or '10000000' -> 10000000 (whole rupiah, no decimals)."""
    raw = _text(form, name)
    cleaned = raw.lower().removeprefix("rp").replace(".", "").replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        if required:
            raise FormError(name, "Field required")
        return None
    if not cleaned.isdigit():
        raise FormError(name, "whole rupiah, digits only (e.g. 10.000.000)")
    return int(cleaned)


def _member_numbers(values: list[str]) -> list[int]:
    numbers = []
    for value in values:
        if not value.isdigit():
            raise FormError("attended_niks", "unknown member")
        numbers.append(int(value))
    return numbers


async def niks_of(
    pool: asyncpg.Pool, group_id: str, numbers: list[int], *, field: str = "attended_niks"
) -> list[str]:
    """The members' NIKs in clear, for the workflow only: never rendered."""
    found = await members.niks_by_number(pool, group_id=group_id, numbers=numbers)
    missing = [n for n in numbers if n not in found]
    if missing:
        raise FormError(field, f"no member number {missing[0]} in this group")
    return [found[n] for n in numbers]


async def _member_nik(pool: asyncpg.Pool, group_id: str, form: dict[str, Any]) -> str | None:
    """The NIK of the member picked by number in `member_no` (None when none was picked)."""
    member = _text(form, "member_no")
    if not member:
        return None
    if not member.isdigit():
        raise FormError("member_nik", "unknown member")
    [nik] = await niks_of(pool, group_id, [int(member)], field="member_nik")
    return nik


async def read_form(
    pool: asyncpg.Pool, group_id: str, action: str, form: dict[str, Any], chosen: list[str]
) -> BaseModel:
    """The posted form as the action's request body model (pydantic checks it like the JSON API
    would: a `ValidationError` names the field). `chosen` is the list of checked member numbers."""
    body: dict[str, Any]
    if action == "resubmit":
        body = {"notes": _text(form, "notes")}
    elif action == "verify":
        body = {"decision": _text(form, "decision"), "notes": _text(form, "notes")}
    elif action == "schedule-training":
        body = {
            "starts_on": _optional(form, "starts_on"),
            "ends_on": _optional(form, "ends_on"),
            "venue": _text(form, "venue"),
        }
    elif action == "record-attendance":
        body = {"attended_niks": await niks_of(pool, group_id, _member_numbers(chosen))}
    elif action == "decide-training":
        body = {"decision": _text(form, "decision"), "notes": _text(form, "notes")}
    elif action == "approve-disbursement":
        body = {"amount": rupiah_field(form, "amount", required=True), "notes": _text(form, "notes")}
    elif action == "authorize-disbursement":
        body = {"notes": _text(form, "notes")}
    elif action == "update-bank-account":
        body = {
            "bank_account": {
                "bank_code": _text(form, "bank_code"),
                "account_no": _text(form, "account_no"),
                "holder_name": _text(form, "holder_name"),
            },
            "member_nik": await _member_nik(pool, group_id, form),
        }
    elif action == "resolve-payment":
        body = {
            "transfer_id": _text(form, "transfer_id"),
            "outcome": _text(form, "outcome"),
            "reason": _text(form, "reason"),
        }
    elif action == "release-share":
        body = {"member_nik": await _member_nik(pool, group_id, form), "reason": _text(form, "reason")}
    elif action == "report-visit":
        progress = _text(form, "progress_percent")
        if progress and not progress.isdigit():
            raise FormError("progress_percent", "a whole number from 0 to 100")
        body = {
            "visit_no": _text(form, "visit_no"),
            "visited_on": _optional(form, "visited_on"),
            "business_status": _text(form, "business_status"),
            "monthly_revenue": rupiah_field(form, "monthly_revenue", required=False),
            "progress_percent": int(progress) if progress else None,
            "notes": _text(form, "notes"),
            "handover": _text(form, "handover") == "1",
        }
    elif action == "review-lpj":
        body = {"decision": _text(form, "decision"), "notes": _text(form, "notes")}
    elif action == "record-repayment":
        body = {
            "amount": rupiah_field(form, "amount", required=True),
            "paid_on": _optional(form, "paid_on"),
            "reference": _text(form, "reference"),
        }
    elif action == "write-off-receivable":
        body = {"amount": rupiah_field(form, "amount", required=True), "reason": _text(form, "reason")}
    elif action == "cancel":
        body = {"reason": _text(form, "reason")}
    else:
        raise KeyError(action)
    model: BaseModel = ACTION_BODIES[action].model_validate(body)
    return model
