"""The end of a chaos run: the bank simulator's own statement against our ledger, and the invariants
that must hold whatever happened on the way.

    chaos: groups=N faults=K duplicates=D lost=L stuck=S failed_workflows=F

- `duplicates`: transfers the bank paid beyond one per beneficiary, or paid while our ledger has
  them failed or not at all (or still pending once the group is paid), or paid to someone the group
  does not owe. A paid transfer still pending in a group that has not finished is the stuck group's.
- `lost`: beneficiaries of a paid group the bank never paid, and transfers our ledger counts as
  paid that the bank did not pay. A group whose paid total differs from its approved amount for
  none of these reasons counts once, as a duplicate when over, as lost when under.
- `stuck`: groups neither in mentoring or completed (aid paid) nor waiting on a visible officer
  task that the bank's status does not yet let finance close (an investigation of a transfer the
  bank still holds).
- `failed_workflows`: workflow executions Temporal's visibility counts as Failed, Terminated or
  TimedOut.

Besides (each must hold, or the run fails): the reservations balance (each allocation's reserved and
spent equal what its reservations hold and what the bank paid for them, none left reserved for a
paid group), the audit chain verifies, the outbox is drained, the notification gateway holds each
message once and nothing our outbox did not send, and a reconciliation run finds no mismatch.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
from temporalio.client import Client

from infra.audit import verify_chain
from jps.contracts.workflow import GroupState
from jps.domain.models import Proposal
from jps.domain.stages import Stage, TaskKind
from tools.chaos.plan import beneficiaries

FINISHED = (Stage.MENTORING, Stage.COMPLETED)
BAD_ENDINGS = ("Failed", "Terminated", "TimedOut")


@dataclass
class ChaosFigures:
    groups: int
    faults: int = 0
    duplicates: int = 0
    lost: int = 0
    stuck: int = 0
    failed_workflows: int = 0
    kills_inside_batches: int = 0  # worker kills while the bank was receiving a batch's transfers
    problems: list[str] = field(default_factory=list)
    faults_by_mode: dict[str, int] = field(default_factory=dict)
    invariants: dict[str, str] = field(default_factory=dict)  # name -> "ok", or what is wrong
    report: list[str] = field(default_factory=list)  # what happened on the way, for the console
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        counted = (self.duplicates, self.lost, self.stuck, self.failed_workflows)
        return (
            self.groups > 0 and counted == (0, 0, 0, 0) and all(v == "ok" for v in self.invariants.values())
        )

    def line(self) -> str:
        return (
            f"chaos: groups={self.groups} faults={self.faults} duplicates={self.duplicates} "
            f"lost={self.lost} stuck={self.stuck} failed_workflows={self.failed_workflows}"
        )


def _where(state: GroupState) -> str:
    tasks = ", ".join(t.kind.value for t in state.open_tasks) or "no task"
    pending = sum(p.status == "pending" for p in state.payments)
    return f"{state.stage.value}, {tasks}, {len(state.payments)} transfers ({pending} pending)"


async def check_exactly_once(
    pool: asyncpg.Pool,
    statement: list[dict[str, Any]],
    groups: Sequence[tuple[str, Proposal]],
    states: Sequence[GroupState | None],
    waiting: Iterable[str] = (),
) -> ChaosFigures:
    """Compare the bank's statement (what it paid) with our payments, per group and beneficiary.
    `groups` are (group id, proposal) pairs; `states` their workflows' states (None: not started);
    `waiting` the groups that wait, visibly, on an officer task the bank does not yet let anyone close."""
    figures = ChaosFigures(groups=len(groups))
    excused = set(waiting)
    ids = [gid for gid, _ in groups]
    ours = await pool.fetch(
        "SELECT transfer_id, group_id, account_no, amount, status FROM payments"
        " WHERE group_id = ANY($1::text[])",
        ids,
    )
    ours_paid = {r["transfer_id"]: r for r in ours if r["status"] == "paid"}
    ours_pending = {r["transfer_id"] for r in ours if r["status"] == "pending"}
    for (gid, proposal), state in zip(groups, states, strict=True):
        counted = figures.duplicates + figures.lost
        finished = state is not None and state.stage in FINISHED
        if not finished and gid not in excused:
            figures.stuck += 1
            figures.problems.append(f"{gid}: stuck ({'no state' if state is None else _where(state)})")
        # Transfer ids are `<group id>-A<attempt>-<nn>`, or for weekly wages `<group id>-W<yyyymmdd>-<nn>`
        # (`-R<k>` after a failure): the bank's lines of this group.
        paid = [line for line in statement if _of_group(line["transfer_id"]) == gid]
        if state is not None and state.runtime.wages is not None:
            _check_weekly(figures, gid, state, paid, finished)
            paid_ids = {line["transfer_id"] for line in paid}
            _check_ledger(figures, gid, paid_ids, ours_paid, ours_pending, finished)
            continue
        owed = beneficiaries(proposal)
        if state is None and any(_week_of(line["transfer_id"]) for line in paid):
            # Weekly wages of a group whose state could not be read (stuck above): without its
            # wage lines, each worker's account once a week (twice would be two weeks, not a double).
            _check_weeks_by_account(figures, gid, paid, owed)
            _check_ledger(
                figures, gid, {line["transfer_id"] for line in paid}, ours_paid, ours_pending, False
            )
            continue
        per_account = Counter(line["account_no"] for line in paid)
        for account in owed:
            if per_account[account] == 0 and finished:
                figures.lost += 1
                figures.problems.append(f"{gid}: beneficiary account ...{account[-4:]} never paid")
            elif per_account[account] > 1:
                figures.duplicates += per_account[account] - 1
                figures.problems.append(f"{gid}: account ...{account[-4:]} paid {per_account[account]} times")
        for account in set(per_account) - set(owed):
            figures.duplicates += per_account[account]
            figures.problems.append(f"{gid}: paid account ...{account[-4:]} that it does not owe")
        _check_ledger(figures, gid, {line["transfer_id"] for line in paid}, ours_paid, ours_pending, finished)
        total = sum(line["amount"] for line in paid)
        if finished and state is not None and total != state.approved_amount:
            figures.problems.append(
                f"{gid}: the bank paid Rp {total:,} of Rp {state.approved_amount or 0:,} approved"
            )
            if figures.duplicates + figures.lost == counted:  # not explained by a payment counted above
                if total > (state.approved_amount or 0):
                    figures.duplicates += 1
                else:
                    figures.lost += 1
    return figures


_TRANSFER = re.compile(r"^(?P<group>.+)-(?:A(?P<attempt>\d+)|(?P<week>W\d{8}))-(?P<nn>\d{2})(?:-R\d+)?$")


def _of_group(transfer_id: str) -> str | None:
    found = _TRANSFER.match(transfer_id)
    return found["group"] if found else None


def _week_of(transfer_id: str) -> str | None:
    found = _TRANSFER.match(transfer_id)
    return found["week"] if found else None


def _check_weeks_by_account(
    figures: ChaosFigures, gid: str, paid: list[dict[str, Any]], owed: Iterable[str]
) -> None:
    per_week = Counter((line["account_no"], _week_of(line["transfer_id"])) for line in paid)
    for (account, week), n in sorted(per_week.items(), key=str):
        if account not in owed:
            figures.duplicates += n
            figures.problems.append(f"{gid}: paid account ...{account[-4:]} that it does not owe")
        elif n > 1:
            figures.duplicates += n - 1
            figures.problems.append(f"{gid}: account ...{account[-4:]} paid {n} times for {week}")


def _reservation_of(transfer_id: str) -> str:
    """`<group>:<attempt>` for an aid transfer; `<group>:0` (the wage bill) for a weekly wage."""
    found = _TRANSFER.match(transfer_id)
    if found is None:
        return transfer_id
    return f"{found['group']}:{found['attempt'] or 0}"


def _check_ledger(
    figures: ChaosFigures,
    gid: str,
    bank_ids: set[str],
    ours_paid: dict[str, Any],
    ours_pending: set[str],
    finished: bool,
) -> None:
    """The bank's paid transfers of a group against our ledger's, one by one."""
    our_ids = {tid for tid, r in ours_paid.items() if r["group_id"] == gid}
    for tid in sorted(bank_ids - our_ids):
        if tid in ours_pending and not finished:
            # Still pending on our side in a group that has not finished: counted as stuck.
            figures.problems.append(f"{tid}: paid by the bank, still pending in our ledger")
            continue
        figures.duplicates += 1
        figures.problems.append(f"{tid}: paid by the bank, not paid in our ledger")
    for tid in sorted(our_ids - bank_ids):
        figures.lost += 1
        figures.problems.append(f"{tid}: paid in our ledger, not by the bank")


def _check_weekly(
    figures: ChaosFigures, gid: str, state: GroupState, paid: list[dict[str, Any]], finished: bool
) -> None:
    """A group paid by muster rolls: each worker's wage of each week paid once, its amount."""
    per_line: Counter[tuple[str, str]] = Counter()
    amounts: dict[tuple[str, str], int] = {}
    for line in paid:
        found = _TRANSFER.match(line["transfer_id"])
        assert found is not None
        key = (found["week"] or f"A{found['attempt']}", found["nn"])
        per_line[key] += 1
        amounts[key] = line["amount"]
    wages = state.runtime.wages
    assert wages is not None
    expected: dict[tuple[str, str], int] = {}
    for run in wages.weeks:
        for ln in run.lines:
            if ln.status != "released":
                expected[(f"W{run.week_starts_on:%Y%m%d}", f"{ln.member_no:02d}")] = ln.amount
    for key, n in per_line.items():
        if key not in expected:
            figures.duplicates += n
            figures.problems.append(f"{gid}: paid {key} that no wage line owes")
        elif n > 1:
            figures.duplicates += n - 1
            figures.problems.append(f"{gid}: the wage {key} paid {n} times")
        elif amounts[key] != expected[key]:
            figures.duplicates += 1
            figures.problems.append(
                f"{gid}: the wage {key} paid Rp {amounts[key]:,}, owed Rp {expected[key]:,}"
            )
    if finished:
        for key in sorted(set(expected) - set(per_line)):
            figures.lost += 1
            figures.problems.append(f"{gid}: the wage {key} never paid")


