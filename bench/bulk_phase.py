"""Bulk approval: every group waiting for its disbursement approved through
`POST /groups/bulk/approve-disbursement`, in requests of the API's bulk maximum, one after another
as a finance officer sends them (`bulk_approve_s`).

First the groups still before disbursement are brought there as their officers would in bulk
(verify and schedule-training by page, attendance per group), untimed; then the approval is timed
from the first request to the last answer.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from api.routes.groups import BULK_MAX  # the API's own maximum: one place for it
from bench.officers import BULK_ACTION, Team, today
from jps.domain.roles import NATIONAL, Role

BEFORE_DISBURSEMENT = ("verify", "schedule_training", "record_attendance")
_ATTENDANCE_CONCURRENCY = 16
_STALLED_S = 60.0  # a step sent and still open this long after was refused


@dataclass
class BulkFigures:
    groups: int = 0
    requests: int = 0
    seconds: float = 0.0
    prepare_s: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)

    def figures(self) -> dict[str, Any]:
        return {
            "bulk_approve_s": round(self.seconds, 2),
            "bulk_approve": {
                "groups": self.groups,
                "requests": self.requests,
                "bulk_max": BULK_MAX,
                "groups_per_s": round(self.groups / self.seconds, 1) if self.seconds else None,
                "prepare_s": round(self.prepare_s, 1),
                "statuses": dict(sorted(self.statuses.items())),
            },
        }


async def _open(pool: asyncpg.Pool, group_ids: list[str], kinds: tuple[str, ...]) -> dict[str, list[str]]:
    rows = await pool.fetch(
        """SELECT kind, group_id FROM group_tasks
            WHERE kind = ANY($1::text[]) AND group_id = ANY($2::text[]) ORDER BY group_id""",
        list(kinds),
        group_ids,
    )
    out: dict[str, list[str]] = {k: [] for k in kinds}
    for r in rows:
        out[r["kind"]].append(r["group_id"])
    return out


class BulkApproval:
    def __init__(self, team: Team, pool: asyncpg.Pool, group_ids: list[str]) -> None:
        self.team = team
        self.pool = pool
        self.group_ids = group_ids
        self.out = BulkFigures()
        self.headers = {
            role: {"Authorization": f"Bearer {team.token(f'bulk-{role.value}', [role], [NATIONAL])}"}
            for role in (Role.VERIFIER, Role.TRAINER, Role.FINANCE)
        }

    async def _bulk(self, kind: str, group_ids: list[str], role: Role) -> None:
        action, args = BULK_ACTION[kind]
        if args is None:  # schedule-training: today, one day
            args = {"starts_on": today(), "ends_on": today(), "venue": "BLK setempat"}
        for i in range(0, len(group_ids), BULK_MAX):
            page = group_ids[i : i + BULK_MAX]
            resp = await self.team.http.post(
                f"/groups/bulk/{action}", json={"group_ids": page, "args": args}, headers=self.headers[role]
            )
            self.out.statuses[f"{action}:{resp.status_code}"] += 1
            if resp.status_code != 200:
                self.team.stats.error(f"bulk {action}: {resp.status_code} {resp.text[:300]}")
                continue
            for r in resp.json()["results"]:
                self.out.statuses[f"{action}[item]:{r['status']}"] += 1

    async def _attend(self, group_id: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            resp = await self.team.http.post(
                f"/groups/{group_id}/actions/record-attendance",
                json={"attended_niks": self.team.niks[group_id]},
                headers=self.headers[Role.TRAINER],
            )
        self.out.statuses[f"record-attendance:{resp.status_code}"] += 1

    async def prepare(self, say: Callable[[str], None], timeout_s: float) -> None:
        """Until no group of the cohort waits for verification, training or attendance."""
        t0 = last_fresh = time.perf_counter()
        acted: set[tuple[str, str]] = set()
        gate = asyncio.Semaphore(_ATTENDANCE_CONCURRENCY)
        while time.perf_counter() - t0 < timeout_s:
            waiting = await _open(self.pool, self.group_ids, BEFORE_DISBURSEMENT)
            if not any(waiting.values()):
                break
            fresh = {k: [g for g in v if (k, g) not in acted] for k, v in waiting.items()}
            if any(fresh.values()):
                last_fresh = time.perf_counter()
            elif time.perf_counter() - last_fresh > _STALLED_S:  # refused steps: the closed loop's now
                stuck = sum(len(v) for v in waiting.values())
                say(f"[red]bulk: {stuck} groups still before disbursement; approving the others[/red]")
                break
            acted.update((k, g) for k, v in fresh.items() for g in v)
            await self._bulk("verify", fresh["verify"], Role.VERIFIER)
            await self._bulk("schedule_training", fresh["schedule_training"], Role.TRAINER)
            await asyncio.gather(*(self._attend(g, gate) for g in fresh["record_attendance"]))
            await asyncio.sleep(0.5)  # the read model follows each step a moment later
        self.out.prepare_s = time.perf_counter() - t0
        say(f"bulk: groups brought to approval in {self.out.prepare_s:.1f} s")

    async def approve(self, say: Callable[[str], None]) -> BulkFigures:
        waiting = (await _open(self.pool, self.group_ids, ("approve_disbursement",)))["approve_disbursement"]
        t0 = time.perf_counter()
        await self._bulk("approve_disbursement", waiting, Role.FINANCE)
        self.out.seconds = time.perf_counter() - t0
        self.out.groups = len(waiting)
        self.out.requests = -(-len(waiting) // BULK_MAX)
        say(f"bulk: {len(waiting)} disbursements approved in {self.out.seconds:.1f} s")
        return self.out


async def bulk_approve(
    team: Team, pool: asyncpg.Pool, group_ids: list[str], say: Callable[[str], None], timeout_s: float
) -> BulkFigures:
    phase = BulkApproval(team, pool, group_ids)
    await phase.prepare(say, timeout_s)
    return await phase.approve(say)
