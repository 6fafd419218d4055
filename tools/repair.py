"""`jps repair-failed`: groups whose workflow ended broken, before issue 10's fixes (a non-retryable bank
error in mid-payment failed the whole workflow), set right.

Such a group keeps its budget reservation `reserved` and its members' NIKs active (the partial unique
index `members_one_active_group_per_nik` counts a member while `members.active`, which the read model
clears only when the group reaches a terminal stage), and nobody can move it on: its workflow is
closed. This module finds the closed GroupLifecycleWorkflow executions (Temporal visibility:
`ExecutionStatus` Failed, Terminated or TimedOut) whose group is still open in the read model, asks
the bank about each of the group's transfers (`GET /transfers/{id}`, the bank's own word), and, when
told to, repairs each group in one transaction:

- each open reservation is settled with what the bank paid for its attempt, the rest released
  (`activities.ledger.settle_reservation`, the workflow's own settlement); our `pending` payment rows
  take the bank's status (a transfer the bank never received is `failed`: nothing will send it now);
- a Padat Karya wage bill paid by the week (reservation `{group}:0`, docs/wages.md) has drawn what
  the settled batches paid; what the bank paid of the batch still outstanding when the workflow
  ended (our rows `pending`) is drawn from it first (`activities.ledger.draw_reservation`, draw id
  `{reservation}:repair`), then the rest released; the wage lines take the bank's word too, and the
  roll entries of unpaid wages give their workers' days back (as a cancel does);
- the group goes to `cancelled` with the reason "repaired after a failed workflow" (and, when money
  was paid, how much: it stays spent, the group simply cannot go on to mentoring), its open tasks
  close and its members' NIKs are freed;
- an audit row (`repaired_after_failed_workflow`) names the operator, the workflow's status and run,
  and the bank's status of every transfer.

A group with a transfer the bank still has pending (or could not be asked about) waits: nothing is
changed until the bank has the final word. A repaired group has nothing left to do, so a second run
changes nothing.
"""

# Over 400 lines on purpose: one operator command, read top to bottom (find the closed workflows, ask
# the bank, plan, repair in one transaction, audit); the report it prints is tools/repair_report.py.

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.bank_client import BankClient, BankError
from activities.ledger import draw_reservation, settle_reservation
from activities.muster import free_cancelled_days
from infra.audit import append_audit
from jps.contracts.activities import BudgetSettlement
from jps.contracts.names import WORKFLOW_TYPE
from jps.contracts.wages import BudgetDraw
from jps.domain.stages import TERMINAL_STAGES, Stage

REPAIR_EVENT = "repaired_after_failed_workflow"
REPAIR_REASON = "repaired after a failed workflow"
TARGET_STAGE = Stage.CANCELLED
BROKEN = {
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.TIMED_OUT: "TimedOut",
}
_STATUS_CLAUSE = " OR ".join(f"ExecutionStatus = '{name}'" for name in BROKEN.values())
VISIBILITY_QUERY = f"WorkflowType = '{WORKFLOW_TYPE}' AND ({_STATUS_CLAUSE})"

Verdict = Literal["repair", "wait", "nothing", "no_read_model", "not_broken"]
BankWord = Literal["paid", "failed", "pending", "absent", "unreachable"]


@dataclass(frozen=True)
class ClosedRun:
    group_id: str
    run_id: str
    status: str  # Failed, Terminated, TimedOut; or the latest run's status when it is not one of them
    closed_at: datetime | None


@dataclass
class TransferCheck:
    transfer_id: str
    attempt: int
    amount: int
    ours: str
    bank: BankWord
    bank_amount: int | None = None
    bank_reason: str = ""
    paid_at: datetime | None = None

    @property
    def paid(self) -> int:
        return (self.bank_amount or self.amount) if self.bank == "paid" else 0

    def audit(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "attempt": self.attempt,
            "amount": self.amount,
            "ours": self.ours,
            "bank": self.bank,
            "bank_amount": self.bank_amount,
            "bank_reason": self.bank_reason,
        }