def waiting_on_the_bank(states: Sequence[GroupState | None], bank_pending: set[str]) -> set[str]:
    """Groups with an open investigate_payment task whose transfer the bank still holds pending:
    a visible wait that finance cannot close yet (resolve-payment needs the bank's final word)."""
    out: set[str] = set()
    for state in states:
        if state is None or state.stage in FINISHED:
            continue
        investigating = any(t.kind == TaskKind.INVESTIGATE_PAYMENT for t in state.open_tasks)
        if investigating and any(p.transfer_id in bank_pending for p in state.payments):
            out.add(state.group_id)
    return out


async def describe_workflow(client: Client, gid: str) -> str:
    """What Temporal says of a group's workflow: its status, history length, and the last workflow
    task failure (a non-determinism error leaves a workflow Running that processes nothing)."""
    try:
        handle = client.get_workflow_handle(gid)
        info = await handle.describe()
        failure = ""
        async for event in handle.fetch_history_events():
            if event.HasField("workflow_task_failed_event_attributes"):
                attrs = event.workflow_task_failed_event_attributes
                failure = f"; workflow task failed at event {event.event_id}: {attrs.failure.message}"[:400]
    except Exception as exc:
        return f"workflow not described: {exc}"
    status = info.status.name if info.status else "unknown"
    return f"workflow {status}, {info.raw_description.workflow_execution_info.history_length} events{failure}"


