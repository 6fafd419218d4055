"""Simulated officers and dashboard readers: the people who use JPS Flow, calling its HTTP API.

Each officer has one role (or, with fewer officers than roles, several) and a region scope, reads
its inbox (`GET /tasks?kind=…`) and does what an officer would with what it finds there:

- verifier: approves a page of proposals at once (`POST /groups/bulk/verify`);
- trainer: schedules a page of trainings for today (bulk), then records each group's attendance
  from its sheet (`record-attendance`, one request per group: every member attended);
- finance: approves a page of disbursements for the requested amounts (bulk); the bank pays a TKM
  group at once; a Padat Karya group's amount is its wage bill, paid week by week;
- mentor and finance, for a Padat Karya group: the mentor uploads a worksite photo per workday and
  submits each week's muster roll, finance releases each week's wage run, the bank pays each worker
  (`bench.rolls`);
- mentor: reports the group's visits (`report-visit`, one request per visit; a Padat Karya group's
  one visit is its handover). Time is compressed, so every visit falls due within minutes; the
  mentor reports each as soon as the previous one is in.
  A paid TKM group also owes its LPJ: the mentor uploads a receipt per spending line
  (`POST /groups/{id}/files`, a small PDF of the group's own) and submits them (`submit-lpj`);
- verifier, again: accepts each LPJ waiting for review (`review-lpj`, one request per group).

With fewer than four officers, one officer holds several roles; a verifier who is also the mentor
cannot review the LPJ it submitted (the workflow refuses), so run at least four.

Officers of one role split the cohort's regencies between them; when there are more officers than
regencies, those sharing a regency split its groups by a hash of the group id, as a team divides its
inbox. So no two officers ever act on one task and every refusal counts as a real error.

Readers stand for supervisors watching dashboards while the officers work: list, detail, inbox and
summary in turn, with a pause between requests.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import structlog

from bench import lpj, rolls
from bench.lpj import LPJ_SPLIT as LPJ_SPLIT  # bench.paced's officers split the aid the same way
from bench.lpj import receipt_pdf as receipt_pdf
from infra.http import BoundedAsyncClient
from infra.officers import ensure_officer_sync
from jps.auth import mint_token
from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.roles import NATIONAL, Role
from jps.domain.wages import WagePolicy
from tools.seed import REGENCIES
from tools.work_period import CrewPlan

log = structlog.get_logger()

BULK_PAGE = 100  # groups an officer selects for one bulk decision
INBOX_PAGE = 200
IDLE_POLL_S = 5.0  # an officer with an empty inbox looks again after this long

# Inbox task kinds each role works on, and whether it decides them in bulk.
ROLE_TASKS: dict[Role, tuple[str, ...]] = {
    Role.VERIFIER: ("verify", "review_lpj"),
    Role.TRAINER: ("schedule_training", "record_attendance"),
    Role.FINANCE: ("approve_disbursement", "approve_wages"),
    Role.MENTOR: ("report_visit", "submit_lpj", "submit_muster"),
}
BULK_ACTION = {
    "verify": ("verify", {"decision": "approve", "notes": "dokumen dan cek lapangan lengkap"}),
    "schedule_training": ("schedule-training", None),  # dates filled in at the time of the request
    "approve_disbursement": ("approve-disbursement", {"notes": "sesuai proposal"}),
}


@dataclass
class Stats:
    actions: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    bulk_calls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    bulk_items: Counter[str] = field(default_factory=Counter)
    reads: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[str] = field(default_factory=Counter)  # "action:status"
    errors: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(what)


def officers_client(api_url: str, connections: int) -> httpx.AsyncClient:
    """The simulated officers' HTTP client: httpx's interface over aiohttp's pool, as the product's
    own clients (`infra.http`). It shares the machine's two cores with the stack it measures, and
    httpcore's per-request pool checks made it the third costliest process of a run."""
    return BoundedAsyncClient(base_url=api_url, timeout=600, connections=connections)


