"""`make chaos` / `jps chaos`: disbursement exactly once while the bank misbehaves in every way it can.

A small batch of groups of both programmes (half of them above the maker-checker threshold) is
driven through the real workflows, as `jps seed-demo` drives its cohort, while the bank simulator
injects every fault mode at once: latency, 5xx, timeouts after the money moved, transfers accepted
then failed, duplicate, delayed (so out-of-order) and dropped callbacks. The bank's callbacks reach
the real API, which signals the workflows; a dropped one is covered by the workflows' status
polling. Then the bank's own ledger is compared with ours, beneficiary by beneficiary and transfer
by transfer, and the run ends with one line:

    chaos: groups=N faults=K duplicates=D lost=L stuck=S

- `faults`: faults the simulator actually injected (its `faults_injected` counters; latency, which
  hits every request, is not counted).
- `duplicates`: transfers the bank paid beyond one per beneficiary, or paid without our ledger
  counting them as paid, or paid to someone the group does not owe.
- `lost`: beneficiaries the bank never paid, and transfers our ledger counts as paid that the bank
  did not pay. A group whose paid total differs from its approved amount for none of these reasons
  (wrong amounts) counts once, as a duplicate when over, as lost when under.
- `stuck`: groups not in mentoring (aid paid) within the time limit.

D, L and S must be 0. `run_chaos` starts a stack of its own (tools/stack.py) on free ports in a
temporary directory, so it never touches `make run`'s data; tests/disbursement/test_chaos.py runs
`run_batch` against the test fixtures instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog
from rich.console import Console
from temporalio.client import Client

from infra import lifecycle
from jps.contracts.workflow import GroupState
from jps.domain.models import Proposal
from jps.domain.programs import Program, ProgramPolicy, compressed_policies
from jps.domain.stages import Stage
from tools import seed

log = structlog.get_logger()

# Every fault mode at once. The bank client's timeout (CHAOS_BANK_TIMEOUT_S) is well below `hang_s`,
# so a timeout after commit is seen as a timeout and retried with the same key.
CHAOS_FAULTS: dict[str, Any] = {
    "latency_ms": 30,
    "error_rate": 0.1,
    "timeout_after_commit_rate": 0.08,
    "hang_s": 1.5,
    "accepted_then_failed_rate": 0.08,
    "duplicate_callback_rate": 0.3,
    "out_of_order_callbacks": True,
    "out_of_order_window_ms": 400,
    "drop_callback_rate": 0.2,
}
CHAOS_BANK_TIMEOUT_S = 0.5
# One policy day lasts 20 s (SLAs and escalations stay far away); the bank is polled 2 s after an
# instruction whose callback has not come, so dropped callbacks are covered quickly.
CHAOS_SECONDS_PER_DAY = 20.0
CHAOS_BANK_POLL_AFTER = timedelta(seconds=2)
ABOVE_THRESHOLD = {Program.TKM: 20_000_000, Program.PADAT_KARYA: 40_000_000}


def chaos_policies(
    seconds_per_day: float = CHAOS_SECONDS_PER_DAY, bank_poll_after: timedelta = CHAOS_BANK_POLL_AFTER
) -> dict[Program, ProgramPolicy]:
    return {
        program: policy.model_copy(update={"bank_poll_after": bank_poll_after})
        for program, policy in compressed_policies(seconds_per_day).items()
    }


def beneficiaries(proposal: Proposal) -> list[str]:
    """The accounts a group's aid is owed to: TKM the group's, Padat Karya each worker's own."""
    if proposal.program == Program.TKM:
        return [proposal.bank_account.account_no]
    return [m.bank_account.account_no for m in proposal.members if m.bank_account is not None]


@dataclass
class ChaosGroup:
    key: str  # the seed's idempotency key; the group id follows from it
    proposal: Proposal

    @property
    def group_id(self) -> str:
        suffix = lifecycle.idempotent_suffix(seed.SEED_REGISTRAR, self.key)
        return lifecycle.group_id_for(self.proposal, suffix)