async def count_bad_endings(
    client: Client, query: str = "", replaced_runs: Collection[str] = ()
) -> tuple[int, list[str]]:
    """Workflow executions Temporal counts as Failed, Terminated or TimedOut (`query` narrows them),
    but for the Terminated runs a reset replaced (`replaced_runs`: a reset ends the old run so)."""
    total, where = 0, []
    for status in BAD_ENDINGS:
        q = f"ExecutionStatus = '{status}'" + (f" AND {query}" if query else "")
        if (await client.count_workflows(q)).count == 0:
            continue
        ended = [
            wf
            async for wf in client.list_workflows(q)
            if status != "Terminated" or wf.run_id not in replaced_runs
        ]
        total += len(ended)
        if ended:
            ids = [f"{wf.id} ({wf.workflow_type})" for wf in ended[:20]]
            where.append(f"{len(ended)} {status}: {', '.join(ids)}")
    return total, where


async def check_budget(pool: asyncpg.Pool, statement: list[dict[str, Any]]) -> str:
    """Each allocation's `reserved` equals its reservations still reserved, its `spent` what the bank
    paid for its settled reservations; no reservation reserved for a paid group; no money paid
    against a reservation that was released. The run's database holds the run's groups only."""
    paid_per_attempt: Counter[str] = Counter()  # "<group>:<attempt>" -> rupiah the bank paid
    for line in statement:
        paid_per_attempt[_reservation_of(line["transfer_id"])] += line["amount"]
    reservations = await pool.fetch("SELECT * FROM budget_reservations")
    allocations = await pool.fetch("SELECT * FROM budget_allocations")
    stages = dict(await pool.fetch("SELECT group_id, stage FROM groups"))
    held: Counter[tuple[str, str]] = Counter()
    spent: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []
    for r in reservations:
        where = (r["program"], r["region_code"])
        paid = paid_per_attempt.pop(r["reservation_id"], 0)
        if r["drawn"] or r["reservation_id"].endswith(":0"):
            # A wage bill paid week by week: what was drawn is spent, the rest held until the end.
            spent[where] += r["drawn"]
            if r["drawn"] != paid:
                wrong.append(f"{r['reservation_id']}: drew Rp {r['drawn']:,}, the bank paid Rp {paid:,}")
            if r["status"] == "reserved":
                held[where] += r["amount"] - r["drawn"]
                if stages.get(r["group_id"]) in FINISHED:
                    wrong.append(f"{r['reservation_id']} still reserved, the work period is over")
            continue
        if r["status"] == "reserved":
            held[where] += r["amount"]
            if stages.get(r["group_id"]) in FINISHED:
                wrong.append(f"{r['reservation_id']} still reserved, the group is paid")
        elif r["status"] == "settled":
            spent[where] += paid
        elif paid:
            wrong.append(f"{r['reservation_id']} released, yet the bank paid Rp {paid:,} on it")
    wrong += [
        f"{key}: the bank paid Rp {paid:,} without a reservation" for key, paid in paid_per_attempt.items()
    ]
    for a in allocations:
        where = (a["program"], a["region_code"])
        if (a["reserved"], a["spent"]) != (held[where], spent[where]):
            wrong.append(
                f"allocation {'/'.join(where)}: reserved {a['reserved']:,} spent {a['spent']:,}, its "
                f"reservations hold {held[where]:,} and the bank paid {spent[where]:,}"
            )
    return (
        "ok" if not wrong else "; ".join(wrong[:10]) + (f" (+{len(wrong) - 10})" if len(wrong) > 10 else "")
    )


