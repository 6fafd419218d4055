"""The two JPS programmes and their policies (kebijakan program): one place, loadable from configuration.

Defaults admit a group of 20 people asking for Rp 10,000,000 (the seed's average group).
A policy file (JSON, `JPS_POLICY_FILE`) may override any field per programme, e.g.
`{"tkm": {"aid_ceiling": 30000000}, "padat_karya": {"sla": {"verify": 172800}}}`
(durations in seconds). A group keeps the policy it was submitted under: it travels in the
workflow's input, so a later policy change never rewrites a running group's rules.
"""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from jps.domain.stages import TaskKind
from jps.domain.verification import VerificationPolicy
from jps.domain.wages import WagePolicy


class Program(StrEnum):
    TKM = "tkm"  # Tenaga Kerja Mandiri: capital and equipment to the group's account
    PADAT_KARYA = "padat_karya"  # labour-intensive: wages to each worker's own account


PROGRAM_LABELS: dict[Program, str] = {Program.TKM: "Tenaga Kerja Mandiri", Program.PADAT_KARYA: "Padat Karya"}

DAY = timedelta(days=1)


class MentoringSchedule(BaseModel):
    """Visits after the aid is paid. Padat Karya: weekly progress reports, then one handover report."""

    visits: int = Field(ge=1, description="Number of visits (including a handover report, if any)")
    interval: timedelta = Field(
        description="Time between visits; the first is due one interval after payment"
    )
    handover_last: bool = Field(False, description="The last visit is the facility's handover report")


class LpjCategory(StrEnum):
    """What a TKM group's aid may be spent on (the LPJ's spending lines)."""

    CAPITAL_GOODS = "capital_goods"  # barang modal: equipment, tools
    WORKING_CAPITAL = "working_capital"  # modal kerja: stock, materials, rent


class PercentRange(BaseModel):
    min: int = Field(0, ge=0, le=100)
    max: int = Field(100, ge=0, le=100)


class LpjPolicy(BaseModel):
    """The use-of-funds report (LPJ, laporan pertanggungjawaban) a paid group owes."""

    due_after: timedelta = Field(90 * DAY, description="From the payment to the LPJ's due date")
    revision_within: timedelta = Field(
        14 * DAY, description="An LPJ sent back is due again this long after (or by its due date)"
    )
    split: dict[LpjCategory, PercentRange] = Field(
        default_factory=lambda: {
            LpjCategory.CAPITAL_GOODS: PercentRange(min=60, max=100),
            LpjCategory.WORKING_CAPITAL: PercentRange(min=0, max=40),
        },
        description="Each category's share of the lines' total, in percent (default 60/40)",
    )
    max_lines: int = Field(100, ge=1, le=500)


class ProgramPolicy(BaseModel):
    program: Program
    min_members: int = 10
    max_members: int = 30
    aid_ceiling: int = Field(description="Largest amount a group may request or be approved, whole rupiah")
    maker_checker_threshold: int = Field(description="Above this, a supervisor must authorize the payment")
    sla: dict[TaskKind, timedelta] = Field(description="Time from a task's opening to its due date")
    escalate_regional_after: timedelta = Field(3 * DAY, description="After the due date: region's supervisor")
    escalate_national_after: timedelta = Field(
        7 * DAY, description="After the due date: national directorate"
    )
    min_attendance: float = Field(0.8, gt=0, le=1, description="Share of members who must attend training")
    max_training_attempts: int = Field(3, ge=1, description="Training sessions before a supervisor decides")
    mentoring: MentoringSchedule
    bank_poll_after: timedelta = Field(
        timedelta(minutes=10), description="Poll the bank if no callback by then"
    )
    bank_poll_max: timedelta = Field(
        timedelta(hours=6), description="Polls back off, doubling from bank_poll_after up to this"
    )
    payment_investigation_after: timedelta = Field(
        2 * DAY,
        description="Without the bank's final word by then, finance investigates (the budget stays reserved)",
    )
    history_events_before_continue: int = Field(
        4000, ge=100, description="A group whose history grows past this continues as new, carrying its state"
    )
    payment_auto_retries: int = Field(3, ge=0, description="New transfers after passing bank failures")
    budget_retry_every: timedelta = Field(DAY, description="Re-check a missing budget or a freeze this often")
    wages: WagePolicy | None = Field(
        None,
        description=(
            "Padat Karya: weekly wages from muster rolls (jps/domain/wages.py; on by default). None: the "
            "earlier rule, one wage bill in equal shares (every group submitted before the rule keeps it)"
        ),
    )
    lpj: LpjPolicy | None = Field(
        None,
        description="The use-of-funds report owed once paid (TKM); None: none (and groups submitted "
        "before the LPJ existed, whose policy travels without it)",
    )
    verification: VerificationPolicy = Field(
        default_factory=VerificationPolicy,
        description="Post-payment verification: who is asked whether the money arrived "
        "(jps/domain/verification.py)",
    )

    def sla_for(self, kind: TaskKind) -> timedelta:
        return self.sla.get(kind, 7 * DAY)