def chaos_groups(per_programme: int, run: str) -> list[ChaosGroup]:
    """`per_programme` groups of each programme (the demo cohort's people); every second one asks
    for an amount above the maker-checker threshold, so a supervisor authorizes it."""
    out: list[ChaosGroup] = []
    for program in Program:
        for n in range(per_programme):
            proposal = seed.demo_proposal(program, n)
            if n % 2:
                proposal = proposal.model_copy(update={"requested_amount": ABOVE_THRESHOLD[program]})
            out.append(ChaosGroup(f"chaos-{run}-{program.value}-{n}", proposal))
    return out


@dataclass
class ChaosFigures:
    groups: int
    faults: int = 0
    duplicates: int = 0
    lost: int = 0
    stuck: int = 0
    problems: list[str] = field(default_factory=list)
    faults_by_mode: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.groups > 0 and self.duplicates == self.lost == self.stuck == 0

    def line(self) -> str:
        return (
            f"chaos: groups={self.groups} faults={self.faults} duplicates={self.duplicates} "
            f"lost={self.lost} stuck={self.stuck}"
        )


async def check_exactly_once(
    pool: asyncpg.Pool,
    statement: list[dict[str, Any]],
    groups: Sequence[tuple[str, Proposal]],
    states: Sequence[GroupState | None],
) -> ChaosFigures:
    """Compare the bank's statement (what it paid) with our payments, per group and beneficiary.
    `groups` are (group id, proposal) pairs; `states` their workflows' states (None: not started)."""
    figures = ChaosFigures(groups=len(groups))
    ids = [gid for gid, _ in groups]
    ours = await pool.fetch(
        "SELECT transfer_id, group_id, account_no, amount, status FROM payments"
        " WHERE group_id = ANY($1::text[])",
        ids,
    )
    ours_paid = {r["transfer_id"]: r for r in ours if r["status"] == "paid"}
    for (gid, proposal), state in zip(groups, states, strict=True):
        counted = figures.duplicates + figures.lost
        if state is None or state.stage not in (Stage.MENTORING, Stage.COMPLETED):
            figures.stuck += 1
            where = (
                "not started"
                if state is None
                else f"{state.stage.value}, task {state.open_task and state.open_task.kind.value}"
            )
            figures.problems.append(f"{gid}: stuck ({where})")
        # Transfer ids are `<group id>-A<attempt>-<nn>`: the bank's lines of this group.
        paid = [line for line in statement if line["transfer_id"].startswith(f"{gid}-A")]
        per_account = Counter(line["account_no"] for line in paid)
        owed = beneficiaries(proposal)
        for account in owed:
            if per_account[account] == 0 and state is not None and state.stage == Stage.MENTORING:
                figures.lost += 1
                figures.problems.append(f"{gid}: beneficiary account ...{account[-4:]} never paid")
            elif per_account[account] > 1:
                figures.duplicates += per_account[account] - 1
                figures.problems.append(f"{gid}: account ...{account[-4:]} paid {per_account[account]} times")
        for account in set(per_account) - set(owed):
            figures.duplicates += per_account[account]
            figures.problems.append(f"{gid}: paid account ...{account[-4:]} that it does not owe")
        bank_ids = {line["transfer_id"] for line in paid}
        our_ids = {tid for tid, r in ours_paid.items() if r["group_id"] == gid}
        for tid in sorted(bank_ids - our_ids):
            figures.duplicates += 1
            figures.problems.append(f"{tid}: paid by the bank, not paid in our ledger")
        for tid in sorted(our_ids - bank_ids):
            figures.lost += 1
            figures.problems.append(f"{tid}: paid in our ledger, not by the bank")
        total = sum(line["amount"] for line in paid)
        if state is not None and state.stage == Stage.MENTORING and total != state.approved_amount:
            figures.problems.append(
                f"{gid}: the bank paid Rp {total:,} of Rp {state.approved_amount or 0:,} approved"
            )
            if figures.duplicates + figures.lost == counted:  # not explained by a payment counted above
                if total > (state.approved_amount or 0):
                    figures.duplicates += 1
                else:
                    figures.lost += 1
    return figures


