"""The disruptions of a chaos run, on its own stack (tools/stack.py): the worker killed with SIGKILL
and started again, PostgreSQL restarted on the same data, the Temporal dev server restarted on the
same database file. Their moments are drawn from the run's seed, one per slot of the plan's window,
so they are spread over the run; some worker kills first wait for a payment batch on the wire (the
bank receiving transfers that very moment, our ledger holding pending payments).

A watchdog stands in for the process supervisor a deployment has: a child of the stack that exits on
its own (a worker that cannot reach PostgreSQL while it restarts, say) is started again, and noted.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
import httpx
import structlog
from temporalio.client import Client

from tools.chaos.plan import ChaosPlan

log = structlog.get_logger()

Kind = Literal["worker_kill", "postgres_restart", "temporal_restart"]
BATCH_WAIT_S = 30.0  # how long a kill meant for a payment batch waits for one


@dataclass
class Disruption:
    kind: Kind
    planned_s: float  # from the first transfer the bank received
    wait_for_batch: bool = False
    at_s: float | None = None  # when it happened
    inside_batch: bool = False  # the bank was receiving transfers at that moment
    pending_payments: int = 0  # our ledger's pending payments at that moment
    back_after_s: float = 0.0  # until the restarted part answered again
    error: str = ""

    def describe(self) -> str:
        if self.at_s is None:
            return f"{self.kind} planned at {self.planned_s:.0f} s: not done ({self.error})"
        where = ""
        if self.kind == "worker_kill":
            where = " inside a payment batch" if self.inside_batch else " between batches"
            where += f" ({self.pending_payments} payments pending)"
        return f"{self.kind} at {self.at_s:.1f} s{where}, back after {self.back_after_s:.1f} s"


def schedule(plan: ChaosPlan, rng: random.Random) -> list[Disruption]:
    """One disruption per slot of [disrupt_from_s, disrupt_until_s], kinds shuffled."""
    counts: dict[Kind, int] = {
        "worker_kill": plan.worker_kills,
        "postgres_restart": plan.postgres_restarts,
        "temporal_restart": plan.temporal_restarts,
    }
    kinds = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    slot = (plan.disrupt_until_s - plan.disrupt_from_s) / max(1, len(kinds))
    out = [
        Disruption(kind, plan.disrupt_from_s + i * slot + rng.uniform(0.1, 0.9) * slot)
        for i, kind in enumerate(kinds)
    ]
    kills = [d for d in out if d.kind == "worker_kill"]
    for d in rng.sample(kills, min(plan.kills_in_batch, len(kills))):
        d.wait_for_batch = True
    return out


@dataclass
class Disruptor:
    stack: Any  # tools.stack.Stack (started)
    client: Client
    pool: asyncpg.Pool
    bank_admin: httpx.AsyncClient
    started: float  # time.monotonic() of the run's start
    rng: random.Random
    done: list[Disruption] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    last_worker_death: float = 0.0  # time.monotonic() of the last kill (or exit) of the worker
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _now(self) -> float:
        return time.monotonic() - self.started

    async def run(self, plan: list[Disruption], min_gap_s: float) -> None:
        """Wait for the first transfer at the bank, then disrupt as planned, one at a time."""
        while True:
            if await self._bank_moves():
                break
            await asyncio.sleep(0.2)
        paying = time.monotonic()
        last = 0.0
        for d in plan:
            due = max(paying + d.planned_s, last + min_gap_s)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            try:
                await self._disrupt(d)
            except Exception as exc:  # the run goes on; the report says what did not happen
                d.error = f"{type(exc).__name__}: {exc}"
                log.warning("chaos_disruption_failed", kind=d.kind, error=d.error)
            self.done.append(d)
            last = time.monotonic()

    async def _disrupt(self, d: Disruption) -> None:
        on_the_wire = False
        if d.wait_for_batch:
            until = time.monotonic() + BATCH_WAIT_S
            # Each look at the bank lasts its window: the loop waits by looking, there is no event.
            while time.monotonic() < until and not on_the_wire:
                on_the_wire = await self._batch_on_the_wire()
        elif d.kind == "worker_kill":
            on_the_wire = await self._batch_on_the_wire()
        async with self._lock:
            d.inside_batch = d.kind == "worker_kill" and on_the_wire
            d.at_s = self._now()
            d.pending_payments = await self._pending_payments()
            log.warning("chaos_disruption", kind=d.kind, at_s=round(d.at_s, 1), inside_batch=d.inside_batch)
            back = time.monotonic()
            if d.kind == "worker_kill":
                down = self.rng.uniform(0.5, 3.0)
                self.last_worker_death = time.monotonic()
                await asyncio.to_thread(self.stack.restart_child, "worker", signal.SIGKILL, down)
            elif d.kind == "postgres_restart":
                await asyncio.to_thread(self.stack.restart_postgres)
                await self._until(lambda: self.pool.fetchval("SELECT 1"))
            else:
                await asyncio.to_thread(self.stack.restart_temporal)
                await self._until(self.client.count_workflows)
            d.back_after_s = time.monotonic() - back

    async def _until(self, probe: Any, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                await asyncio.wait_for(probe(), 5)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _bank_moves(self) -> int:
        ledger = (await self.bank_admin.get("/admin/ledger")).json()
        moves: int = ledger["transfers"] + ledger["duplicates_suppressed"]
        return moves

    async def _batch_on_the_wire(self, window_s: float = 0.15) -> bool:
        """The bank is receiving transfers right now."""
        try:
            before = await self._bank_moves()
            await asyncio.sleep(window_s)
            return await self._bank_moves() > before
        except httpx.HTTPError:
            return False

    async def _pending_payments(self) -> int:
        try:
            n: int = await self.pool.fetchval("SELECT count(*) FROM payments WHERE status = 'pending'")
            return n
        except Exception:  # PostgreSQL restarting
            return -1

    async def watchdog(self, stop: asyncio.Event) -> None:
        """Start again any part of the stack that exited on its own (what a supervisor would do)."""
        while not stop.is_set():
            async with self._lock:
                temporal = self.stack.temporal
                if temporal is not None and temporal.exited() is not None:
                    self.unexpected_exits.append(
                        f"temporal exited ({temporal.exited()}) at {self._now():.0f} s"
                    )
                    await asyncio.to_thread(self.stack.restart_temporal)
                for child in list(self.stack.children):
                    code = child.exited()
                    if code is not None:
                        tail = " | ".join(list(child.tail)[-3:])[:400]
                        self.unexpected_exits.append(
                            f"{child.name} exited ({code}) at {self._now():.0f} s: {tail}"
                        )
                        log.warning("chaos_child_exited", child=child.name, code=code)
                        if child.name == "worker":
                            self.last_worker_death = time.monotonic()
                        await asyncio.to_thread(self.stack.restart_child, child.name, signal.SIGKILL, 1.0)
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