@dataclass
class Team:
    """What the officers share: the API client, the attendance sheets, the stop flag, the figures."""

    http: httpx.AsyncClient
    niks: dict[str, list[str]]  # group id -> its members' NIKs
    secret: str
    proposals: dict[str, Proposal] = field(default_factory=dict)  # group id -> as imported
    crew_plans: dict[str, CrewPlan] = field(default_factory=dict)  # Padat Karya: who works which day
    rolls: dict[str, set[date]] = field(default_factory=dict)  # Padat Karya: the weeks submitted
    idle_poll_s: float = IDLE_POLL_S
    dsn: str = ""  # the directory the officers are put in before their tokens are minted
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stats: Stats = field(default_factory=Stats)
    next_visit: dict[str, int] = field(default_factory=dict)
    wages: WagePolicy | None = None  # the Padat Karya wage rule the bench's policy file carries

    def token(self, officer_id: str, roles: list[Role], regions: list[str]) -> str:
        """A token for the officer, put in the directory first (the API trusts only the directory)."""
        version = 1
        if self.dsn:
            version = ensure_officer_sync(
                self.dsn, officer_id=officer_id, roles=roles, regions=regions, name=officer_id
            )
        return mint_token(
            self.secret,
            officer_id=officer_id,
            roles=roles,
            regions=regions,
            name=officer_id,
            ttl=timedelta(hours=12),
            version=version,
        )

    async def pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except TimeoutError:
            pass


def today() -> str:
    return local_date(datetime.now(UTC)).isoformat()


@dataclass
class OfficerSpec:
    officer_id: str
    roles: list[Role]
    regions: list[str]
    share: tuple[int, int] = (1, 0)  # (officers sharing these regions, my index among them)

    def owns(self, group_id: str) -> bool:
        count, index = self.share
        return count == 1 or zlib.crc32(group_id.encode()) % count == index