async def run_batch(
    client: Client,
    pool: asyncpg.Pool,
    bank_admin: httpx.AsyncClient,
    *,
    task_queue: str,
    groups: list[ChaosGroup],
    policies: dict[Program, ProgramPolicy],
    faults: dict[str, Any] | None = None,
    wait_s: float = 60.0,
) -> ChaosFigures:
    """Fund, turn every fault on, drive every group until its aid is paid (or `wait_s` passes), turn
    the faults off, and check the two ledgers against each other."""
    started = time.monotonic()
    await seed.fund_budget(pool, [g.proposal for g in groups])
    (
        await bank_admin.post("/admin/faults", json=faults if faults is not None else CHAOS_FAULTS)
    ).raise_for_status()

    async def drive(group: ChaosGroup) -> None:
        try:
            await seed.drive_group(
                client,
                pool,
                key=group.key,
                proposal=group.proposal,
                policy=policies[group.proposal.program],
                task_queue=task_queue,
                wait_s=wait_s,
            )
        except (lifecycle.Refusal, TimeoutError) as exc:
            log.warning("chaos_group_stuck", group_id=group.group_id, error=str(exc))

    try:
        await asyncio.gather(*(drive(g) for g in groups))
    finally:
        injected = (await bank_admin.get("/admin/ledger")).json().get("faults_injected", {})
        (await bank_admin.post("/admin/faults", json={})).raise_for_status()
    states: list[GroupState | None] = []
    for group in groups:
        try:
            states.append(await lifecycle.query_state(client, group.group_id))
        except lifecycle.Refusal:
            states.append(None)
    statement = (await bank_admin.get("/admin/statement")).json()["items"]
    figures = await check_exactly_once(pool, statement, [(g.group_id, g.proposal) for g in groups], states)
    figures.faults_by_mode = injected
    figures.faults = sum(injected.values())
    figures.wall_s = time.monotonic() - started
    return figures


# ---- the command: a stack of its own ----


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_chaos(
    per_programme: int = 4, timeout_s: float = 90.0, keep_data: bool = False, console: Console | None = None
) -> ChaosFigures:
    """Start a stack of its own (Temporal dev server, PostgreSQL, worker, bank and notification
    simulators, API), run the batch against it, stop it."""
    from jps.settings import Settings
    from tools.stack import Stack, StackOptions

    say = console or Console(stderr=True)
    data_dir = Path(tempfile.mkdtemp(prefix="jps-chaos-"))
    # Always servers of its own: TEMPORAL_ADDRESS / DATABASE_URL of the caller's shell are left out.
    values = Settings().model_dump(exclude={"temporal_address", "database_url"})
    values["temporal_task_queue"] = "jps-chaos"
    settings = Settings.model_construct(**values)
    opts = StackOptions(
        data_dir=data_dir,
        api_port=_free_port(),
        bank_port=_free_port(),
        notify_port=_free_port(),
        temporal_port=_free_port(),
        temporal_ui_port=_free_port(),
        worker_metrics_port=_free_port(),
        echo=False,
    )
    # The worker (a child process) reads these; the children inherit this process's environment.
    os.environ["JPS_BANK_TIMEOUT_S"] = str(CHAOS_BANK_TIMEOUT_S)
    os.environ.setdefault("JPS_LOG_LEVEL", "WARNING")
    stack = Stack(opts, settings, Console(quiet=True))
    say.print(f"chaos: starting a stack of its own in {data_dir}")
    try:
        stack.start()
        say.print(f"chaos: driving {2 * per_programme} groups with every bank fault on")
        return asyncio.run(_drive_stack(stack, settings.temporal_task_queue, per_programme, timeout_s))
    finally:
        stack.stop()
        if keep_data:
            say.print(f"chaos: data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


async def _drive_stack(stack: Any, task_queue: str, per_programme: int, timeout_s: float) -> ChaosFigures:
    from infra.db import create_pool
    from jps.contracts.names import DATA_CONVERTER

    client = await Client.connect(stack.temporal_address, data_converter=DATA_CONVERTER)
    pool = await create_pool(stack.dsn, max_size=4)
    bank_url = stack.opts.url(stack.opts.bank_port)
    try:
        async with httpx.AsyncClient(base_url=bank_url, timeout=10) as bank_admin:
            return await run_batch(
                client,
                pool,
                bank_admin,
                task_queue=task_queue,
                groups=chaos_groups(per_programme, run=str(int(time.time()))),
                policies=chaos_policies(),
                wait_s=timeout_s,
            )
    finally:
        await pool.close()
