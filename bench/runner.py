"""The bench run: a stack of its own, the cohort through the whole lifecycle, the skeleton, the figures.

Phases, all on one stack (`bench.stack`: Temporal dev server with its WAL pragmas, embedded
PostgreSQL, worker(s), simulators, API), started on free ports under `.data/bench-<timestamp>`:

1. import on a quiet stack (`bench.import_phase`): bare Temporal starting and registering as many
   workflows (the limit), then the cohort's XLSX, dry run first, until every group is in verification;
2. human pace, 3. capacity curve, 4. bulk approval (`bench.load_phases`): open-loop officers on the
   loaded cohort, stepped-up rates, every waiting disbursement approved in bulk;
5. closed loop: the simulated officers who never pause drive every group to completed while
   dashboard readers read;
6. reads at rest: each read endpoint probed with the whole cohort loaded and nothing else running,
   then the managers' dashboard rendered in Chromium (`bench.dashboard`: `dashboard_render_ms`);
7. histories: a sample of real groups' Temporal histories gives the skeleton its counts;
8. skeleton: as many bare-Temporal groups as real ones, against the same dev server, with as many
   skeleton worker processes as the lifecycle had workers.

The product's processes are sampled from the import's dry run to the last group completed.

The results document is built by `bench.figures`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from bench import cohort as cohort_mod
from bench.config import REGISTRAR_ID, TERMINAL, BenchConfig
from bench.dashboard import render_dashboard
from bench.figures import code_version, figures, headline, write_results
from bench.import_phase import ImportFigures, import_limit, quiet_import, to_xlsx
from bench.load_phases import run_load_phases
from bench.measure import LockSampler, ProcessSampler, audit_events, postgres_figures, stage_throughput
from bench.officers import Reader, SimulatedOfficer, Team, officers_client, plan_officers
from bench.rolls import wage_policy
from bench.skeleton import SKELETON_QUEUE, SkeletonPlan, run_skeleton
from bench.stack import BenchStack, wait_pollers
from bench.temporal_figures import history_profile, worker_metrics
from infra import lifecycle
from jps.domain.programs import Program
from jps.domain.roles import NATIONAL, Role
from jps.settings import PROJECT_ROOT

__all__ = ["BenchConfig", "BenchRun", "headline", "run_bench", "write_results"]

log = structlog.get_logger()


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class BenchRun:
    def __init__(self, config: BenchConfig) -> None:
        self.cfg = config
        self.console = config.console
        self.stamp = _timestamp()
        self.code_at_start = code_version()  # what the stack's processes are about to import
        self.data_dir = (config.data_dir or PROJECT_ROOT / ".data" / f"bench-{self.stamp}").resolve()
        self.result: dict[str, Any] = {}
        self.stack = BenchStack(config, self.data_dir, self.say)

    def say(self, message: str) -> None:
        self.console.print(f"[bold cyan]bench[/bold cyan] {message}", highlight=False)

    # -- the run ----------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        ok = False
        try:
            self.stack.start()
            self.result = asyncio.run(self._phases())
            ok = True
        finally:
            if self.stack.built:
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

        pool = await create_pool(self.stack.dsn, max_size=4)
        client = await connect(
            self.stack.settings.model_copy(
                # the stack's data dir: its processes seal payloads with the key generated there
                update={"temporal_address": self.stack.temporal_address, "data_dir": self.stack.data_dir}
            )
        )
        await fund_budget(pool, [g.proposal for g in groups])
        workers = self.stack.lifecycle_workers()
        # The skeleton's workers first: the import's limit is measured with them, before the product.
        skel_workers = self.stack.start_skeleton_workers()
        await wait_pollers(client, SKELETON_QUEUE, len(skel_workers))
        async with officers_client(self.stack.api_url, cfg.officers + cfg.readers + 10) as http:
            team = Team(
                http=http,
                niks=niks,
                proposals={ids[g.ref]: g.proposal for g in groups},  # the mentors' rolls need the crew
                secret=self.stack.settings.jwt_secret,
                idle_poll_s=cfg.idle_poll_s,
                dsn=self.stack.dsn,
                wages=wage_policy(cfg.wage_weeks),
            )

            # -- 1. import on a quiet stack, beside its limit ------------------------------------------
            limit_s, limit_failed = await import_limit(
                client, n_groups, run_id=self.stamp, concurrency=cfg.skeleton_concurrency
            )
            self.say(f"import limit: {n_groups} skeleton workflows started and registered in {limit_s:.1f} s")
            # The product's CPU from here to the last group completed (the skeleton's is its own).
            sampler = ProcessSampler(self.stack.process_groups(workers), shallow=frozenset({"bench"}))
            sampler.start()
            wal_start = await pool.fetchval("SELECT pg_current_wal_lsn()")
            xlsx = to_xlsx(csv_bytes)
            registrar = {"Authorization": f"Bearer {team.token(REGISTRAR_ID, [Role.REGISTRAR], [NATIONAL])}"}
            dry_run_s, import_s, job = await quiet_import(
                http, registrar, pool, xlsx, list(program_of), self.say
            )
            imported = ImportFigures(
                groups=n_groups,
                rows=job["rows"],
                xlsx_bytes=len(xlsx),
                dry_run_s=dry_run_s,
                quiet_s=import_s,
                limit_s=limit_s,
                limit_failed=limit_failed,
                limit_concurrency=cfg.skeleton_concurrency,
                job=job,
            )
            created = {r["group_ref"]: r["group_id"] for r in job["results"] if r.get("group_id")}
            mismatched = [ref for ref, gid in created.items() if ids.get(ref) != gid]
            if mismatched:
                team.stats.error(f"{len(mismatched)} imported group ids differ from the expected ones")
            self.say(
                f"imported {job['created']} groups in {import_s:.1f} s on a quiet stack "
                f"({job['created'] / import_s:.1f} groups/s; the limit {limit_s:.1f} s)"
            )

            # -- 2-4. human pace, capacity, bulk approval ------------------------------------------------
            load = await run_load_phases(
                cfg,
                api_url=self.stack.api_url,
                closed_team=team,
                pool=pool,
                group_ids=list(program_of),
                scale=cfg.effective_scale(n_groups),
                say=self.say,
            )

            # -- 5. the closed loop: officers who never pause, to completion ----------------------------
            locks = LockSampler(self.stack.dsn)
            lock_stop = asyncio.Event()
            lock_task = asyncio.create_task(locks.run(lock_stop))
            load["closed_loop_started_with"] = {
                r["stage"]: r["n"]
                for r in await pool.fetch("SELECT stage, count(*) AS n FROM groups GROUP BY stage")
            }
            started_at = datetime.now(UTC)
            t0 = time.perf_counter()
            self.say(f"closed loop: officers at work on {load['closed_loop_started_with']}")
            officers = [SimulatedOfficer(spec, team) for spec in plan_officers(cfg.officers)]
            officer_tasks = [asyncio.create_task(o.run()) for o in officers]
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
                await worker_metrics(f"http://127.0.0.1:{p}/metrics") for p in self.stack.metrics_ports
            ]
            ended = await pool.fetchval("SELECT max(closed_at) FROM groups")
            wal_bytes = await pool.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)", wal_start)
            wall_s = (  # the closed loop's: groups enter it where the phases before left them
                max(0.0, (ended - started_at).total_seconds())
                if (finished and ended)
                else time.perf_counter() - t0
            )

            # -- 6. reads at rest -------------------------------------------------------------------
            self.say("probing the read endpoints at rest")
            rest = Reader(team, list(niks), rng=random.Random(99))
            await rest.probe(cfg.probe_per_endpoint)

            # -- 6b. the managers' dashboard in Chromium, over the whole cohort ---------------------
            self.say("rendering the dashboard in Chromium")
            dashboard = await render_dashboard(
                self.stack.api_url,
                team.token("dashboard-render", [Role.SUPERVISOR], [NATIONAL]),
                runs=cfg.dashboard_runs,
            )
            self.say(f"dashboard: {dashboard}")

        # -- 7. histories ----------------------------------------------------------------------------
        self.say("reading Temporal histories")
        sample = _history_sample(program_of, per_program=20)
        profiles = {p.value: await history_profile(client, ids_) for p, ids_ in sample.items()}
        plans = {p: _plan(profiles[p.value]) for p in sample}

        # -- 8. skeleton ------------------------------------------------------------------------------
        n_skeleton = cfg.skeleton_groups or n_groups
        order = list(program_of.values())  # the cohort's own mix of programmes
        skeleton_plans = [plans[order[i % len(order)]] for i in range(n_skeleton)]
        self.say(
            f"skeleton: {n_skeleton} groups, plans "
            + ", ".join(f"{p.value} {pl.model_dump()}" for p, pl in plans.items())
        )
        groups_for_sampler = self.stack.process_groups(skel_workers)
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
            await worker_metrics(f"http://127.0.0.1:{p}/metrics") for p in self.stack.skeleton_metrics_ports
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
        return figures(
            cfg,
            stamp=self.stamp,
            data_dir=self.data_dir,
            child_env=self.stack.child_env,
            n_groups=n_groups,
            people=people,
            counts=counts,
            job=job,
            import_s=import_s,
            imported=imported,
            load=load,
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
            dashboard=dashboard,
            code_at_start=self.code_at_start,
        )

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
        local_activities=round(c.get("local_activities", 0)),
        updates=round(c["updates"]),
        timers=round(c["timers"]),
        signals=round(c["signals"]),
    )


def run_bench(config: BenchConfig) -> tuple[dict[str, Any], Path]:
    result = BenchRun(config).run()
    return result, write_results(result, config.out)
