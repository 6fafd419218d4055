"""The bare-Temporal skeleton: what the dev server on this machine can do with no product around it.

A `SkeletonWorkflow` has no domain logic. Per group it performs the Temporal work that a real
group's recorded history shows (counted in the same run by `temporal_figures.history_profile`):

- `local_activities` no-op local activities: one at registration, one in each officer update (as
  the real steps are recorded by the `record_step` local activity since smaller-history-v1), the
  rest in the main loop; while there are none (a plan from before), ordinary activities do this;
- `activities` no-op activities: the real automated disbursement work (budget, the bank), in the
  main loop;
- `updates` workflow updates: the registration update-with-start, then one per officer step, each
  awaited by its caller like an officer's HTTP request;
- `timers` timers: each wait for an officer step starts a reminder timer that the step cancels, as
  the real task waits do; timers the waits did not use run out at the end;
- `signals` signals: the bank's callbacks (the real API turns each into a signal).

The driver (`run_skeleton`) talks to Temporal directly, `concurrency` groups at a time, and the
worker (`python -m bench.skeleton worker`) is tuned like the product's worker and uses the same
data converter, so the only difference left is the product itself.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Callable
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

SKELETON_QUEUE = "jps-bench-skeleton"
REMINDER = timedelta(hours=1)  # never fires: cancelled by the step it waits for
ACTIVITY_TIMEOUT = timedelta(seconds=30)


class SkeletonPlan(BaseModel):
    """Temporal work per group: counts taken from a real group's history."""

    activities: int
    local_activities: int = 0  # recorded as markers (the product records its steps this way)
    updates: int  # the registration update included
    timers: int
    signals: int = 0


@activity.defn(name="skeleton_step")
async def skeleton_step(n: int) -> int:
    return n


@workflow.defn(name="SkeletonWorkflow")
class SkeletonWorkflow:
    @workflow.init
    def __init__(self, plan: SkeletonPlan) -> None:
        self.plan = plan
        self.is_registered = False
        self.steps = 0
        self.signals = 0
        self.timers_left = plan.timers
        self.activities_run = 0
        self.local_run = 0

    @workflow.run
    async def run(self, plan: SkeletonPlan) -> int:
        await self._record()
        self.is_registered = True
        for i in range(1, plan.updates):
            await self._wait(lambda i=i: self.steps >= i)  # type: ignore[misc]
        while self.activities_run < plan.activities:
            await self._activity()
        while self.local_run < plan.local_activities:
            await self._record()
        await self._wait(lambda: self.signals >= plan.signals)
        while self.timers_left > 0:
            self.timers_left -= 1
            await workflow.sleep(timedelta(milliseconds=10))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.activities_run

    async def _activity(self) -> None:
        self.activities_run += 1
        await workflow.execute_activity(
            skeleton_step, self.activities_run, start_to_close_timeout=ACTIVITY_TIMEOUT
        )

    async def _record(self) -> None:
        """A step's record: a local activity while the plan has them (as the product records its
        steps), else an ordinary one."""
        if self.local_run >= self.plan.local_activities:
            await self._activity()
            return
        self.local_run += 1
        await workflow.execute_local_activity(
            skeleton_step, self.local_run, start_to_close_timeout=ACTIVITY_TIMEOUT
        )

    async def _wait(self, done: Callable[[], bool]) -> None:
        if done():
            return
        if self.timers_left > 0:
            self.timers_left -= 1
            try:
                await workflow.wait_condition(done, timeout=REMINDER)
                return
            except TimeoutError:
                pass
        await workflow.wait_condition(done)

    @workflow.update
    async def registered(self) -> bool:
        await workflow.wait_condition(lambda: self.is_registered)
        return True

    @workflow.update
    async def step(self, n: int) -> int:
        await self._record()
        self.steps += 1
        return self.steps

    @workflow.signal
    def callback(self, n: int) -> None:
        self.signals += 1


def skeleton_worker(client: Client, task_queue: str = SKELETON_QUEUE) -> Worker:
    """Tuned like worker.py's Worker (activity slots), so only the product differs."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[SkeletonWorkflow],
        activities=[skeleton_step],
        max_concurrent_activities=100,
        graceful_shutdown_timeout=timedelta(seconds=5),
    )


async def drive_group(client: Client, workflow_id: str, plan: SkeletonPlan, task_queue: str) -> None:
    start = WithStartWorkflowOperation(
        SkeletonWorkflow.run,
        plan,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await client.execute_update_with_start_workflow(
        SkeletonWorkflow.registered, start_workflow_operation=start
    )
    handle = await start.workflow_handle()
    for i in range(1, plan.updates):
        await handle.execute_update(SkeletonWorkflow.step, i)
    for i in range(plan.signals):
        await handle.signal(SkeletonWorkflow.callback, i)
    await handle.result()


class SkeletonResult(BaseModel):
    groups: int
    wall_s: float
    groups_per_s: float
    failed: int
    concurrency: int
    failures: list[str] = []


async def run_skeleton(
    client: Client,
    plans: list[SkeletonPlan],
    *,
    run_id: str,
    concurrency: int = 200,
    task_queue: str = SKELETON_QUEUE,
) -> SkeletonResult:
    """Drive one skeleton workflow per plan, `concurrency` at a time; groups per second over the
    whole phase (first start to last completion)."""
    gate = asyncio.Semaphore(concurrency)
    failures: list[str] = []

    async def one(i: int, plan: SkeletonPlan) -> None:
        async with gate:
            try:
                await drive_group(client, f"skeleton-{run_id}-{i:05d}", plan, task_queue)
            except Exception as exc:  # counted and shown, never hidden: the limit must be honest
                failures.append(f"{i}: {type(exc).__name__}: {exc} {exc.__cause__ or ''}"[:300])

    started = time.perf_counter()
    await asyncio.gather(*(one(i, p) for i, p in enumerate(plans)))
    wall = time.perf_counter() - started
    done = len(plans) - len(failures)
    return SkeletonResult(
        groups=done,
        wall_s=round(wall, 3),
        groups_per_s=round(done / wall, 3) if wall else 0.0,
        failed=len(failures),
        concurrency=concurrency,
        failures=failures[:10],
    )


async def _serve(address: str, namespace: str, task_queue: str, metrics_port: int | None) -> None:
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    from infra.payload_keys import data_converter
    from jps.settings import get_settings

    # Metrics on, as in worker.py: the same telemetry cost, and the same figures to compare.
    runtime = None
    if metrics_port:
        bind = f"127.0.0.1:{metrics_port}"
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))
    client = await Client.connect(
        address, namespace=namespace, data_converter=data_converter(get_settings()), runtime=runtime
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with skeleton_worker(client, task_queue):
        print(f"skeleton worker polling {task_queue} at {address}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.skeleton")
    parser.add_argument("command", choices=["worker"])
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", default=SKELETON_QUEUE)
    parser.add_argument("--metrics-port", type=int, default=None)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.address, args.namespace, args.task_queue, args.metrics_port))


if __name__ == "__main__":
    main()
