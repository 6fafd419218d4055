"""Officers at a human pace: an open-loop load of officer actions and dashboard reads.

500 officers who each act about every 30 seconds are, to the API, a Poisson stream of about 17
actions a second: arrivals that do not wait for each other's answers (open loop), unlike
`bench.officers`' officers who act again the moment an answer arrives (closed loop). Each arrival
takes one task that the cohort's inboxes hold at that moment and does what its officer would
(`verify`, `schedule-training`, `record-attendance`, `report-visit`, `submit-lpj` with its receipts,
`review-lpj`); task kinds not listed here are left for the closed loop. Approving a disbursement is
not among them: every group's waits for the bulk phase (`bench.bulk_phase`), which the issue times
over all of them, as finance approves them in the office. Reads (list, detail, inbox, summary)
arrive as a stream of their own.

The work comes from the read model's `group_tasks` (the table the inbox reads), refreshed in the
background, so finding work costs the API nothing that is measured; each task (group, kind, note)
is handed out once.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench.measure import latency_summary
from bench.officers import BULK_ACTION, LPJ_SPLIT, Reader, Team, receipt_pdf, today
from jps.domain.roles import NATIONAL, Role

# The task kinds an arrival acts on, and the role whose officer does it.
PACED_KINDS: dict[str, Role] = {
    "verify": Role.VERIFIER,
    "schedule_training": Role.TRAINER,
    "record_attendance": Role.TRAINER,
    "report_visit": Role.MENTOR,
    "submit_lpj": Role.MENTOR,
    "review_lpj": Role.VERIFIER,
}
REFRESH_S = 0.5  # how stale the list of open tasks may be
_VISIT_NO = re.compile(r"visit (\d+)")


@dataclass(frozen=True)
class Task:
    group_id: str
    kind: str
    note: str


class WorkSource:
    """The open tasks of the cohort that an arrival may take, each handed out once."""

    def __init__(self, pool: asyncpg.Pool, group_ids: list[str], rng: random.Random) -> None:
        self.pool = pool
        self.group_ids = group_ids
        self.rng = rng
        self.ready: list[Task] = []
        self.handed: set[tuple[str, str, str]] = set()

    async def refresh(self) -> None:
        rows = await self.pool.fetch(
            """SELECT t.group_id, t.kind, t.note
                 FROM group_tasks t JOIN groups g ON g.group_id = t.group_id
                WHERE t.kind = ANY($1::text[]) AND t.group_id = ANY($2::text[])""",
            list(PACED_KINDS),
            self.group_ids,
        )
        tasks = [Task(r["group_id"], r["kind"], r["note"] or "") for r in rows]
        self.ready = [t for t in tasks if (t.group_id, t.kind, t.note) not in self.handed]

    def take(self) -> Task | None:
        while self.ready:
            task = self.ready.pop(self.rng.randrange(len(self.ready)))
            key = (task.group_id, task.kind, task.note)
            if key not in self.handed:
                self.handed.add(key)
                return task
        return None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.refresh()
            try:
                await asyncio.wait_for(stop.wait(), REFRESH_S)
            except TimeoutError:
                pass


@dataclass
class Sample:
    at: float  # seconds since the load began, when the request was sent
    what: str
    ms: float
    status: int


@dataclass
class LoadResult:
    """One stretch of open-loop load at a target rate."""

    rate: float
    seconds: float
    actions: list[Sample] = field(default_factory=list)
    reads: list[Sample] = field(default_factory=list)
    idle_arrivals: int = 0  # arrivals that found no open task
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        acted = [s for s in self.actions if s.what != "upload-file"]
        by_action: dict[str, list[float]] = defaultdict(list)
        for s in self.actions:
            by_action[s.what].append(s.ms)
        by_read: dict[str, list[float]] = defaultdict(list)
        for s in self.reads:
            by_read[s.what].append(s.ms)
        statuses: dict[str, int] = defaultdict(int)
        for s in [*self.actions, *self.reads]:
            statuses[f"{s.what}:{s.status}"] += 1
        return {
            "rate": self.rate,
            "seconds": round(self.seconds, 1),
            "achieved_actions_per_s": round(len(acted) / self.seconds, 2) if self.seconds else 0.0,
            "idle_arrivals": self.idle_arrivals,
            "action": latency_summary([s.ms for s in self.actions]),
            "read": latency_summary([s.ms for s in self.reads]),
            "actions": {k: latency_summary(v) for k, v in sorted(by_action.items())},
            "reads": {k: latency_summary(v) for k, v in sorted(by_read.items())},
            "statuses": dict(sorted(statuses.items())),
            "errors": self.errors[:10],
        }


class PacedOfficers:
    """Officers of every role acting on the cohort's open tasks as arrivals come."""

    def __init__(self, team: Team, work: WorkSource, group_ids: list[str], rng: random.Random) -> None:
        self.team = team
        self.work = work
        self.rng = rng
        self.headers = {
            role: {"Authorization": f"Bearer {team.token(f'paced-{role.value}', [role], [NATIONAL])}"}
            for role in set(PACED_KINDS.values())
        }
        self.reader = Reader(team, group_ids, rng=random.Random(rng.random()))

    async def load(self, rate: float, seconds: float, reads_per_s: float) -> LoadResult:
        """Poisson arrivals of actions at `rate` and of reads at `reads_per_s` for `seconds`; then
        every request sent is awaited, so the slowest answers count."""
        result = LoadResult(rate=rate, seconds=seconds)
        started = time.perf_counter()
        in_flight: set[asyncio.Task[None]] = set()

        def spawn(coro: Any) -> None:
            task = asyncio.create_task(coro)
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        async def arrivals(per_s: float, fire: Any, seed: int) -> None:
            if per_s <= 0:
                return
            gaps = random.Random(seed)  # a stream of its own: the same arrivals whatever the answers
            due = started
            while True:
                due += gaps.expovariate(per_s)
                if due - started >= seconds:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                fire()

        def act() -> None:
            task = self.work.take()
            if task is None:
                result.idle_arrivals += 1
            else:
                spawn(self._act(task, result, started))

        def read() -> None:
            spawn(self._read(result, started))

        await asyncio.gather(arrivals(rate, act, 1), arrivals(reads_per_s, read, 2))
        await asyncio.sleep(max(0.0, started + seconds - time.perf_counter()))  # the window's quiet end
        result.seconds = time.perf_counter() - started
        while in_flight:
            await asyncio.gather(*list(in_flight), return_exceptions=True)
        return result

    async def _read(self, result: LoadResult, t0: float) -> None:
        endpoint = self.rng.choice(("list", "detail", "inbox", "summary"))
        path, params = self.reader.request(endpoint)
        sent = time.perf_counter()
        try:
            resp = await self.team.http.get(path, params=params, headers=self.reader.headers)
        except httpx.HTTPError as exc:
            result.errors.append(f"read {path}: {type(exc).__name__}: {exc}"[:300])
            return
        result.reads.append(
            Sample(sent - t0, endpoint, (time.perf_counter() - sent) * 1000, resp.status_code)
        )

    async def _post(
        self, result: LoadResult, t0: float, what: str, role: Role, path: str, **kw: Any
    ) -> httpx.Response | None:
        sent = time.perf_counter()
        try:
            resp = await self.team.http.post(path, headers=self.headers[role], **kw)
        except httpx.HTTPError as exc:
            result.errors.append(f"{what} {path}: {type(exc).__name__}: {exc}"[:300])
            return None
        result.actions.append(Sample(sent - t0, what, (time.perf_counter() - sent) * 1000, resp.status_code))
        if resp.status_code not in (200, 201):
            result.errors.append(f"{what} {path}: {resp.status_code} {resp.text[:200]}")
        return resp

    async def _act(self, task: Task, result: LoadResult, t0: float) -> None:
        gid, role = task.group_id, PACED_KINDS[task.kind]
        base = f"/groups/{gid}/actions"
        body: dict[str, Any]
        if task.kind in ("verify", "schedule_training"):
            action, args = BULK_ACTION[task.kind]
            body = args or {"starts_on": today(), "ends_on": today(), "venue": "BLK setempat"}
            await self._post(result, t0, action, role, f"{base}/{action}", json=body)
        elif task.kind == "record_attendance":
            body = {"attended_niks": self.team.niks[gid]}
            await self._post(result, t0, "record-attendance", role, f"{base}/record-attendance", json=body)
        elif task.kind == "report_visit":
            await self._visit(task, result, t0)
        elif task.kind == "submit_lpj":
            await self._lpj(task, result, t0)
        elif task.kind == "review_lpj":
            body = {"decision": "accept", "notes": "kwitansi sesuai"}
            await self._post(result, t0, "review-lpj", role, f"{base}/review-lpj", json=body)

    async def _visit(self, task: Task, result: LoadResult, t0: float) -> None:
        found = _VISIT_NO.search(task.note)
        visit = int(found.group(1)) if found else self.team.next_visit.get(task.group_id, 1)
        body = {
            "visit_no": visit,
            "visited_on": today(),
            "business_status": "running",
            "monthly_revenue": 4_500_000,
            "notes": "usaha berjalan",
            "handover": "(handover)" in task.note,  # a Padat Karya group's last visit (docs/wages.md)
        }
        path = f"/groups/{task.group_id}/actions/report-visit"
        resp = await self._post(result, t0, "report-visit", Role.MENTOR, path, json=body)
        if resp is not None and resp.status_code == 200:
            # The closed loop's mentors go on from the next visit (bench.officers keeps it in the team).
            self.team.next_visit[task.group_id] = visit + 1

    async def _lpj(self, task: Task, result: LoadResult, t0: float) -> None:
        gid = task.group_id
        detail = await self.team.http.get(f"/groups/{gid}", headers=self.headers[Role.MENTOR])
        if detail.status_code != 200:
            result.errors.append(f"submit-lpj {gid}: reading the group: {detail.status_code}")
            return
        paid: int = detail.json()["paid_amount"]
        lines: list[dict[str, Any]] = []
        left = paid
        for i, (category, percent, supplier) in enumerate(LPJ_SPLIT):
            amount = left if i == len(LPJ_SPLIT) - 1 else paid * percent // 100
            left -= amount
            pdf = receipt_pdf(f"Kwitansi {gid} {category} Rp {amount}")
            resp = await self._post(
                result,
                t0,
                "upload-file",
                Role.MENTOR,
                f"/groups/{gid}/files",
                files={"file": ("kwitansi.pdf", pdf, "application/pdf")},
                data={"purpose": "receipt"},
            )
            if resp is None or resp.status_code != 201:
                return
            lines.append(
                {
                    "category": category,
                    "amount": amount,
                    "spent_on": today(),
                    "supplier": supplier,
                    "file_id": resp.json()["file_id"],
                }
            )
        body = {"lines": lines, "notes": "nota asli disimpan kelompok"}
        await self._post(
            result, t0, "submit-lpj", Role.MENTOR, f"/groups/{gid}/actions/submit-lpj", json=body
        )
