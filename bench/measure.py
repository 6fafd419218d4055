"""What the bench measures besides its own requests: the stack's processes (CPU seconds, peak memory),
latency percentiles, the machine, PostgreSQL's rows and size. Temporal's side (histories, the
worker's metrics) is `bench.temporal_figures`."""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psutil

MB = 1024 * 1024


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (nearest rank, 0 < q <= 100); None without values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(samples_ms: list[float]) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return {
        "n": len(samples_ms),
        "p50_ms": r(percentile(samples_ms, 50)),
        "p95_ms": r(percentile(samples_ms, 95)),
        "p99_ms": r(percentile(samples_ms, 99)),
        "max_ms": r(max(samples_ms) if samples_ms else None),
    }


# ---- processes -----------------------------------------------------------------------------------


def _own_cpu(proc: psutil.Process) -> float:
    """CPU seconds of the process and its already reaped children."""
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class _Tracked:
    roots: list[int]
    recursive: bool = True  # with descendants (not for the bench itself: the stack is its children)
    cpu_start: float = 0.0
    cpu_last: float = 0.0
    peak_rss: int = 0


class ProcessSampler:
    """Samples named groups of processes (each a list of root pids and their descendants) every
    `interval` seconds on a thread: CPU seconds between `start()` and `stop()`, peak memory.

    Memory of a group is the sum over its processes of their private resident memory plus the
    largest shared part once (PostgreSQL's backends all map the same shared buffers)."""

    def __init__(
        self, groups: dict[str, list[int]], interval: float = 0.5, shallow: frozenset[str] = frozenset()
    ) -> None:
        self.tracked = {
            name: _Tracked(roots, recursive=name not in shallow) for name, roots in groups.items()
        }
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy_start = 0.0
        self._wall_start = 0.0
        self.machine: dict[str, float] = {}

    def _sample(self, t: _Tracked) -> tuple[float, int]:
        # A root's CPU includes its reaped children's (PostgreSQL's postmaster reaps its backends),
        # so a backend that exits between samples is still counted.
        cpu, private, shared_max = 0.0, 0, 0
        for pid in t.roots:
            try:
                root = psutil.Process(pid)
                procs = [root, *(root.children(recursive=True) if t.recursive else [])]
            except psutil.Error:
                continue
            for i, p in enumerate(procs):
                try:
                    if i == 0:
                        c = _own_cpu(p) if t.recursive else sum(p.cpu_times()[:2])
                    else:
                        c = sum(p.cpu_times()[:2])
                    mem = p.memory_info()
                except psutil.Error:
                    continue
                cpu += c
                private += max(0, mem.rss - getattr(mem, "shared", 0))
                shared_max = max(shared_max, getattr(mem, "shared", 0))
        return cpu, private + shared_max

    def sample_once(self) -> None:
        for t in self.tracked.values():
            cpu, mem = self._sample(t)
            t.cpu_last = cpu
            t.peak_rss = max(t.peak_rss, mem)

    @staticmethod
    def _machine_busy() -> float:
        t = psutil.cpu_times()  # guest time is already part of user time on Linux
        return sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))

    def start(self) -> None:
        self._busy_start = self._machine_busy()
        self._wall_start = time.monotonic()
        for t in self.tracked.values():
            cpu, mem = self._sample(t)
            t.cpu_start = t.cpu_last = cpu
            t.peak_rss = mem
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample_once()

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.sample_once()
        out: dict[str, dict[str, float]] = {
            name: {"cpu_s": round(t.cpu_last - t.cpu_start, 1), "peak_mb": round(t.peak_rss / MB, 1)}
            for name, t in self.tracked.items()
        }
        # Everything else the machine ran meanwhile (other users' jobs): the bench's figures are only
        # as good as the machine was quiet.
        busy = self._machine_busy() - self._busy_start
        ours = sum(v["cpu_s"] for v in out.values())
        wall = time.monotonic() - self._wall_start
        out["other_processes"] = {"cpu_s": round(max(0.0, busy - ours), 1), "peak_mb": 0.0}
        self.machine = {
            "wall_s": round(wall, 1),
            "busy_cpu_s": round(busy, 1),
            "cores_busy_mean": round(busy / wall, 2) if wall else 0.0,
        }
        return out