@dataclass
class ReservationPlan:
    reservation_id: str
    amount: int
    paid: int  # what the bank paid that this repair moves to spent (for a wage bill: draws)
    drawn: int = 0  # a wage bill's: what the workflow's settled batches drew before it ended
    wage_bill: bool = False

    @property
    def spent(self) -> int:
        return self.drawn + min(self.paid, self.amount - self.drawn)

    @property
    def released(self) -> int:
        return self.amount - self.spent


@dataclass
class GroupRepair:
    run: ClosedRun
    verdict: Verdict = "nothing"
    stage: str | None = None
    transfers: list[TransferCheck] = field(default_factory=list)
    reservations: list[ReservationPlan] = field(default_factory=list)
    active_members: int = 0
    waits_on: list[str] = field(default_factory=list)
    repaired: bool = False

    @property
    def paid_total(self) -> int:
        """What the bank paid this group, every attempt counted."""
        return sum(t.paid for t in self.transfers)

    @property
    def target_stage(self) -> str:
        """Cancelled; a group already in a terminal stage keeps it (only its leftovers are closed)."""
        terminal = {s.value for s in TERMINAL_STAGES}
        return self.stage if self.stage in terminal else TARGET_STAGE.value

    @property
    def reason(self) -> str:
        if not self.paid_total:
            return REPAIR_REASON
        return (
            f"{REPAIR_REASON}; the bank paid Rp {self.paid_total:,}, which stays spent; "
            "the group cannot go on to mentoring"
        )


# ---- finding the closed workflows ----


async def closed_runs(client: Client, group_ids: Iterable[str] = ()) -> list[ClosedRun]:
    """The groups' workflows as their latest runs stand: the named groups (any status), or every
    GroupLifecycleWorkflow that visibility lists as failed, terminated or timed out."""
    wanted = list(dict.fromkeys(group_ids))
    if not wanted:
        seen: dict[str, None] = {}
        async for wf in client.list_workflows(VISIBILITY_QUERY):
            seen.setdefault(wf.id)
        wanted = list(seen)
    runs = []
    for group_id in wanted:
        try:
            desc = await client.get_workflow_handle(group_id).describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            continue
        status = BROKEN.get(desc.status) if desc.status else None
        name = status or (desc.status.name.lower() if desc.status else "unknown")
        runs.append(ClosedRun(group_id, desc.run_id or "", name, desc.close_time))
    return sorted(runs, key=lambda r: r.group_id)


# ---- what the bank says, what we would do ----


async def _ask(bank: BankClient, row: asyncpg.Record) -> TransferCheck:
    check = TransferCheck(row["transfer_id"], row["attempt"], row["amount"], row["status"], "absent")
    try:
        answer = await bank.get_transfer(row["transfer_id"])
    except BankError as err:
        check.bank, check.bank_reason = "unreachable", str(err)[:200]
        return check
    if answer is not None:
        check.bank, check.bank_amount = answer.status, answer.amount
        check.bank_reason, check.paid_at = answer.reason, answer.paid_at
    return check


