"""The bench's own stack: `tools.stack.Stack` (Temporal dev server, embedded PostgreSQL, worker,
simulators, API) on free ports under the run's data dir, with the compressed policies; the extra
lifecycle workers and the skeleton's workers beside it; the pids the samplers watch.

Programme policies are the defaults compressed so that a day lasts `seconds_per_day` seconds
(`JPS_POLICY_FILE`), except the bank poll: a compressed 10 minutes would poll before every callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.config import BenchConfig
from bench.measure import postgres_pid
from bench.rolls import wage_policy
from bench.skeleton import SKELETON_QUEUE
from jps.domain.programs import compressed_policies
from jps.settings import Settings


def free_ports(count: int) -> list[int]:
    """Free ports below the kernel's ephemeral range: the Temporal dev server binds several internal
    ports from that range as it starts, and one of them must not be a port we handed a child."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(max(10000, low - 20000), low)
        if port in ports:
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    return ports


def policy_overrides(
    seconds_per_day: float, bank_poll_after_s: float, wage_weeks: int | None = None
) -> dict[str, Any]:
    """The compressed policies as a `JPS_POLICY_FILE` document (durations in seconds, at any depth:
    the SLAs, the mentoring interval, the LPJ's due date and whatever a policy nests next), with a
    Padat Karya work period of `wage_weeks` weeks of five workdays when given."""
    doc: dict[str, Any] = {}
    for program, policy in compressed_policies(seconds_per_day).items():
        data = _in_seconds(policy.model_dump(mode="python"))
        data.pop("program")
        data["bank_poll_after"] = bank_poll_after_s
        wages = wage_policy(wage_weeks) if wage_weeks is not None else None
        if wages is not None and data.get("wages") is not None:
            data["wages"]["planned_workdays"] = wages.planned_workdays
        doc[program.value] = data
    return doc


def _in_seconds(value: Any) -> Any:
    """A dumped policy with every timedelta as seconds and every enum key as its value."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {getattr(k, "value", k): _in_seconds(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_seconds(v) for v in value]
    return value


@contextlib.contextmanager
def _environment(overrides: dict[str, str], remove: tuple[str, ...]) -> Iterator[None]:
    saved = dict(os.environ)
    for var in remove:
        os.environ.pop(var, None)
    os.environ.update(overrides)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class BenchStack:
    """One run's servers. After `start`: `settings`, `child_env`, `api_url`, `temporal_address`,
    `dsn` and the workers' metrics ports."""

    def __init__(self, cfg: BenchConfig, data_dir: Path, say: Callable[[str], None]) -> None:
        self.cfg = cfg
        self.data_dir = data_dir
        self.say = say
        self.stack: Any = None  # tools.stack.Stack, once built
        self.metrics_ports: list[int] = []
        self.skeleton_metrics_ports: list[int] = []

    @property
    def built(self) -> bool:
        return self.stack is not None

    @property
    def children(self) -> list[Any]:
        children: list[Any] = self.stack.children
        return children

    def start(self) -> None:
        from tools.processes import Child
        from tools.stack import Stack, StackOptions

        cfg = self.cfg
        self.data_dir.mkdir(parents=True, exist_ok=True)
        policy_file = self.data_dir / "policies.json"
        policy_file.write_text(
            json.dumps(policy_overrides(cfg.seconds_per_day, cfg.bank_poll_after_s, cfg.wage_weeks), indent=2)
        )
        ports = free_ports(6 + cfg.workers)
        options = StackOptions(
            data_dir=self.data_dir,
            api_port=ports[0],
            bank_port=ports[1],
            notify_port=ports[2],
            temporal_port=ports[3],
            temporal_ui_port=ports[4],
            worker_metrics_port=ports[5],
            echo=False,
            ready_timeout=120,
        )
        # The bench always runs its own servers with its own policies: the stack and its children
        # read this environment while they start; the bench's own process gets its environment back.
        overrides = {"JPS_POLICY_FILE": str(policy_file), "JPS_LOG_LEVEL": cfg.log_level}
        remove: tuple[str, ...] = ("TEMPORAL_ADDRESS", "DATABASE_URL", "TEMPORAL_UI_URL")
        if cfg.write_bytecode is True:
            remove += ("PYTHONDONTWRITEBYTECODE",)
        elif cfg.write_bytecode is False:
            overrides["PYTHONDONTWRITEBYTECODE"] = "1"
        with _environment(overrides, remove=remove):
            self.settings = Settings()
            self.stack = Stack(options, self.settings, Console(quiet=True))
            self.say(f"starting the stack in {self.data_dir} (API {options.url(options.api_port)})")
            self.stack.start()
            self.child_env: dict[str, str] = self.stack._child_env()
        for i in range(1, cfg.workers):
            env = {**self.child_env, "JPS_WORKER_METRICS_PORT": str(ports[5 + i])}
            child = Child(
                f"worker{i + 1}",
                [sys.executable, "worker.py"],
                env,
                options.logs_dir / f"worker{i + 1}.log",
                echo=False,
            )
            child.start(self.stack.console)
            self.stack.children.append(child)
        self.metrics_ports = ports[5 : 5 + cfg.workers]
        self.api_url: str = options.url(options.api_port)
        self.temporal_address: str = self.stack.temporal_address
        self.dsn: str = self.stack.dsn

    def stop(self) -> None:
        self.stack.stop()

    def lifecycle_workers(self) -> list[Any]:
        return [c for c in self.children if c.name.startswith("worker")]

    def process_groups(self, workers: list[Any]) -> dict[str, list[int]]:
        stack = self.stack
        by_name = {c.name: c.pid for c in stack.children if c.pid}
        groups: dict[str, list[int]] = {
            "temporal": [stack.temporal.pid],
            "api": [by_name["api"]],
            "bank": [by_name["bank"]],
            "notify": [by_name["notify"]],
            "bench": [os.getpid()],
        }
        pg = postgres_pid(stack.opts.pg_dir)
        if pg:
            groups["postgres"] = [pg]
        for i, child in enumerate(workers):
            groups[f"worker{i + 1}"] = [child.pid]
        return groups

    def start_skeleton_workers(self) -> list[Any]:
        from tools.processes import Child

        children = []
        self.skeleton_metrics_ports = free_ports(self.cfg.workers)
        for i in range(self.cfg.workers):
            argv = [
                sys.executable,
                "-m",
                "bench.skeleton",
                "worker",
                "--address",
                self.temporal_address,
                "--task-queue",
                SKELETON_QUEUE,
                "--metrics-port",
                str(self.skeleton_metrics_ports[i]),
            ]
            child = Child(
                f"skeleton{i + 1}",
                argv,
                self.child_env,
                self.stack.opts.logs_dir / f"skeleton{i + 1}.log",
                echo=False,
            )
            child.start(self.stack.console)
            self.stack.children.append(child)
            children.append(child)
        return children


async def wait_pollers(client: Any, task_queue: str, expected: int, within_s: float = 60) -> None:
    """Until `expected` distinct workers poll the task queue (the skeleton's, before it starts)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if len({p.identity for p in resp.pollers}) >= expected:
            return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"no skeleton worker polls {task_queue} after {within_s:.0f} s")
