"""`run_chaos`: a stack of its own (tools/stack.py) on free ports in a temporary directory, the
groups driven through it while the bank, the gateway and the stack itself misbehave, then the
checks of tools/chaos/check.py. Nothing of `make run`'s data or ports is touched."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog
from rich.console import Console
from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from infra import lifecycle
from infra.schedules import OUTBOX_SWEEP
from jps.contracts.workflow import GroupState
from tools import seed
from tools.chaos.check import (
    ChaosFigures,
    check_audit,
    check_budget,
    check_exactly_once,
    check_outbox,
    check_reconciliation,
    count_bad_endings,
    describe_workflow,
    waiting_on_the_bank,
)
from tools.chaos.disrupt import Disruptor, schedule
from tools.chaos.drive import FINISHED, Officers
from tools.chaos.plan import (
    CHAOS_BANK_TIMEOUT_S,
    CHAOS_REPLAY_RESET_EVERY_S,
    CHAOS_SETTLE_DELAY_MS,
    ChaosGroup,
    ChaosPlan,
    chaos_groups,
)
from tools.replay_reset import RESET_EVENT, locked_sweep, replayer_of

log = structlog.get_logger()
PROGRESS_EVERY_S = 15.0
RESET_SETTLE_S = 90.0  # a reset group's new run takes its steps again: time to get where it was


def _free_ports(count: int) -> list[int]:
    """Ports the kernel hands out as free now (all held at once, so they differ)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """The stack's children inherit this process's environment: set these for them, then restore."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_chaos(
    plan: ChaosPlan | None = None, keep_data: bool = False, console: Console | None = None
) -> ChaosFigures:
    """Start a stack of its own (Temporal dev server, PostgreSQL, worker, bank and notification
    simulators, API), run the plan against it, stop it."""
    from jps.settings import Settings
    from tools.stack import Stack, StackOptions

    plan = plan or ChaosPlan.full()
    say = console or Console(stderr=True, soft_wrap=True)
    data_dir = Path(tempfile.mkdtemp(prefix="jps-chaos-"))
    # Always servers of its own: TEMPORAL_ADDRESS / DATABASE_URL of the caller's shell are left out.
    values = Settings().model_dump(exclude={"temporal_address", "database_url"})
    values["temporal_task_queue"] = "jps-chaos"
    settings = Settings.model_construct(**values)
    api, bank, notify, temporal, ui, metrics = _free_ports(6)
    opts = StackOptions(
        data_dir=data_dir,
        api_port=api,
        bank_port=bank,
        notify_port=notify,
        temporal_port=temporal,
        temporal_ui_port=ui,
        worker_metrics_port=metrics,
        echo=False,
    )
    policy_file = data_dir / "policies.json"
    policies = plan.write_policy_file(policy_file)
    env = {
        "JPS_BANK_TIMEOUT_S": str(CHAOS_BANK_TIMEOUT_S),
        "JPS_POLICY_FILE": str(policy_file),
        "JPS_LOG_LEVEL": os.environ.get("JPS_LOG_LEVEL", "WARNING"),
        # A group whose history stops replaying (a killed worker's sticky task) is reset within the
        # run, not after it: the report names each one reset.
        "JPS_REPLAY_RESET_EVERY_S": str(CHAOS_REPLAY_RESET_EVERY_S),
    }
    if plan.claim_lease_s is None:  # the worker's lease, as the drain waits it out
        plan = replace(plan, claim_lease_s=settings.outbox_claim_lease_s)
    env["JPS_OUTBOX_CLAIM_LEASE_S"] = str(plan.claim_lease_s)
    stack = Stack(opts, settings, Console(quiet=True))
    say.print(f"chaos: a stack of its own in {data_dir}; seed {plan.seed}", soft_wrap=True)
    try:
        with _environ(**env):
            stack.start()
            say.print(
                f"chaos: {plan.groups} groups arriving over {plan.arrival_s:.0f} s; every bank fault on, "
                f"the gateway slow; {plan.worker_kills} worker kills, {plan.postgres_restarts} PostgreSQL "
                f"and {plan.temporal_restarts} Temporal restarts",
                soft_wrap=True,
            )
            return asyncio.run(_run(stack, plan, policies, settings.temporal_task_queue, say))
    finally:
        stack.stop()
        if keep_data:
            say.print(f"chaos: data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


async def _run(stack: Any, plan: ChaosPlan, policies: Any, task_queue: str, say: Console) -> ChaosFigures:
    from infra.db import create_pool
    from infra.filestore import file_store
    from infra.payload_keys import data_converter

    started = time.monotonic()
    # The stack's own data dir: its processes seal payloads with the key generated there.
    sealing = data_converter(stack.settings.model_copy(update={"data_dir": stack.opts.data_dir}))
    # The client's own retries while Temporal restarts are expected: its core logs errors only.
    quiet = Runtime(
        telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR")))
    )
    client = await Client.connect(stack.temporal_address, data_converter=sealing, runtime=quiet)
    pool = await create_pool(stack.dsn, max_size=8)
    opts = stack.opts
    try:
        async with (
            httpx.AsyncClient(base_url=opts.url(opts.bank_port), timeout=30) as bank,
            httpx.AsyncClient(base_url=opts.url(opts.notify_port), timeout=30) as notify,
        ):
            groups = chaos_groups(plan.per_programme, run=str(int(time.time())))
            await seed.fund_budget(pool, [g.proposal for g in groups])
            (
                await bank.post("/admin/config", json={"settle_delay_ms": CHAOS_SETTLE_DELAY_MS})
            ).raise_for_status()
            (
                await bank.post("/admin/faults", json={**plan.bank_faults, "seed": plan.seed})
            ).raise_for_status()
            (await notify.post("/admin/faults", json=plan.notify_faults)).raise_for_status()
            store = file_store(stack.settings.model_copy(update={"data_dir": stack.opts.data_dir}))
            officers = Officers(client, pool, bank, policies=policies, task_queue=task_queue, store=store)
            disruptor = Disruptor(stack, client, pool, bank, time.monotonic(), random.Random(plan.seed))
            await _drive(plan, groups, officers, disruptor, say)
            return await _check(
                plan, groups, client, task_queue, pool, bank, notify, officers, disruptor, say
            )
    finally:
        await pool.close()
        log.info("chaos_done", wall_s=round(time.monotonic() - started, 1))


async def _drive(
    plan: ChaosPlan,
    groups: list[ChaosGroup],
    officers: Officers,
    disruptor: Disruptor,
    say: Console,
) -> None:
    """Groups arrive one by one and are driven while the disruptions happen."""
    t0 = disruptor.started
    deadline = t0 + plan.arrival_s + plan.wait_s
    stop = asyncio.Event()
    watchdog = asyncio.create_task(disruptor.watchdog(stop))
    disruptions = asyncio.create_task(disruptor.run(schedule(plan, disruptor.rng), plan.min_gap_s))

    async def arrive(i: int, group: ChaosGroup) -> None:
        await asyncio.sleep(i * plan.arrival_s / len(groups))
        try:
            await officers.drive(group, deadline)
        except Exception as exc:  # the group counts as stuck at the end; the others go on
            officers.figures.last_error.setdefault(group.group_id, f"{type(exc).__name__}: {exc}"[:300])
            log.warning("chaos_group_stuck", group_id=group.group_id, error=str(exc))

    async def progress() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            done = [d.describe() for d in disruptor.done]
            paid = len(officers.figures.finished_s)
            say.print(
                f"chaos: {time.monotonic() - t0:5.0f} s  paid {paid}/{len(groups)}  "
                f"disruptions {len(done)}{(': ' + done[-1]) if done else ''}",
                highlight=False,
                soft_wrap=True,
            )

    reporter = asyncio.create_task(progress())
    try:
        await asyncio.gather(*(arrive(i, g) for i, g in enumerate(groups)))
        await disruptions
    finally:
        reporter.cancel()
        disruptions.cancel()
        stop.set()
        await watchdog


SWEEP_ACTIVITY_TIMEOUT_S = 300.0  # workflows/maintenance.py, OutboxSweepWorkflow's dispatch_outbox


async def _drain_outbox(client: Client, pool: asyncpg.Pool, deadline: float) -> None:
    """Faults off: the sweep runs (triggered, as an operator would, rather than once a minute) until
    every message is out or only messages past their last attempt remain."""
    from activities.notifications import MAX_ATTEMPTS

    handle = client.get_schedule_handle(OUTBOX_SWEEP)
    while time.monotonic() < deadline:
        left = await pool.fetchval(
            f"SELECT count(*) FROM notification_outbox WHERE sent_at IS NULL AND attempts < {MAX_ATTEMPTS}"
        )
        if not left:
            return
        with contextlib.suppress(Exception):
            await handle.trigger()
        await asyncio.sleep(3.0)


async def _retrying(call: Callable[[], Any], tries: int = 10) -> Any:
    for attempt in range(tries):
        try:
            return await call()
        except lifecycle.Refusal:
            raise
        except Exception:
            if attempt == tries - 1:
                raise
            await asyncio.sleep(1.0)


async def _reset_unreadable(
    client: Client, pool: asyncpg.Pool, group_ids: list[str], say: Console
) -> set[str]:
    """The groups of `group_ids` reset to the first task their history does not replay."""
    from worker import WORKFLOWS

    replayer = replayer_of(WORKFLOWS, client.data_converter)
    found = await locked_sweep(client, pool, replayer, operator="chaos", workflow_ids=group_ids)
    outcomes = found.outcomes if found else []
    for o in outcomes:
        say.print(
            f"chaos: {o.workflow_id} unreadable: {o.action} {o.event_id or ''} {o.detail[:160]}",
            soft_wrap=True,
        )
    return {o.workflow_id for o in outcomes if o.action == "reset"}


async def _settled_state(
    officers: Officers, group: ChaosGroup, state_of: Callable[[str], Awaitable[GroupState | None]]
) -> GroupState | None:
    """A reset group's state once its officers have driven its new run to the end again (an officer's
    step the old run took after the reset point may be asked for again), within RESET_SETTLE_S."""
    try:
        await officers.resume(group, time.monotonic() + RESET_SETTLE_S)
    except Exception as exc:  # counted as stuck below, with this as its officers' last error
        officers.figures.last_error[group.group_id] = f"after its reset: {type(exc).__name__}: {exc}"[:300]
    return await state_of(group.group_id)


async def _check(
    plan: ChaosPlan,
    groups: list[ChaosGroup],
    client: Client,
    task_queue: str,
    pool: asyncpg.Pool,
    bank: httpx.AsyncClient,
    notify: httpx.AsyncClient,
    officers: Officers,
    disruptor: Disruptor,
    say: Console,
) -> ChaosFigures:
    """Faults off, the outbox drained, then every check of tools/chaos/check.py."""
    injected: dict[str, int] = (await bank.get("/admin/ledger")).json()["faults_injected"]
    slow = (await notify.get("/admin/stats")).json()
    (await bank.post("/admin/faults", json={})).raise_for_status()
    (await notify.post("/admin/faults", json={})).raise_for_status()
    # Messages a killed worker had claimed wait for its lease to expire, then the sweep sends them
    # (run_chaos gave the plan the worker's lease).
    leases_end = disruptor.last_worker_death + (plan.claim_lease_s or 0.0) + 5
    # A sweep whose activity died with the worker holds the schedule (overlaps are skipped) until
    # that activity's start-to-close timeout (OutboxSweepWorkflow: 5 minutes) lets it be retried:
    # no message is even tried meanwhile (two short runs saw 258 of 296 never tried at the 90 s mark).
    sweep_back = disruptor.last_worker_death + SWEEP_ACTIVITY_TIMEOUT_S + 10
    drain_until = max(time.monotonic() + plan.drain_s, leases_end, sweep_back)
    say.print(f"chaos: faults off; the outbox drains (up to {drain_until - time.monotonic():.0f} s)")
    await _drain_outbox(client, pool, drain_until)

    unanswered: dict[str, str] = {}

    async def state_of(gid: str) -> GroupState | None:
        try:
            state: GroupState = await _retrying(lambda: lifecycle.query_state(client, gid), tries=3)
        except Exception as exc:  # a workflow whose task keeps failing answers no query
            unanswered[gid] = f"{type(exc).__name__}: {exc}"[:300]
            return None
        return state

    states = [await state_of(g.group_id) for g in groups]
    # A group whose state query fails went through the live/replay race without a task of its own
    # failing since (the workers' sweep resets those that do): reset it as an operator would
    # (`jps reset-unreplayable --group`), and let its officers drive the new run to the end again.
    if unanswered and (reset := await _reset_unreadable(client, pool, list(unanswered), say)):
        for i, g in enumerate(groups):
            if g.group_id in reset:
                unanswered.pop(g.group_id, None)
                states[i] = await _settled_state(officers, g, state_of)
        await _drain_outbox(client, pool, time.monotonic() + plan.drain_s)  # the new runs' messages
    statement = (await bank.get("/admin/statement")).json()["items"]
    bank_pending = set()
    for state in states:
        for p in state.payments if state else []:
            resp = await bank.get(f"/admin/transfers/{p.transfer_id}")
            if resp.status_code == 200 and resp.json()["status"] == "pending":
                bank_pending.add(p.transfer_id)
    waiting = waiting_on_the_bank(states, bank_pending)
    figures = await check_exactly_once(
        pool, statement, [(g.group_id, g.proposal) for g in groups], states, waiting
    )
    for gid, note in officers.figures.notes.items():
        figures.problems.append(f"{gid}: {note}")
    for group, state in zip(groups, states, strict=True):
        if state is not None and state.stage in FINISHED:
            continue
        gid = group.group_id
        if gid in unanswered:
            figures.problems.append(f"{gid}: its state query failed: {unanswered[gid]}")
        if error := officers.figures.last_error.get(gid):
            figures.problems.append(f"{gid}: the officers' last error: {error}")
        figures.problems.append(f"{gid}: {await describe_workflow(client, gid)}")
    resets = await pool.fetch(
        "SELECT details->>'workflow_id' AS workflow_id, details->>'reset_to_event' AS event, actor,"
        " details->>'replaced_run' AS replaced_run FROM audit_log WHERE event = $1 ORDER BY id",
        RESET_EVENT,
    )
    replaced = {r["replaced_run"] for r in resets}
    figures.failed_workflows, bad = await count_bad_endings(client, replaced_runs=replaced)
    figures.problems += bad

    figures.invariants["reservations"] = await check_budget(pool, statement)
    figures.invariants["audit_chain"], audit_rows = await check_audit(pool)
    figures.invariants["reconciliation"] = await check_reconciliation(client, task_queue)
    gateway = (await notify.get("/messages")).json()["items"]
    drained, once, outbox = await check_outbox(pool, gateway)
    figures.invariants["outbox_drained"] = drained
    figures.invariants["messages_once"] = once

    done = disruptor.done
    kinds = ("worker_kill", "postgres_restart", "temporal_restart")
    figures.faults_by_mode = {mode: n for mode, n in injected.items()}
    figures.faults_by_mode |= {k: sum(d.kind == k and d.at_s is not None for d in done) for k in kinds}
    figures.faults_by_mode["slow_gateway_answer"] = slow["messages"] + slow["duplicates"]
    figures.faults = sum(figures.faults_by_mode.values())
    figures.kills_inside_batches = sum(d.kind == "worker_kill" and d.inside_batch for d in done)
    figures.wall_s = time.monotonic() - disruptor.started

    ledger = (await bank.get("/admin/ledger")).json()
    drive = officers.figures
    took = sorted(drive.finished_s.values())
    report = [f"disruption: {d.describe()}" for d in done]
    report += [f"exited on its own, started again: {e}" for e in disruptor.unexpected_exits]
    report.append(
        f"bank: {ledger['transfers']} transfers, {ledger['paid']} paid, {ledger['failed']} failed, "
        f"{ledger['pending']} pending, {ledger['duplicates_suppressed']} replays answered from its books; "
        f"callbacks {ledger['callbacks']}"
    )
    report.append(f"officers: steps {dict(drive.steps)}; refused {dict(drive.refusals)}")
    report.append(f"officers: {drive.retried_calls} calls met a fault and were tried again")
    if took:
        report.append(
            f"arrival to aid paid: median {statistics.median(took):.1f} s, "
            f"p95 {took[int(0.95 * (len(took) - 1))]:.1f} s, max {took[-1]:.1f} s"
        )
    report.append(
        f"notifications: {outbox['outbox']} in the outbox, {outbox['gateway']} at the gateway, "
        f"{slow['duplicates']} resends of a message it had (stored once); audit chain {audit_rows} rows"
    )
    events = dict(
        await pool.fetch(
            "SELECT event, count(*) FROM audit_log WHERE event = ANY($1::text[]) GROUP BY event",
            ["payment_investigation_opened", "payment_resolved", "payment_retry", "bank_account_updated"],
        )
    )
    report.append(f"audit events of the bank's troubles: {events or 'none'}")
    report.append(f"waiting on the bank, visibly: {len(waiting)} groups")
    report.append(
        "reset, their history no fresh worker could replay (by the workers' sweep, or by the run's end"
        " for a group whose state could not be read): "
        + (", ".join(f"{r['workflow_id']} at event {r['event']} ({r['actor']})" for r in resets) or "none")
    )
    figures.report = report
    return figures