_COMMON_SLA: dict[TaskKind, timedelta] = {
    TaskKind.RESUBMIT_PROPOSAL: 14 * DAY,
    TaskKind.VERIFY: 7 * DAY,
    TaskKind.SCHEDULE_TRAINING: 14 * DAY,
    TaskKind.RECORD_ATTENDANCE: 3 * DAY,  # counted from the training's last day
    TaskKind.DECIDE_TRAINING: 5 * DAY,
    TaskKind.APPROVE_DISBURSEMENT: 5 * DAY,
    TaskKind.AUTHORIZE_DISBURSEMENT: 3 * DAY,
    TaskKind.AWAIT_BUDGET: 14 * DAY,
    TaskKind.AWAIT_UNFREEZE: 30 * DAY,
    TaskKind.AWAIT_BANK: 2 * DAY,
    TaskKind.INVESTIGATE_PAYMENT: 5 * DAY,
    TaskKind.UPDATE_BANK_ACCOUNT: 7 * DAY,
    TaskKind.REPORT_VISIT: 7 * DAY,  # counted from the visit's due date
    TaskKind.REVIEW_LPJ: 7 * DAY,
    TaskKind.RECOVER_RECEIVABLE: 90 * DAY,
}

DEFAULT_POLICIES: dict[Program, ProgramPolicy] = {
    Program.TKM: ProgramPolicy(
        program=Program.TKM,
        min_members=10,
        max_members=30,
        aid_ceiling=25_000_000,
        maker_checker_threshold=15_000_000,
        sla=dict(_COMMON_SLA),
        mentoring=MentoringSchedule(visits=3, interval=30 * DAY),
        lpj=LpjPolicy(),
    ),
    Program.PADAT_KARYA: ProgramPolicy(
        program=Program.PADAT_KARYA,
        min_members=10,
        max_members=40,
        aid_ceiling=60_000_000,
        maker_checker_threshold=30_000_000,
        sla=dict(_COMMON_SLA),
        mentoring=MentoringSchedule(visits=5, interval=7 * DAY, handover_last=True),
        # Weekly wages from muster rolls (issue 13, docs/wages.md). A policy file switches it off
        # with {"padat_karya": {"wages": null}}; groups submitted before keep the equal split.
        wages=WagePolicy(),
    ),
}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_policies(
    path: Path | None = None, overrides: dict[str, Any] | None = None
) -> dict[Program, ProgramPolicy]:
    """The defaults, overridden by a JSON file and/or a dict (durations in seconds)."""
    override: dict[str, Any] = {}
    if path is not None:
        override = json.loads(Path(path).read_text())
    if overrides:
        override = _merge(override, overrides)
    policies: dict[Program, ProgramPolicy] = {}
    for program, default in DEFAULT_POLICIES.items():
        merged = _merge(default.model_dump(mode="json"), override.get(program.value, {}))
        policies[program] = ProgramPolicy.model_validate(merged)
    return policies


def compressed_policies(seconds_per_day: float) -> dict[Program, ProgramPolicy]:
    """Policies whose every duration is scaled so that one day lasts `seconds_per_day` (bench, demos)."""
    factor = seconds_per_day / DAY.total_seconds()
    out: dict[Program, ProgramPolicy] = {}
    for program, policy in load_policies().items():
        data = policy.model_dump()
        for key, value in list(data.items()):
            if isinstance(value, timedelta):
                data[key] = value * factor
        data["sla"] = {k: v * factor for k, v in data["sla"].items()}
        data["mentoring"]["interval"] = data["mentoring"]["interval"] * factor
        if data.get("lpj"):
            for key in ("due_after", "revision_within"):
                data["lpj"][key] = data["lpj"][key] * factor
        for key in ("reminder_after", "answer_within"):
            data["verification"][key] = data["verification"][key] * factor
        out[program] = ProgramPolicy.model_validate(data)
    return out
