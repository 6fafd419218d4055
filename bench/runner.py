"""The bench run: a stack of its own, the cohort through the whole lifecycle, the skeleton, the figures.

Phases, all on one stack (`tools.stack.Stack`: Temporal dev server with its WAL pragmas, embedded
PostgreSQL, worker(s), simulators, API), started on free ports under `.data/bench-<timestamp>`:

1. lifecycle: fund the budget, upload the cohort (`POST /groups/import`), and let the simulated
   officers drive every group to completed while dashboard readers read;
2. reads at rest: each read endpoint probed with the whole cohort loaded and nothing else running;
3. histories: a sample of real groups' Temporal histories gives the skeleton its counts;
4. skeleton: as many bare-Temporal groups as real ones, against the same dev server, with as many
   skeleton worker processes as the lifecycle had workers.

Programme policies are the defaults compressed so that a day lasts `seconds_per_day` seconds
(`JPS_POLICY_FILE`), except the bank poll: a compressed 10 minutes would poll before every callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog
from rich.console import Console

from bench import cohort as cohort_mod
from bench.measure import (
    LockSampler,
    ProcessSampler,
    audit_events,
    history_profile,
    latency_summary,
    machine,
    postgres_figures,
    postgres_pid,
    stage_throughput,
    worker_metrics,
)
from bench.officers import Reader, SimulatedOfficer, Team, plan_officers
from bench.skeleton import SKELETON_QUEUE, SkeletonPlan, run_skeleton
from infra import lifecycle
from jps.domain.programs import Program, compressed_policies
from jps.settings import PROJECT_ROOT, Settings

log = structlog.get_logger()

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
REGISTRAR_ID = "bench-registrar"
TERMINAL = ("completed", "rejected", "cancelled")


@dataclass
class BenchConfig:
    scale: float = 1.0
    officers: int = 50
    workers: int = 1
    out: Path | None = None
    groups: int | None = None  # overrides scale: this many groups in the cohort's proportion
    seconds_per_day: float = 60.0
    bank_poll_after_s: float = 30.0
    skeleton_groups: int | None = None  # default: as many as the lifecycle ran
    skeleton_concurrency: int = 200
    readers: int = 2
    idle_poll_s: float = 5.0  # an officer with an empty inbox looks again after this long
    probe_per_endpoint: int = 100
    timeout_s: float = 3600.0
    data_dir: Path | None = None
    keep_data: bool = False
    log_level: str = "INFO"
    # None: the stack's processes inherit PYTHONDONTWRITEBYTECODE; True: they may cache bytecode.
    # It matters: the workflow sandbox re-imports the workflow module for every workflow instance.
    write_bytecode: bool | None = None
    console: Console = field(default_factory=lambda: Console(stderr=True))


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


def policy_overrides(seconds_per_day: float, bank_poll_after_s: float) -> dict[str, Any]:
    """The compressed policies as a `JPS_POLICY_FILE` document (durations in seconds)."""
    doc: dict[str, Any] = {}
    for program, policy in compressed_policies(seconds_per_day).items():
        data = policy.model_dump(mode="python")
        data.pop("program")
        for key, value in list(data.items()):
            if isinstance(value, timedelta):
                data[key] = value.total_seconds()
        data["sla"] = {k.value: v.total_seconds() for k, v in policy.sla.items()}
        data["mentoring"]["interval"] = policy.mentoring.interval.total_seconds()
        data["bank_poll_after"] = bank_poll_after_s
        doc[program.value] = data
    return doc


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


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


# ---------------------------------------------------------------------------------------------------


class BenchRun:
    def __init__(self, config: BenchConfig) -> None:
        self.cfg = config
        self.console = config.console
        self.stamp = _timestamp()
        self.data_dir = (config.data_dir or PROJECT_ROOT / ".data" / f"bench-{self.stamp}").resolve()
        self.result: dict[str, Any] = {}
        self.stack: Any = None
        self.worker_children: list[Any] = []

    def say(self, message: str) -> None:
        self.console.print(f"[bold cyan]bench[/bold cyan] {message}", highlight=False)

    # -- the stack ------------------------------------------------------------------------------
    def _start_stack(self) -> None:
        from tools.stack import Child, Stack, StackOptions

        cfg = self.cfg
        self.data_dir.mkdir(parents=True, exist_ok=True)
        policy_file = self.data_dir / "policies.json"
        policy_file.write_text(
            json.dumps(policy_overrides(cfg.seconds_per_day, cfg.bank_poll_after_s), indent=2)
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
            self.child_env = self.stack._child_env()
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
        self.api_url = options.url(options.api_port)
        self.temporal_address = self.stack.temporal_address
        self.dsn = self.stack.dsn

    def _process_groups(self, workers: list[Any]) -> dict[str, list[int]]:
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

    def _start_skeleton_workers(self) -> list[Any]:
        from tools.stack import Child

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

    # -- the run ----------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        ok = False
        try:
            self._start_stack()
            self.result = asyncio.run(self._phases())
            ok = True
        finally:
            if self.stack is not None:
                self.say("stopping the stack")
                with contextlib.suppress(Exception):
                    self.stack.stop()
            if ok and not self.cfg.keep_data:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            elif not ok:
                self.say(f"data and logs kept in {self.data_dir}")
        return self.result

    async def _phases(self) -> dict[str, Any]:
        from infra.db import create_pool
        from infra.temporal import connect
        from tools.seed import fund_budget

        cfg = self.cfg
        counts = cohort_mod.counts_for(cfg.scale, cfg.groups)
        groups = cohort_mod.build(counts)
        n_groups = len(groups)
        people = sum(len(g.proposal.members) for g in groups)
        self.say(
            f"cohort: {n_groups} groups ({counts[Program.TKM]} TKM, {counts[Program.PADAT_KARYA]} "
            f"Padat Karya), {people} people; {cfg.officers} officers, {cfg.workers} worker(s)"
        )
        csv_bytes = cohort_mod.to_csv(groups)
        ids = {
            g.ref: lifecycle.group_id_for(
                g.proposal, lifecycle.idempotent_suffix(REGISTRAR_ID, f"import:{g.ref}")
            )
            for g in groups
        }
        niks = {ids[g.ref]: g.niks for g in groups}
        program_of = {ids[g.ref]: g.proposal.program for g in groups}

        pool = await create_pool(self.dsn, max_size=4)
        client = await connect(self.settings.model_copy(update={"temporal_address": self.temporal_address}))
        await fund_budget(pool, [g.proposal for g in groups])
        workers = [c for c in self.stack.children if c.name.startswith("worker")]
        limits = httpx.Limits(max_connections=cfg.officers + cfg.readers + 10)
        async with httpx.AsyncClient(base_url=self.api_url, timeout=120, limits=limits) as http:
            team = Team(http=http, niks=niks, secret=self.settings.jwt_secret, idle_poll_s=cfg.idle_poll_s)

            # -- 1. lifecycle ---------------------------------------------------------------------
            sampler = ProcessSampler(self._process_groups(workers), shallow=frozenset({"bench"}))
            sampler.start()
            wal_start = await pool.fetchval("SELECT pg_current_wal_lsn()")
            locks = LockSampler(self.dsn)
            lock_stop = asyncio.Event()
            lock_task = asyncio.create_task(locks.run(lock_stop))
            started_at = datetime.now(UTC)
            t0 = time.perf_counter()
            officers = [SimulatedOfficer(spec, team) for spec in plan_officers(cfg.officers)]
            officer_tasks = [asyncio.create_task(o.run()) for o in officers]
            job = await self._import(http, team, csv_bytes)
            import_s = time.perf_counter() - t0
            created = {r["group_ref"]: r["group_id"] for r in job["results"] if r.get("group_id")}
            mismatched = [ref for ref, gid in created.items() if ids.get(ref) != gid]
            if mismatched:
                team.stats.error(f"{len(mismatched)} imported group ids differ from the expected ones")
            self.say(
                f"imported {job['created']} groups in {import_s:.1f} s "
                f"({job['created'] / import_s:.1f} groups/s); officers at work"
            )
            read_stop = asyncio.Event()
            readers = [Reader(team, list(niks), rng=random.Random(i)) for i in range(cfg.readers)]
            reader_tasks = [asyncio.create_task(r.run(read_stop)) for r in readers]
            finished = await self._wait_done(pool, n_groups, t0)
            team.stop.set()
            read_stop.set()
            lock_stop.set()
            await asyncio.gather(*officer_tasks, *reader_tasks, lock_task, return_exceptions=True)
            processes = sampler.stop()
            machine_cpu = sampler.machine
            lifecycle_metrics = [
                await worker_metrics(f"http://127.0.0.1:{p}/metrics") for p in self.metrics_ports
            ]
            ended = await pool.fetchval("SELECT max(closed_at) FROM groups")
            wal_bytes = await pool.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)", wal_start)
            wall_s = (
                (ended - started_at).total_seconds() if (finished and ended) else time.perf_counter() - t0
            )

            # -- 2. reads at rest -------------------------------------------------------------------
            self.say("probing the read endpoints at rest")
            rest = Reader(team, list(niks), rng=random.Random(99))
            await rest.probe(cfg.probe_per_endpoint)

        # -- 3. histories ----------------------------------------------------------------------------
        self.say("reading Temporal histories")
        sample = _history_sample(program_of, per_program=20)
        profiles = {p.value: await history_profile(client, ids_) for p, ids_ in sample.items()}
        plans = {p: _plan(profiles[p.value]) for p in sample}

        # -- 4. skeleton ------------------------------------------------------------------------------
        n_skeleton = cfg.skeleton_groups or n_groups
        order = list(program_of.values())  # the cohort's own mix of programmes
        skeleton_plans = [plans[order[i % len(order)]] for i in range(n_skeleton)]
        skel_workers = self._start_skeleton_workers()
        await _wait_pollers(client, SKELETON_QUEUE, len(skel_workers))
        self.say(
            f"skeleton: {n_skeleton} groups, plans "
            + ", ".join(f"{p.value} {pl.model_dump()}" for p, pl in plans.items())
        )
        groups_for_sampler = self._process_groups(skel_workers)
        groups_for_sampler = {
            k: v
            for k, v in groups_for_sampler.items()
            if k in ("temporal", "bench") or k.startswith("worker")
        }
        skel_sampler = ProcessSampler(groups_for_sampler, shallow=frozenset({"bench"}))
        skel_sampler.start()
        skeleton = await run_skeleton(
            client, skeleton_plans, run_id=self.stamp, concurrency=cfg.skeleton_concurrency
        )
        skel_processes = skel_sampler.stop()
        skel_metrics = [
            await worker_metrics(f"http://127.0.0.1:{p}/metrics") for p in self.skeleton_metrics_ports
        ]
        skel_ids = [f"skeleton-{self.stamp}-{i:05d}" for i in range(min(n_skeleton, 20))]
        skel_profile = await history_profile(client, skel_ids)

        # -- figures ------------------------------------------------------------------------------------
        pg = await postgres_figures(pool)
        stages = await stage_throughput(pool)
        events = await audit_events(pool)
        stage_counts = {
            r["stage"]: r["n"]
            for r in await pool.fetch("SELECT stage, count(*) AS n FROM groups GROUP BY stage")
        }
        await pool.close()
        return self._figures(
            n_groups=n_groups,
            people=people,
            counts=counts,
            job=job,
            import_s=import_s,
            wall_s=wall_s,
            finished=finished,
            team=team,
            readers=readers,
            rest=rest,
            processes=processes,
            profiles=profiles,
            plans=plans,
            skeleton=skeleton,
            skel_processes=skel_processes,
            skel_profile=skel_profile,
            machine_cpu=machine_cpu,
            skel_machine_cpu=skel_sampler.machine,
            locks=locks.summary(),
            wal_bytes=wal_bytes,
            lifecycle_metrics=lifecycle_metrics,
            skel_metrics=skel_metrics,
            pg=pg,
            stages=stages,
            events=events,
            stage_counts=stage_counts,
        )

    async def _import(self, http: httpx.AsyncClient, team: Team, data: bytes) -> dict[str, Any]:
        from jps.domain.roles import NATIONAL, Role

        token = team.token(REGISTRAR_ID, [Role.REGISTRAR], [NATIONAL])
        headers = {"Authorization": f"Bearer {token}"}
        resp = await http.post(
            "/groups/import",
            params={"background": "true"},
            files={"file": ("kohort-oktober-2020.csv", data, "text/csv")},
            headers=headers,
        )
        if resp.status_code not in (200, 202):
            raise RuntimeError(f"import refused: {resp.status_code} {resp.text[:500]}")
        job: dict[str, Any] = resp.json()
        started, last_report = time.perf_counter(), 0.0
        while job["status"] == "running":
            await asyncio.sleep(2.0)  # the job's answer carries every result so far: not too often
            job = (await http.get(f"/groups/import/{job['job_id']}", headers=headers)).json()
            if time.perf_counter() - last_report >= 30:
                last_report = time.perf_counter()
                self.say(
                    f"{last_report - started:6.0f} s: import {job['processed_groups']}/{job['groups']} groups"
                )
        if job["status"] != "done" or job["created"] + job["existing"] != job["groups"]:
            bad = [r for r in job["results"] if r["status"] not in ("created", "existing")][:5]
            raise RuntimeError(f"import {job['status']}: {job.get('error')} {bad}")
        return job

    async def _wait_done(self, pool: asyncpg.Pool, expected: int, t0: float) -> bool:
        last_report = 0.0
        while True:
            rows = await pool.fetch("SELECT stage, count(*) AS n FROM groups GROUP BY stage")
            by_stage = {r["stage"]: r["n"] for r in rows}
            done = sum(by_stage.get(s, 0) for s in TERMINAL)
            elapsed = time.perf_counter() - t0
            if elapsed - last_report >= 15 or done >= expected:
                last_report = elapsed
                shown = ", ".join(f"{k} {v}" for k, v in sorted(by_stage.items()))
                self.say(f"{elapsed:6.0f} s: {shown}")
            if done >= expected:
                return True
            if elapsed > self.cfg.timeout_s:
                self.say(f"[red]timeout after {elapsed:.0f} s: {done}/{expected} groups done[/red]")
                return False
            await asyncio.sleep(1.0)

    # -- the JSON -----------------------------------------------------------------------------------------
    def _figures(self, **m: Any) -> dict[str, Any]:
        cfg = self.cfg
        team: Team = m["team"]
        stats = team.stats
        completed = m["stage_counts"].get("completed", 0)
        wall_s = m["wall_s"]
        groups_per_s = completed / wall_s if wall_s else 0.0
        skeleton = m["skeleton"]
        actions_all = [x for v in stats.actions.values() for x in v]
        action = latency_summary(actions_all)
        under_load: dict[str, list[float]] = {}
        for r in m["readers"]:
            for k, v in r.samples.items():
                under_load.setdefault(k, []).extend(v)
        reads = {k: latency_summary(under_load.get(k, [])) for k in ("list", "detail", "inbox", "summary")}
        rest = {
            k: latency_summary(m["rest"].samples.get(k, [])) for k in ("list", "detail", "inbox", "summary")
        }
        read_all = [x for v in under_load.values() for x in v]
        job = m["job"]
        import_wall = _job_seconds(job) or m["import_s"]
        processes = m["processes"]
        worker_peaks = [v["peak_mb"] for k, v in processes.items() if k.startswith("worker")]
        people = m["people"]
        profiles = m["profiles"]
        events_per_group = _weighted(profiles, m["counts"], "events_mean")
        return {
            "timestamp": self.stamp,
            "groups": m["n_groups"],
            "people": people,
            "scale": cfg.scale if cfg.groups is None else round(m["n_groups"] / 3076, 5),
            "completed": completed,
            "finished": m["finished"],
            "wall_s": round(wall_s, 1),
            "groups_per_s": round(groups_per_s, 3),
            "skeleton_groups_per_s": skeleton.groups_per_s,
            "ratio": round(groups_per_s / skeleton.groups_per_s, 3) if skeleton.groups_per_s else 0.0,
            "action_p50_ms": action["p50_ms"],
            "action_p95_ms": action["p95_ms"],
            "action_p99_ms": action["p99_ms"],
            "read_p99_ms": latency_summary(read_all)["p99_ms"],
            "worker_peak_mb": max(worker_peaks) if worker_peaks else None,
            "config": {
                "officers": cfg.officers,
                "workers": cfg.workers,
                "readers": cfg.readers,
                "seconds_per_day": cfg.seconds_per_day,
                "bank_poll_after_s": cfg.bank_poll_after_s,
                "log_level": cfg.log_level,
                "idle_poll_s": cfg.idle_poll_s,
                "pythondontwritebytecode": self.child_env.get("PYTHONDONTWRITEBYTECODE", ""),
                "skeleton_concurrency": cfg.skeleton_concurrency,
            },
            "programs": {p.value: n for p, n in m["counts"].items()},
            "import": {
                "groups": job["created"],
                "rows": job["rows"],
                "seconds": round(import_wall, 1),
                "groups_per_s": round(job["created"] / import_wall, 2) if import_wall else None,
                "rows_per_s": round(job["rows"] / import_wall, 1) if import_wall else None,
            },
            "stages": m["stages"],
            "final_stages": m["stage_counts"],
            "actions": {k: latency_summary(v) for k, v in sorted(stats.actions.items())},
            "bulk_calls": {
                k: {**latency_summary(v), "groups": stats.bulk_items[k]}
                for k, v in sorted(stats.bulk_calls.items())
            },
            "reads_under_load": reads,
            "reads_at_rest": rest,
            "read_p99_at_rest_ms": latency_summary([x for v in m["rest"].samples.values() for x in v])[
                "p99_ms"
            ],
            "officer_inbox_reads": latency_summary(stats.reads.get("inbox_officer", [])),
            "statuses": dict(sorted(stats.statuses.items())),
            "errors": stats.errors[:20],
            "processes": processes,
            "worker_metrics": m["lifecycle_metrics"],
            "cpu_s_total": round(sum(v["cpu_s"] for k, v in processes.items() if k != "other_processes"), 1),
            "machine_cpu": m["machine_cpu"],
            "cpu_ms_per_group": _per_group(processes, completed),
            "skeleton": {
                **skeleton.model_dump(),
                "plans": {p.value: pl.model_dump() for p, pl in m["plans"].items()},
                "processes": m["skel_processes"],
                "cpu_ms_per_group": _per_group(m["skel_processes"], skeleton.groups),
                "machine_cpu": m["skel_machine_cpu"],
                "history": m["skel_profile"],
                "worker_metrics": m["skel_metrics"],
            },
            "temporal": {
                "history_events_per_group": events_per_group,
                "history_kb_per_group": _weighted(profiles, m["counts"], "history_kb_mean"),
                "by_program": profiles,
                "db_mb": _temporal_db_mb(self.data_dir),
            },
            "audit_events": m["events"],
            "audit_chain_lock": m["locks"],
            "postgres": {
                **m["pg"],
                "wal_mb_lifecycle": round(float(m["wal_bytes"]) / 1024 / 1024, 1),
                "wal_kb_per_group": round(float(m["wal_bytes"]) / 1024 / max(1, completed), 1),
            },
            "machine": machine(),
            "code": _code_version(),
        }


def _per_group(processes: dict[str, dict[str, float]], groups: int) -> dict[str, float]:
    if not groups:
        return {}
    ours = {k: v for k, v in processes.items() if k != "other_processes"}
    out = {k: round(v["cpu_s"] * 1000 / groups, 1) for k, v in ours.items()}
    out["all"] = round(sum(v["cpu_s"] for v in ours.values()) * 1000 / groups, 1)
    return out


def _code_version() -> dict[str, Any]:
    """The commit measured, and whether the tree had uncommitted changes to product code."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    product = [
        p for p in changed if p.split("/")[0] in ("workflows", "activities", "api", "jps", "worker.py")
    ]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_product_files": product}