async def check_reconciliation(client: Client, task_queue: str) -> str:
    """Reconciliation (ReconciliationWorkflow on the run's worker, over the whole statement) agrees:
    no mismatch between the bank's statement and our ledger."""
    from jps.contracts.activities import ReconcileInput, ReconcileResult

    result: ReconcileResult = await client.execute_workflow(
        "ReconciliationWorkflow",
        ReconcileInput(full=True),
        id=f"chaos-reconciliation-{int(time.time())}",
        task_queue=task_queue,
        result_type=ReconcileResult,
        execution_timeout=timedelta(minutes=5),
    )
    if not result.mismatches:
        return "ok"
    kinds = Counter(m.kind for m in result.mismatches)
    some = [m.transfer_id for m in result.mismatches][:5]
    return f"{len(result.mismatches)} mismatches {dict(kinds)}: {some}"


async def check_audit(pool: asyncpg.Pool) -> tuple[str, int]:
    async with pool.acquire() as conn:
        chain = await verify_chain(conn)
    if chain["valid"]:
        return "ok", int(chain["rows"])
    return f"broken at row {chain.get('broken_at_id')}: {chain.get('problem')}", int(chain["rows"])


async def check_outbox(pool: asyncpg.Pool, gateway: list[dict[str, Any]]) -> tuple[str, str, dict[str, int]]:
    """(drained?, each message once?, figures). `gateway` is every message the gateway stored."""
    rows = await pool.fetch("SELECT id, sent_at, attempts, last_error FROM notification_outbox")
    unsent = [r for r in rows if r["sent_at"] is None]
    drained = "ok"
    if unsent:
        errors = Counter((r["last_error"] or "never tried")[:80] for r in unsent)
        drained = f"{len(unsent)} of {len(rows)} messages unsent, max {max(r['attempts'] for r in unsent)} "
        drained += f"attempts; {dict(errors.most_common(3))}"
    ids = {r["id"] for r in rows}
    per_message = Counter(m["message_id"] for m in gateway)
    twice = [mid for mid, n in per_message.items() if n > 1]
    strangers = [m["message_id"] for m in gateway if m["message_id"] not in ids]
    sent_not_there = [r["id"] for r in rows if r["sent_at"] is not None and r["id"] not in per_message]
    once = "ok"
    if twice or strangers or sent_not_there:
        once = (
            f"{len(twice)} messages stored twice {twice[:3]}, {len(strangers)} not from our outbox "
            f"{strangers[:3]}, {len(sent_not_there)} marked sent the gateway never got {sent_not_there[:3]}"
        )
    figures = {"outbox": len(rows), "gateway": len(gateway), "unsent": len(unsent)}
    return drained, once, figures
