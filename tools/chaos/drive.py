"""The officers of a chaos run: each group is submitted, then stepped through its open tasks as its
officers would (verify, training, approve, authorize), and finance acts on the tasks the bank's
troubles open, but only where the bank's own status allows it:

- `investigate_payment`: finance reads the bank's status of each transfer still pending in the
  group's state and, once the bank says paid or failed, resolves the investigation with that
  outcome (`resolve-payment`). A transfer the bank still holds, or has never heard of, is left alone.
- `update_bank_account`: finance re-enters the same account only when the bank failed every
  transfer to it (nothing paid, nothing pending there). A task that asks to fix an account the bank
  paid is a bug; it is left open and the group shows up as stuck, with the bank's view.

Every call survives the run's disruptions (Temporal or PostgreSQL restarting, the worker killed):
an error that is not a workflow's refusal is retried with a backoff until the group's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import httpx
import structlog
from pydantic import BaseModel
from temporalio.client import Client

from infra import lifecycle
from infra.filestore import FileStore
from jps.contracts.workflow import GroupState
from jps.domain.calendar import local_date
from jps.domain.models import (
    ApproveDisbursementArgs,
    AuthorizeDisbursementArgs,
    BankAccount,
    DecideTrainingArgs,
    GroupSummary,
    Officer,
    RecordAttendanceArgs,
    ResolvePaymentArgs,
    ScheduleTrainingArgs,
    UpdateBankAccountArgs,
    VerifyArgs,
)
from jps.domain.muster import ApproveWagesArgs
from jps.domain.programs import Program, ProgramPolicy
from jps.domain.roles import NATIONAL, Role
from jps.domain.stages import Stage, TaskKind
from tools import seed
from tools.chaos import wages
from tools.chaos.plan import ChaosGroup
from tools.work_period import week_in

log = structlog.get_logger()
T = TypeVar("T")

FINISHED = frozenset({Stage.MENTORING, Stage.COMPLETED})
ENDED = FINISHED | {Stage.REJECTED, Stage.CANCELLED}
FINANCE_TASKS = frozenset(
    {TaskKind.INVESTIGATE_PAYMENT, TaskKind.UPDATE_BANK_ACCOUNT, TaskKind.FIX_WAGE_ACCOUNT}
)
# The tasks of a Padat Karya work period (muster rolls): their steps need the workflow's whole state.
WAGE_TASKS = frozenset(
    {TaskKind.SUBMIT_MUSTER, TaskKind.APPROVE_WAGES, TaskKind.AUTHORIZE_WAGES, TaskKind.FIX_WAGE_ACCOUNT}
)
UPDATE_OF = {
    TaskKind.INVESTIGATE_PAYMENT: "resolve_payment",
    TaskKind.FIX_WAGE_ACCOUNT: "update_bank_account",
}
CALL_TIMEOUT_S = 30.0
LOOK_AGAIN_S = 60.0


def _target(args: BaseModel) -> str:
    """What a finance step is about: the transfer it resolves, the account it fixes."""
    if isinstance(args, ResolvePaymentArgs):
        return f"{args.transfer_id}:{args.outcome}"
    if isinstance(args, UpdateBankAccountArgs):
        return args.bank_account.account_no
    return ""


def _officer(role: Role, n: int = 1) -> Officer:
    return Officer(id=f"chaos-{role.value}-{n}", name=f"Chaos {role.value}", roles=[role], regions=[NATIONAL])


VERIFIER, TRAINER, FINANCE = _officer(Role.VERIFIER), _officer(Role.TRAINER), _officer(Role.FINANCE)
SUPERVISOR = _officer(Role.SUPERVISOR)
ACCOUNTS = _officer(Role.FINANCE, 2)  # bank details: never the officer who approved the amount


@dataclass
class DriveFigures:
    """What the officers did and met, for the report."""

    steps: Counter[str] = field(default_factory=Counter)  # update name -> accepted
    refusals: Counter[str] = field(default_factory=Counter)  # "update: kind" -> refused
    retried_calls: int = 0  # calls that met a fault (not a refusal) and were tried again
    finished_s: dict[str, float] = field(default_factory=dict)  # group -> seconds from its arrival
    last_error: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # group -> why finance left a task open


class Officers:
    def __init__(
        self,
        client: Client,
        pool: asyncpg.Pool,
        bank_admin: httpx.AsyncClient,
        *,
        policies: dict[Program, ProgramPolicy],
        task_queue: str,
        store: FileStore,
        concurrency: int = 64,
    ) -> None:
        self.client = client
        self.pool = pool
        self.store = store  # the worksite photos of the Padat Karya rolls
        self.bank = bank_admin
        self.policies = policies
        self.task_queue = task_queue
        self.gate = asyncio.Semaphore(concurrency)
        self.figures = DriveFigures()
        self._tried: dict[str, dict[str, int]] = {}  # group -> step and target -> the seq it was sent at

    # -- calls that outlive the disruptions --

    async def _call(self, gid: str, what: str, call: Callable[[], Awaitable[T]], deadline: float) -> T:
        delay = 0.5
        while True:
            try:
                async with self.gate:
                    return await asyncio.wait_for(call(), CALL_TIMEOUT_S)
            except lifecycle.Refusal:
                raise
            except Exception as exc:  # Temporal or PostgreSQL restarting, no worker: try again
                self.figures.retried_calls += 1
                self.figures.last_error[gid] = f"{what}: {type(exc).__name__}: {exc}"[:300]
                if time.monotonic() + delay > deadline:
                    raise TimeoutError(f"{gid}: {what} kept failing: {exc}") from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _act(
        self, gid: str, update: str, args: BaseModel, deadline: float
    ) -> tuple[int, GroupSummary] | None:
        """One officer step: the seq it was recorded at and the state after it; None when the workflow
        refused it (the caller looks at the state again)."""
        try:
            step = await self._call(
                gid, update, lambda: lifecycle.act(self.client, gid, update, args), deadline
            )
        except lifecycle.Refusal as refusal:
            self.figures.refusals[f"{update}: {refusal.kind}"] += 1
            log.info(
                "chaos_step_refused", group_id=gid, update=update, kind=refusal.kind, why=refusal.message
            )
            return None
        self.figures.steps[update] += 1
        # The update answers only the step: the state after it is the query's (maybe steps later).
        state = await self._call(gid, "state", lambda: lifecycle.query_state(self.client, gid), deadline)
        return step.seq, state

    async def _bank_final(self, transfer_id: str) -> bool:
        bank = await self._bank_transfer(transfer_id)
        return bank is not None and bank["status"] in ("paid", "failed")

    async def _bank_transfer(self, transfer_id: str) -> dict[str, Any] | None:
        """The bank's own view of a transfer (its admin mirror, never faulted); None: unknown there."""
        resp = await self.bank.get(f"/admin/transfers/{transfer_id}")
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        answer: dict[str, Any] = resp.json()
        return answer

    # -- one group --

    async def drive(self, group: ChaosGroup, deadline: float) -> None:
        gid, proposal = group.group_id, group.proposal
        arrived = time.monotonic()
        state: GroupSummary = await self._call(
            gid,
            "submit",
            lambda: lifecycle.submit_proposal(
                self.client,
                proposal=proposal,
                policy=self.policies[proposal.program],
                submitted_by=seed.SEED_REGISTRAR,
                task_queue=self.task_queue,
                group_id=gid,
            ),
            deadline,
        )
        await self._until_ended(group, state, deadline, arrived)

    async def resume(self, group: ChaosGroup, deadline: float) -> None:
        """Drive a group again from where it stands (its workflow reset after the run: the new run
        may wait again for a step an officer took in the old one)."""
        gid = group.group_id
        state: GroupSummary = await self._call(
            gid, "state", lambda: lifecycle.query_state(self.client, gid), deadline
        )
        await self._until_ended(group, state, deadline, None)

    async def _until_ended(
        self, group: ChaosGroup, state: GroupSummary, deadline: float, arrived: float | None
    ) -> None:
        gid = group.group_id
        while state.stage not in ENDED:
            if time.monotonic() > deadline:
                task = ", ".join(t.kind.value for t in state.open_tasks) or "none"
                raise TimeoutError(f"{gid} still in {state.stage.value} with {task}")
            stepped = await self._next_step(group, state, deadline)
            if stepped is None:
                await self._wait_for_news(gid, state, deadline)
                stepped = await self._call(
                    gid, "state", lambda: lifecycle.query_state(self.client, gid), deadline
                )
            state = stepped
        if state.stage in FINISHED and arrived is not None:
            self.figures.finished_s[gid] = time.monotonic() - arrived

    async def _wait_for_news(self, gid: str, state: GroupSummary, deadline: float) -> None:
        """Until the workflow records a later step (the read model says so: a query costs a workflow
        task, so the workflow is asked only then), or, while finance has a task, until the bank
        settles a transfer the group's state still has pending (finance may act on that)."""
        watched: list[str] = []
        if any(t.kind in FINANCE_TASKS for t in state.open_tasks):
            for p in state.payments:
                if p.status == "pending" and not await self._bank_final(p.transfer_id):
                    watched.append(p.transfer_id)
        look_again = time.monotonic() + LOOK_AGAIN_S  # a safety net: the read model is the signal
        delay = 0.2
        while time.monotonic() < min(look_again, deadline):
            try:
                seq = await self.pool.fetchval("SELECT last_seq FROM groups WHERE group_id = $1", gid)
            except Exception as exc:  # PostgreSQL restarting: asyncpg raises more than one family
                self.figures.last_error[gid] = f"read model: {type(exc).__name__}: {exc}"[:300]
                seq = None
            if seq is not None and seq > state.seq:
                return
            for tid in watched:
                if await self._bank_final(tid):
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 3.0)
        if time.monotonic() >= deadline:
            task = ", ".join(t.kind.value for t in state.open_tasks) or "none"
            raise TimeoutError(f"{gid} still in {state.stage.value} waiting on {task}")

    async def _next_step(
        self, group: ChaosGroup, state: GroupSummary, deadline: float
    ) -> GroupSummary | None:
        """One officer step on an open task; None when nothing is for an officer to do now."""
        gid, proposal = group.group_id, group.proposal
        today = local_date(datetime.now(UTC))
        if any(t.kind in WAGE_TASKS for t in state.open_tasks) and not isinstance(state, GroupState):
            state = await self._call(gid, "state", lambda: lifecycle.query_state(self.client, gid), deadline)
        for task in state.open_tasks:
            args: BaseModel | None
            match task.kind:
                case TaskKind.VERIFY:
                    args = VerifyArgs(decision="approve", notes="chaos run", officer=VERIFIER)
                case TaskKind.SCHEDULE_TRAINING:
                    args = ScheduleTrainingArgs(starts_on=today, ends_on=today, venue="BLK", officer=TRAINER)
                case TaskKind.RECORD_ATTENDANCE:
                    niks = [m.nik for m in proposal.members]
                    args = RecordAttendanceArgs(attended_niks=niks, officer=TRAINER)
                case TaskKind.DECIDE_TRAINING:
                    args = DecideTrainingArgs(decision="proceed", notes="chaos run", officer=SUPERVISOR)
                case TaskKind.APPROVE_DISBURSEMENT:
                    args = ApproveDisbursementArgs(amount=state.requested_amount, officer=FINANCE)
                case TaskKind.AUTHORIZE_DISBURSEMENT:
                    args = AuthorizeDisbursementArgs(officer=SUPERVISOR)
                case TaskKind.INVESTIGATE_PAYMENT:
                    args = await self._resolution(gid, state)
                case TaskKind.UPDATE_BANK_ACCOUNT:
                    args = await self._account_fix(group, state, task.note)
                case TaskKind.SUBMIT_MUSTER if isinstance(state, GroupState):
                    args = await wages.next_roll(self, group, state, deadline)
                case TaskKind.APPROVE_WAGES if isinstance(state, GroupState):
                    week = week_in(state.wages, "accepted")
                    args = ApproveWagesArgs(week_starts_on=week, officer=FINANCE) if week else None
                case TaskKind.AUTHORIZE_WAGES if isinstance(state, GroupState):
                    args = wages.authorization(state, SUPERVISOR)
                case TaskKind.FIX_WAGE_ACCOUNT if isinstance(state, GroupState):
                    args = await wages.account_fix(self, group, state, ACCOUNTS)
                case _:
                    args = None  # automated waits (bank, budget, freeze), mentoring: nothing to do
            if args is None:
                continue
            update = UPDATE_OF.get(task.kind, task.kind.value)
            # The same step on the same target once per recorded step of the workflow: an accepted
            # fix whose task stays open until the bank answers, or a refusal, is not sent again
            # before the workflow records something new. An accepted one counts from its own step,
            # not from the state queried after it: by then the workflow may have recorded more (the
            # wages it made due sent, and failed again), and that later step needs the fix again.
            key = f"{update}:{_target(args)}"
            tried = self._tried.setdefault(gid, {})
            if state.seq <= tried.get(key, -1):
                continue
            tried[key] = state.seq
            acted = await self._act(gid, update, args, deadline)
            if acted is not None:
                tried[key], stepped = acted
                return stepped
            # Refused: the state moved on meanwhile (an earlier call's update landed), look again.
            return await self._call(gid, "state", lambda: lifecycle.query_state(self.client, gid), deadline)
        return None

    async def _resolution(self, gid: str, state: GroupSummary) -> ResolvePaymentArgs | None:
        """Finance closes the investigation of a transfer the bank has settled, with the bank's word:
        a transfer of the attempt being paid whose final word the workflow does not have yet."""
        known = set(state.runtime.payments.bank_results) if isinstance(state, GroupState) else set()
        attempt = max((p.attempt for p in state.payments), default=0)
        for payment in state.payments:
            if payment.status != "pending" or payment.attempt != attempt or payment.transfer_id in known:
                continue
            bank = await self._bank_transfer(payment.transfer_id)
            if bank is None or bank["status"] not in ("paid", "failed"):
                continue
            reason = f"bank status {bank['status']} {bank.get('reason') or ''}".strip()
            return ResolvePaymentArgs(
                transfer_id=payment.transfer_id, outcome=bank["status"], reason=reason, officer=FINANCE
            )
        return None

    async def _account_fix(
        self, group: ChaosGroup, state: GroupSummary, why: str
    ) -> UpdateBankAccountArgs | None:
        """The same bank details again, for an account every transfer to which the bank failed."""
        by_account: dict[str, list[str]] = {}
        for payment in state.payments:
            bank = await self._bank_transfer(payment.transfer_id)
            by_account.setdefault(payment.account_no, []).append(bank["status"] if bank else "absent")
        proposal = group.proposal
        if proposal.program == Program.TKM:
            candidates: list[tuple[BankAccount, str | None]] = [(proposal.bank_account, None)]
        else:
            candidates = [(m.bank_account, m.nik) for m in proposal.members if m.bank_account is not None]
        for account, nik in candidates:
            seen = by_account.get(account.account_no, [])
            if seen and all(s == "failed" for s in seen):
                return UpdateBankAccountArgs(bank_account=account, member_nik=nik, officer=ACCOUNTS)
        # Not all failed at the bank: fixing the account would pay twice. Leave the task open, say why.
        bank = {f"...{acc[-4:]}": statuses for acc, statuses in by_account.items() if "failed" in statuses}
        self.figures.notes[group.group_id] = (
            f"update_bank_account open ({why}); the bank's statuses of the accounts with a failure: {bank}"
        )
        return None