def postgres_pid(pg_dir: Path) -> int | None:
    try:
        return int((pg_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


# ---- the machine -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        temporal = subprocess.run(
            [_temporal_cli(), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        temporal = "unknown"
    from importlib.metadata import version

    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "temporalio": version("temporalio"),
        "temporal_cli": temporal,
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _temporal_cli() -> str:
    from infra.embedded import temporal_cli_path

    return temporal_cli_path()


# ---- PostgreSQL ---------------------------------------------------------------------------------------

TABLES = (
    "groups",
    "members",
    "stage_transitions",
    "audit_log",
    "notification_outbox",
    "payments",
    "budget_reservations",
    "budget_allocations",
    # Padat Karya paid by muster rolls (issue 13): the weekly rolls, their entries and photos, the wages
    "muster_rolls",
    "muster_entries",
    "wage_lines",
    "files",
)


async def postgres_figures(pool: asyncpg.Pool) -> dict[str, Any]:
    rows: dict[str, int] = {}
    sizes: dict[str, float] = {}
    for table in TABLES:
        rows[table] = await pool.fetchval(f"SELECT count(*) FROM {table}")
        sizes[table] = round(
            await pool.fetchval("SELECT pg_total_relation_size($1::regclass)", table) / MB, 2
        )
    return {
        "rows": rows,
        "table_mb": sizes,
        "database_mb": round(await pool.fetchval("SELECT pg_database_size(current_database())") / MB, 1),
    }


async def stage_throughput(pool: asyncpg.Pool) -> dict[str, Any]:
    """Per stage entered: how many groups, over how long (first to last entry), groups per second,
    and the median time groups spent in the stage before (from the previous entry)."""
    records = await pool.fetch(
        """WITH t AS (
             SELECT group_id, to_stage, at,
                    at - lag(at) OVER (PARTITION BY group_id ORDER BY seq) AS dwell
               FROM stage_transitions)
           SELECT to_stage, count(*) AS n, min(at) AS first, max(at) AS last,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM dwell)) AS dwell_p50
             FROM t GROUP BY to_stage"""
    )
    out: dict[str, Any] = {}
    for r in records:
        span = (r["last"] - r["first"]).total_seconds()
        out[r["to_stage"]] = {
            "groups": r["n"],
            "span_s": round(span, 1),
            "groups_per_s": round(r["n"] / span, 2) if span > 0 else None,
            "median_s_in_previous_stage": None if r["dwell_p50"] is None else round(r["dwell_p50"], 1),
        }
    return out


class LockSampler:
    """Samples PostgreSQL's client backends: how many wait on the audit chain's advisory lock."""

    def __init__(self, dsn: str, interval: float = 0.25) -> None:
        self.dsn = dsn
        self.interval = interval
        self.samples: list[tuple[int, int]] = []  # (waiting on an advisory lock, active)

    async def run(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not stop.is_set():
                row = await conn.fetchrow(
                    """SELECT count(*) FILTER (WHERE wait_event = 'advisory') AS advisory,
                              count(*) FILTER (WHERE state = 'active') - 1 AS active
                         FROM pg_stat_activity WHERE backend_type = 'client backend'"""
                )
                self.samples.append((row["advisory"], row["active"]))
                try:
                    await asyncio.wait_for(stop.wait(), self.interval)
                except TimeoutError:
                    pass
        finally:
            await conn.close()

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {"samples": 0}
        waiting = [w for w, _ in self.samples]
        active = [a for _, a in self.samples]
        return {
            "samples": len(self.samples),
            "advisory_waiters_mean": round(statistics.fmean(waiting), 2),
            "advisory_waiters_max": max(waiting),
            "share_of_samples_with_waiters": round(sum(1 for w in waiting if w) / len(waiting), 3),
            "active_backends_mean": round(statistics.fmean(active), 2),
        }


async def audit_events(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT event, count(*) AS n FROM audit_log GROUP BY event ORDER BY event")
    return {r["event"]: r["n"] for r in rows}
