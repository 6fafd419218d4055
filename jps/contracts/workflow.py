"""The group lifecycle workflow's input, and its whole state: what the `state` query answers and what a
continue-as-new would carry."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from jps.contracts.activities import PaymentResult
from jps.contracts.refusals import RefusalKind
from jps.contracts.wages import WageRuntime
from jps.domain.models import GroupSummary, Proposal, StepResult
from jps.domain.programs import ProgramPolicy


class Registration(BaseModel):
    """Whether the proposal is written to PostgreSQL yet, or why it never will be."""

    done: bool = False
    error: str | None = None
    refusal: RefusalKind = RefusalKind.NIK_CONFLICT
    answered: bool = Field(False, description="The `registered` update has answered (a refusal waits for it)")

    @property
    def settled(self) -> bool:
        return self.done or self.error is not None


class PaymentEngine(BaseModel):
    """The disbursement's runtime: where the automated part of paying stands."""

    ready_to_pay: bool = Field(False, description="Approved (and authorized): the main loop pays")
    in_flight: bool = Field(False, description="Transfers recorded and not yet settled")
    attempt: int = Field(0, description="Payment attempts so far; transfer ids carry it")
    auto_retries: int = Field(0, description="New transfers after passing bank failures")
    budget_recheck: bool = Field(False, description="Told the budget changed: re-check now")
    reservation_id: str | None = None
    account_changed_by: list[str] = Field(
        default_factory=list, description="Officers who changed bank details (maker-checker)"
    )
    fixed_accounts: list[str] = Field(
        default_factory=list, description="Padat Karya workers whose refused account was fixed"
    )
    bank_results: dict[str, PaymentResult] = Field(
        default_factory=dict, description="The bank's final word per transfer id"
    )
    confirmed: list[str] = Field(
        default_factory=list, description="Transfers whose result came from asking the bank ourselves"
    )
    held: list[str] = Field(default_factory=list, description="Transfers not sent: disbursement frozen")
    status_path: bool = Field(
        False, description="Paying where only the bank's status decides (patch bank-status-decides-v1)"
    )
    sent: bool = Field(False, description="The attempt's batch reached the bank-sending step")
    instructed_at: datetime | None = None
    polls: int = Field(0, description="Status polls of this attempt (their interval doubles)")
    retry_wait: timedelta | None = Field(
        None, description="A new transfer after a passing failure waits this long first"
    )
    settle_refusals: int = Field(
        0, description="Refused records of this attempt's settlement in a row (their retry backs off)"
    )


class LifecycleRuntime(BaseModel):
    """What the workflow keeps besides the group's own facts."""

    registration: Registration = Field(default_factory=Registration)
    extra_training_attempts: int = 0
    task_token: int = Field(0, description="Changes whenever a task opens or closes: waits see it")
    payments: PaymentEngine = Field(default_factory=PaymentEngine)
    wages: WageRuntime | None = Field(None, description="Padat Karya paid by muster rolls: the work period")


class GroupState(GroupSummary):
    """The whole state the workflow holds and its `state` query answers (NIKs in clear)."""

    proposal: Proposal
    runtime: LifecycleRuntime = Field(default_factory=LifecycleRuntime)

    def summary(self) -> GroupSummary:
        # What each step records: the fields are validated already, so no second validation.
        return GroupSummary.model_construct(
            **{name: getattr(self, name) for name in GroupSummary.model_fields}
        )

    def step_result(self) -> StepResult:
        """What an officer's update answers: the step, not the state (the read model has that)."""
        return StepResult(group_id=self.group_id, seq=self.seq, stage=self.stage)


class GroupInput(BaseModel):
    """The workflow's one input. The proposal travels here because validators need the members; the
    policy in force at submission travels with it, so a later policy change never rewrites a running
    group's rules."""

    group_id: str
    proposal: Proposal
    policy: ProgramPolicy
    submitted_by: str
    request_hash: str = ""
    carried: GroupState | None = Field(
        None, description="Continue-as-new: the state the previous run handed over, whole"
    )