async def inspect(pool: asyncpg.Pool, bank: BankClient, run: ClosedRun) -> GroupRepair:
    """The group's state in the read model and the bank's word on its transfers; changes nothing."""
    found = GroupRepair(run)
    if run.status not in BROKEN.values():
        found.verdict = "not_broken"  # running (started again?) or completed normally
        return found
    stage = await pool.fetchval("SELECT stage FROM groups WHERE group_id = $1", run.group_id)
    if stage is None:
        found.verdict = "no_read_model"
        return found
    found.stage = stage
    payments = await pool.fetch(
        """SELECT transfer_id, attempt, amount, status FROM payments
            WHERE group_id = $1 ORDER BY attempt, transfer_id""",
        run.group_id,
    )
    reserved = await pool.fetch(
        """SELECT reservation_id, amount, drawn FROM budget_reservations
            WHERE group_id = $1 AND status = 'reserved' ORDER BY reservation_id""",
        run.group_id,
    )
    found.active_members = await pool.fetchval(
        "SELECT count(*) FROM members WHERE group_id = $1 AND active", run.group_id
    )
    open_rows = any(p["status"] == "pending" for p in payments)
    if stage in TERMINAL_STAGES and not reserved and not found.active_members and not open_rows:
        return found  # nothing to do (repaired already, or closed before its workflow ended)
    found.transfers = [await _ask(bank, row) for row in payments]
    for r in reserved:
        attempt = _attempt_of(r["reservation_id"])
        if attempt == WAGE_BILL_ATTEMPT:
            # Weekly wages: every batch draws from the one reservation; those the workflow settled
            # (our rows final) are drawn, the outstanding ones (ours pending) are not yet.
            paid = sum(t.paid for t in found.transfers if t.ours == "pending")
            plan = ReservationPlan(r["reservation_id"], r["amount"], paid, r["drawn"], wage_bill=True)
        else:
            paid = sum(t.paid for t in found.transfers if t.attempt == attempt)
            plan = ReservationPlan(r["reservation_id"], r["amount"], paid)
        found.reservations.append(plan)
    found.waits_on = [t.transfer_id for t in found.transfers if t.bank in ("pending", "unreachable")]
    found.verdict = "wait" if found.waits_on else "repair"
    return found


# A Padat Karya wage bill is reserved once as `{group}:0` (workflows/group_lifecycle/wages.py); a lump
# sum's attempts are numbered from 1.
WAGE_BILL_ATTEMPT = 0


def _attempt_of(reservation_id: str) -> int | None:
    """Reservations are keyed group_id:attempt; the attempt's transfers are the reservation's."""
    tail = reservation_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


# ---- the repair itself ----