def plan_officers(n: int, regencies: tuple[str, ...] = REGENCIES) -> list[OfficerSpec]:
    """`n` officers: a few verifiers and finance officers (they decide in bulk), the rest trainers
    and mentors in proportion to their one-request-per-group work (1 : 3.7)."""
    roles = list(ROLE_TASKS)
    if n < len(roles):
        return [
            OfficerSpec(f"officer-{i + 1:02d}", [r for j, r in enumerate(roles) if j % n == i], [NATIONAL])
            for i in range(n)
        ]
    bulk = max(1, round(n * 0.06))
    trainers = max(1, round((n - 2 * bulk) * 0.21))
    sizes = {
        Role.VERIFIER: bulk,
        Role.FINANCE: bulk,
        Role.TRAINER: trainers,
        Role.MENTOR: n - 2 * bulk - trainers,
    }
    specs: list[OfficerSpec] = []
    for role, k in sizes.items():
        for j in range(k):
            if k <= len(regencies):
                regions, share = [r for i, r in enumerate(regencies) if i % k == j], (1, 0)
            else:
                sharing = len(range(j % len(regencies), k, len(regencies)))
                regions, share = [regencies[j % len(regencies)]], (sharing, j // len(regencies))
            specs.append(OfficerSpec(f"{role.value}-{j + 1:02d}", [role], regions, share))
    return specs


class SimulatedOfficer:
    def __init__(self, spec: OfficerSpec, team: Team) -> None:
        self.spec = spec
        self.team = team
        self.headers = {"Authorization": f"Bearer {team.token(spec.officer_id, spec.roles, spec.regions)}"}
        self.kinds = [k for r in spec.roles for k in ROLE_TASKS[r]]
        self.acted = 0

    async def run(self) -> None:
        while not self.team.stop.is_set():
            try:
                worked = await self.round()
            except httpx.HTTPError as exc:
                self.team.stats.error(f"{self.spec.officer_id}: {type(exc).__name__}: {exc}")
                worked = False
            if not worked:
                await self.team.pause(self.team.idle_poll_s)

    async def round(self) -> bool:
        worked = False
        for kind in self.kinds:
            if self.team.stop.is_set():
                break
            tasks = await self._inbox(kind)
            if kind == "submit_muster":  # open until the last week is paid: only weeks left count
                tasks = [t for t in tasks if rolls.weeks_left(self.team, t["group_id"])]
            if not tasks:
                continue
            worked = True
            items = [t["group_id"] for t in tasks]
            if kind in BULK_ACTION:
                for i in range(0, len(items), BULK_PAGE):
                    await self._bulk(kind, items[i : i + BULK_PAGE])
            elif kind == "record_attendance":
                for gid in items:
                    await self._attendance(gid)
            elif kind == "report_visit":
                for item in tasks:
                    await self._visits(item["group_id"], handover="(handover)" in item["task"]["note"])
            elif kind == "submit_muster":
                for gid in items:
                    await rolls.submit_rolls(self, gid)
            elif kind == "approve_wages":
                for gid in items:
                    await rolls.release_wages(self, gid)
            elif kind == "submit_lpj":
                for gid in items:
                    await lpj.submit_lpj(self, gid)
            elif kind == "review_lpj":
                for gid in items:
                    await self._post(
                        f"/groups/{gid}/actions/review-lpj",
                        {"decision": "accept", "notes": "kwitansi sesuai"},
                        "review-lpj",
                    )
        return worked

    async def _inbox(self, kind: str) -> list[dict[str, Any]]:
        started = time.perf_counter()
        resp = await self.team.http.get(
            "/tasks", params={"kind": kind, "size": INBOX_PAGE}, headers=self.headers
        )
        self.team.stats.reads["inbox_officer"].append((time.perf_counter() - started) * 1000)
        if resp.status_code != 200:
            self.team.stats.statuses[f"inbox:{resp.status_code}"] += 1
            return []
        return [i for i in resp.json()["items"] if self.spec.owns(i["group_id"])]

    async def _post(
        self, path: str, body: dict[str, Any], what: str, *, bulk: bool = False
    ) -> httpx.Response:
        started = time.perf_counter()
        resp = await self.team.http.post(path, json=body, headers=self.headers)
        ms = (time.perf_counter() - started) * 1000
        (self.team.stats.bulk_calls if bulk else self.team.stats.actions)[what].append(ms)
        self.team.stats.statuses[f"{what}:{resp.status_code}"] += 1
        if resp.status_code != 200:
            self.team.stats.error(f"{what} {path}: {resp.status_code} {resp.text[:300]}")
        return resp

    async def _bulk(self, kind: str, group_ids: list[str]) -> None:
        action, args = BULK_ACTION[kind]
        if args is None:  # schedule-training: today, one day
            args = {"starts_on": today(), "ends_on": today(), "venue": "BLK setempat"}
        resp = await self._post(
            f"/groups/bulk/{action}", {"group_ids": group_ids, "args": args}, action, bulk=True
        )
        if resp.status_code == 200:
            out = resp.json()
            self.team.stats.bulk_items[action] += len(group_ids)
            for r in out["results"]:
                self.team.stats.statuses[f"{action}[item]:{r['status']}"] += 1
                if r["status"] != 200:
                    self.team.stats.error(f"bulk {action} {r['group_id']}: {r['status']} {r.get('detail')}")

    async def _attendance(self, group_id: str) -> None:
        niks = self.team.niks.get(group_id)
        if niks is None:
            self.team.stats.error(f"record-attendance {group_id}: no attendance sheet for this group")
            return
        await self._post(
            f"/groups/{group_id}/actions/record-attendance", {"attended_niks": niks}, "record-attendance"
        )

    async def _visits(self, group_id: str, handover: bool = False) -> None:
        """Report the group's visits one after another until it completes."""
        visit = self.team.next_visit.get(group_id, 1)
        for _ in range(20):  # a schedule has a handful of visits; never loop forever
            body = {
                "visit_no": visit,
                "visited_on": today(),
                "business_status": "running",
                "monthly_revenue": 4_500_000,
                "notes": "usaha berjalan",
                "handover": handover,
            }
            resp = await self._post(f"/groups/{group_id}/actions/report-visit", body, "report-visit")
            if resp.status_code == 200:
                state = resp.json()
            else:  # out of step with the group: read it and go on from what it says
                detail = await self.team.http.get(f"/groups/{group_id}", headers=self.headers)
                if detail.status_code != 200:
                    return
                state = detail.json()
            pending = [v["visit_no"] for v in state["visits"] if v["reported_on"] is None]
            if state["stage"] != "mentoring" or not pending:
                self.team.next_visit.pop(group_id, None)
                return
            if resp.status_code != 200 and pending[0] == visit:
                return  # refused for another reason: the inbox brings the group back later
            visit = pending[0]
            handover = any(v["handover"] for v in state["visits"] if v["visit_no"] == visit)
            self.team.next_visit[group_id] = visit

    async def _upload(
        self,
        group_id: str,
        file: tuple[str, bytes, str],
        form: dict[str, str] | None = None,
        what: str = "upload-file",
    ) -> str | None:
        """An evidence file (name, bytes, type) with its form (a receipt unless it says otherwise)."""
        started = time.perf_counter()
        resp = await self.team.http.post(
            f"/groups/{group_id}/files",
            files={"file": file},
            data=form or {"purpose": "receipt"},
            headers=self.headers,
        )
        self.team.stats.actions[what].append((time.perf_counter() - started) * 1000)
        self.team.stats.statuses[f"{what}:{resp.status_code}"] += 1
        if resp.status_code != 201:
            self.team.stats.error(f"{what} {group_id}: {resp.status_code} {resp.text[:300]}")
            return None
        file_id: str = resp.json()["file_id"]
        return file_id


@dataclass
class Reader:
    """A supervisor's dashboard: list, detail, inbox and summary in turn, national scope."""

    team: Team
    group_ids: list[str]
    pause_s: float = 0.5
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def __post_init__(self) -> None:
        roles = [Role.SUPERVISOR, Role.VERIFIER, Role.TRAINER, Role.FINANCE, Role.MENTOR]
        token = self.team.token("dashboard", roles, [NATIONAL])
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, endpoint: str) -> tuple[str, dict[str, Any]]:
        pages = max(1, len(self.group_ids) // 50)
        if endpoint == "list":
            params: dict[str, Any] = {"page": self.rng.randint(1, pages), "size": 50}
            if self.rng.random() < 0.5:
                params["stage"] = self.rng.choice(["verification", "training", "disbursement", "mentoring"])
            return "/groups", params
        if endpoint == "detail":
            return f"/groups/{self.rng.choice(self.group_ids)}", {}
        if endpoint == "inbox":
            return "/tasks", {"size": 50}
        return "/reports/summary", {}

    async def once(self, endpoint: str) -> None:
        path, params = self.request(endpoint)
        started = time.perf_counter()
        resp = await self.team.http.get(path, params=params, headers=self.headers)
        self.samples[endpoint].append((time.perf_counter() - started) * 1000)
        if resp.status_code != 200:
            self.team.stats.statuses[f"read-{endpoint}:{resp.status_code}"] += 1
            self.team.stats.error(f"read {path}: {resp.status_code} {resp.text[:200]}")

    async def run(self, stop: asyncio.Event) -> None:
        endpoints = ["list", "detail", "inbox", "summary"]
        i = self.rng.randrange(4)
        while not stop.is_set():
            try:
                await self.once(endpoints[i % 4])
            except httpx.HTTPError as exc:
                self.team.stats.error(f"read: {type(exc).__name__}: {exc}")
            i += 1
            try:
                await asyncio.wait_for(stop.wait(), self.pause_s)
            except TimeoutError:
                pass

    async def probe(self, per_endpoint: int, concurrency: int = 4) -> None:
        """`per_endpoint` requests of each endpoint, `concurrency` at a time, no pause."""
        gate = asyncio.Semaphore(concurrency)

        async def one(endpoint: str) -> None:
            async with gate:
                await self.once(endpoint)

        for endpoint in ("list", "detail", "inbox", "summary"):
            await asyncio.gather(*(one(endpoint) for _ in range(per_endpoint)))