def _job_seconds(job: dict[str, Any]) -> float | None:
    try:
        start = datetime.fromisoformat(job["started_at"])
        end = datetime.fromisoformat(job["finished_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return (end - start).total_seconds()


def _weighted(profiles: dict[str, dict[str, Any]], counts: dict[Program, int], key: str) -> float | None:
    pairs: list[tuple[float, int]] = [
        (float(profiles[p.value][key]), n)
        for p, n in counts.items()
        if profiles.get(p.value, {}).get(key) is not None
    ]
    total = sum(n for _, n in pairs)
    return round(sum(v * n for v, n in pairs) / total, 1) if total else None


def _temporal_db_mb(data_dir: Path) -> float:
    size = sum(p.stat().st_size for p in data_dir.glob("temporal.db*") if p.is_file())
    return round(size / 1024 / 1024, 1)


def _history_sample(program_of: dict[str, Program], per_program: int) -> dict[Program, list[str]]:
    out: dict[Program, list[str]] = {}
    for gid, program in program_of.items():
        picked = out.setdefault(program, [])
        if len(picked) < per_program:
            picked.append(gid)
    return out


def _plan(profile: dict[str, Any]) -> SkeletonPlan:
    c = profile["counts"]
    return SkeletonPlan(
        activities=round(c["activities"]),
        updates=round(c["updates"]),
        timers=round(c["timers"]),
        signals=round(c["signals"]),
    )


async def _wait_pollers(client: Any, task_queue: str, expected: int, within_s: float = 60) -> None:
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


def write_results(result: dict[str, Any], out: Path | None) -> Path:
    if out is None:
        path = RESULTS_DIR / f"{result['timestamp']}.json"
    elif out.suffix == ".json":
        path = out
    else:
        path = out / f"{result['timestamp']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def run_bench(config: BenchConfig) -> tuple[dict[str, Any], Path]:
    result = BenchRun(config).run()
    return result, write_results(result, config.out)


def headline(result: dict[str, Any]) -> str:
    return (
        f"groups={result['groups']} wall_s={result['wall_s']} groups_per_s={result['groups_per_s']} "
        f"skeleton_groups_per_s={result['skeleton_groups_per_s']} ratio={result['ratio']} "
        f"action_p99_ms={result['action_p99_ms']} read_p99_ms={result['read_p99_ms']} "
        f"worker_peak_mb={result['worker_peak_mb']}"
    )