async def apply(pool: asyncpg.Pool, found: GroupRepair, *, operator: str) -> bool:
    """Repair one group in one transaction; False when, under the group's lock, nothing is left to do."""
    if found.verdict != "repair":
        return False
    now = datetime.now(UTC)
    group_id = found.run.group_id
    async with pool.acquire() as conn, conn.transaction():
        group = await conn.fetchrow(
            "SELECT stage, last_seq, state FROM groups WHERE group_id = $1 FOR UPDATE", group_id
        )
        still_reserved = await conn.fetchval(
            "SELECT count(*) FROM budget_reservations WHERE group_id = $1 AND status = 'reserved'", group_id
        )
        still_active = await conn.fetchval(
            "SELECT count(*) FROM members WHERE group_id = $1 AND active", group_id
        )
        if group is None or (group["stage"] in TERMINAL_STAGES and not still_reserved and not still_active):
            return False  # another run repaired it meanwhile
        await _settle(conn, found)
        if found.target_stage == Stage.CANCELLED.value:
            await free_cancelled_days(conn, group_id)
        await conn.execute("UPDATE members SET active = false WHERE group_id = $1", group_id)
        await conn.execute("DELETE FROM group_tasks WHERE group_id = $1", group_id)
        seq = group["last_seq"] + 1
        if group["stage"] not in TERMINAL_STAGES:
            await conn.execute(
                """INSERT INTO stage_transitions (group_id, seq, from_stage, to_stage, at, officer, reason)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
                group_id,
                seq,
                group["stage"],
                found.target_stage,
                now,
                operator,
                found.reason,
            )
        paid_at = max((t.paid_at for t in found.transfers if t.paid_at), default=None)
        paid = await conn.fetchval(
            "SELECT coalesce(sum(amount), 0) FROM payments WHERE group_id = $1 AND status = 'paid'", group_id
        )
        await conn.execute(
            """UPDATE groups SET stage = $2, closed_at = coalesce(closed_at, $3), updated_at = $3,
                   last_seq = $4, paid_amount = $5, paid_at = coalesce(paid_at, $6), task_kind = NULL,
                   task_roles = NULL, task_due_at = NULL, escalation_level = 0, claimed_by = NULL, state = $7
             WHERE group_id = $1""",
            group_id,
            found.target_stage,
            now,
            seq,
            paid,
            paid_at,
            _closed_state(group["state"], found, paid_at),
        )
        await append_audit(
            conn,
            group_id=group_id,
            seq=None,
            at=now,
            actor=operator,
            actor_roles=[],
            event=REPAIR_EVENT,
            stage=found.target_stage,
            reason=found.reason,
            details=_audit_details(found, group["stage"], still_active),
        )
    found.repaired = True
    return True


async def _settle(conn: asyncpg.Connection, found: GroupRepair) -> None:
    """Our pending rows take the bank's word; each open reservation is settled with what the bank paid
    (a wage bill: drawn first, then the rest released)."""
    for t in found.transfers:
        if t.ours != "pending":
            continue  # a final row of ours that the bank contradicts is reconciliation's business
        paid = t.bank == "paid"
        status = "paid" if paid else "failed"
        reason = "" if paid else t.bank_reason or f"{t.bank} at the bank ({REPAIR_REASON})"
        await conn.execute(
            """UPDATE payments SET status = $2, reason = $3, settled_at = now()
                WHERE transfer_id = $1 AND status = 'pending'""",
            t.transfer_id,
            status,
            reason,
        )
        await conn.execute(
            "UPDATE wage_lines SET status = $2, reason = $3 WHERE transfer_id = $1 AND status = 'pending'",
            t.transfer_id,
            status,
            reason[:500],
        )
    for r in found.reservations:
        if r.wage_bill:
            if r.paid:
                draw = BudgetDraw(
                    reservation_id=r.reservation_id, draw_id=f"{r.reservation_id}:repair", amount=r.paid
                )
                await draw_reservation(conn, draw)
            await settle_reservation(conn, BudgetSettlement(reservation_id=r.reservation_id, paid_amount=0))
        else:
            await settle_reservation(
                conn, BudgetSettlement(reservation_id=r.reservation_id, paid_amount=r.paid)
            )
    await conn.execute(
        """UPDATE muster_rolls r SET updated_at = now(),
               paid = (SELECT coalesce(sum(w.amount), 0) FROM wage_lines w
                       WHERE w.group_id = r.group_id AND w.week_starts_on = r.week_starts_on
                         AND w.status = 'paid')
           WHERE r.group_id = $1""",
        found.run.group_id,
    )


def _audit_details(found: GroupRepair, from_stage: str, niks_freed: int) -> dict[str, Any]:
    reservations = [
        {"reservation_id": r.reservation_id, "amount": r.amount, "paid": r.paid, "released": r.released}
        | ({"drawn_before": r.drawn, "spent": r.spent} if r.wage_bill else {})
        for r in found.reservations
    ]
    return {
        "workflow_status": found.run.status,
        "workflow_run_id": found.run.run_id,
        "from_stage": from_stage,
        "paid_amount": found.paid_total,
        "reservations": reservations,
        "transfers": [t.audit() for t in found.transfers],
        "niks_freed": niks_freed,
    }


def _closed_state(state: dict[str, Any], found: GroupRepair, paid_at: datetime | None) -> dict[str, Any]:
    """The stored state as the group now stands (what GET /groups/{id} and the console show)."""
    bank = {t.transfer_id: t for t in found.transfers if t.ours == "pending"}
    payments = []
    for p in state.get("payments") or []:
        t = bank.get(p.get("transfer_id", ""))
        if t is not None and p.get("status") == "pending":
            p = {**p, "status": "paid" if t.bank == "paid" else "failed", "reason": t.bank_reason}
        payments.append(p)
    return {
        **state,
        "stage": found.target_stage,
        "open_tasks": [],
        "open_task": None,
        "escalation_level": 0,
        "outcome_reason": found.reason,
        "payments": payments,
        "paid_at": state.get("paid_at") or (paid_at.isoformat() if paid_at else None),
    }


async def repair_failed(
    pool: asyncpg.Pool,
    client: Client,
    bank: BankClient,
    *,
    group_ids: Iterable[str] = (),
    operator: str | None = None,
) -> list[GroupRepair]:
    """Inspect every broken group (or the named ones); with an `operator`, repair those that can be."""
    out = []
    for run in await closed_runs(client, group_ids):
        found = await inspect(pool, bank, run)
        if operator is not None:
            await apply(pool, found, operator=operator)
        out.append(found)
    return out
