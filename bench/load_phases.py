"""The phases between the quiet import and the closed loop, on the loaded cohort with its lifecycle
running (timers, the bank's callbacks, reminders): officers at a human pace (`bench.paced`), the
capacity curve (`bench.capacity`), then the bulk approval (`bench.bulk_phase`).

They share an HTTP client of their own, with room for every request an open loop may have in
flight, and keep their figures apart from the closed loop's (a `Team` of their own, whose
`next_visit` is the closed loop's: its mentors go on from the visit these phases reported last).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import asyncpg

from bench.bulk_phase import bulk_approve
from bench.capacity import OFFICER_EVERY_S, capacity_curve
from bench.config import BenchConfig
from bench.officers import Team, officers_client
from bench.paced import PacedOfficers, WorkSource

MAX_IN_FLIGHT = 1000  # connections the open loop may hold: more than any step sends unanswered


async def run_load_phases(
    cfg: BenchConfig,
    *,
    api_url: str,
    closed_team: Team,
    pool: asyncpg.Pool,
    group_ids: list[str],
    scale: float,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """The figures of the paced, capacity and bulk phases (each skipped when its config says so)."""
    out: dict[str, Any] = {}
    rate = cfg.paced_rate if cfg.paced_rate is not None else cfg.officers_at_pace / OFFICER_EVERY_S * scale
    paced_s = cfg.paced_seconds if cfg.paced_seconds is not None else min(60.0, max(10.0, 60.0 * scale))
    step_s = cfg.step_seconds if cfg.step_seconds is not None else min(45.0, max(5.0, 45.0 * scale))

    def reads_per_s(action_rate: float) -> float:
        return cfg.paced_reads_per_s if cfg.paced_reads_per_s is not None else max(1.0, action_rate / 2)

    async with officers_client(api_url, MAX_IN_FLIGHT) as http:
        team = Team(
            http=http,
            niks=closed_team.niks,
            secret=closed_team.secret,
            dsn=closed_team.dsn,
            next_visit=closed_team.next_visit,
            wages=closed_team.wages,
        )
        rng = random.Random(15)
        work = WorkSource(pool, group_ids, rng)
        await work.refresh()
        stop = asyncio.Event()
        refresher = asyncio.create_task(work.run(stop))
        officers = PacedOfficers(team, work, group_ids, rng)
        try:
            if rate > 0 and paced_s > 0:
                say(
                    f"human pace: {rate:.2f} actions/s and {reads_per_s(rate):.2f} reads/s "
                    f"for {paced_s:.0f} s"
                )
                paced = (await officers.load(rate, paced_s, reads_per_s(rate))).summary()
                out.update(_paced_figures(paced))
                say(
                    f"human pace: achieved {paced['achieved_actions_per_s']}/s, action p99 "
                    f"{paced['action']['p99_ms']} ms, read p99 {paced['read']['p99_ms']} ms"
                )
            if cfg.capacity_steps:
                curve = await capacity_curve(officers, cfg.capacity_steps, step_s, reads_per_s, say)
                out.update(curve.figures())
        finally:
            stop.set()
            await refresher
        if cfg.bulk:
            bulk = await bulk_approve(team, pool, group_ids, say, timeout_s=cfg.timeout_s)
            out.update(bulk.figures())
        out["load_phase_errors"] = team.stats.errors[:20]
    return out


def _paced_figures(paced: dict[str, Any]) -> dict[str, Any]:
    return {
        "paced_actions_per_s": paced["achieved_actions_per_s"],
        "paced_action_p50_ms": paced["action"]["p50_ms"],
        "paced_action_p99_ms": paced["action"]["p99_ms"],
        "paced_read_p50_ms": paced["read"]["p50_ms"],
        "paced_read_p99_ms": paced["read"]["p99_ms"],
        "paced": paced,
    }
