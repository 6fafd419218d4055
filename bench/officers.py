"""Simulated officers and dashboard readers: the people who use JPS Flow, calling its HTTP API.

Each officer has one role (or, with fewer officers than roles, several) and a region scope, reads
its inbox (`GET /tasks?kind=…`) and does what an officer would with what it finds there:

- verifier: approves a page of proposals at once (`POST /groups/bulk/verify`);
- trainer: schedules a page of trainings for today (bulk), then records each group's attendance
  from its sheet (`record-attendance`, one request per group: every member attended);
- finance: approves a page of disbursements for the requested amounts (bulk); the bank pays;
- mentor: reports the group's visits (`report-visit`, one request per visit). Time is compressed, so
  every visit falls due within minutes; the mentor reports each as soon as the previous one is in.
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
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from infra.officers import ensure_officer_sync
from jps.auth import mint_token
from jps.domain.calendar import local_date
from jps.domain.roles import NATIONAL, Role
from tools.seed import REGENCIES

log = structlog.get_logger()

BULK_PAGE = 100  # groups an officer selects for one bulk decision
INBOX_PAGE = 200
IDLE_POLL_S = 5.0  # an officer with an empty inbox looks again after this long

# Inbox task kinds each role works on, and whether it decides them in bulk.
ROLE_TASKS: dict[Role, tuple[str, ...]] = {
    Role.VERIFIER: ("verify", "review_lpj"),
    Role.TRAINER: ("schedule_training", "record_attendance"),
    Role.FINANCE: ("approve_disbursement",),
    Role.MENTOR: ("report_visit", "submit_lpj"),
}
# The LPJ's spending lines: the aid split 70/30 between the policy's categories (at least 60% capital goods).
LPJ_SPLIT = (("capital_goods", 70, "Toko Alat Usaha"), ("working_capital", 30, "UD Bahan Baku"))
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


@dataclass
class Team:
    """What the officers share: the API client, the attendance sheets, the stop flag, the figures."""

    http: httpx.AsyncClient
    niks: dict[str, list[str]]  # group id -> its members' NIKs
    secret: str
    idle_poll_s: float = IDLE_POLL_S
    dsn: str = ""  # the directory the officers are put in before their tokens are minted
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stats: Stats = field(default_factory=Stats)
    next_visit: dict[str, int] = field(default_factory=dict)

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
            items = await self._inbox(kind)
            if not items:
                continue
            worked = True
            if kind in BULK_ACTION:
                for i in range(0, len(items), BULK_PAGE):
                    await self._bulk(kind, items[i : i + BULK_PAGE])
            elif kind == "record_attendance":
                for gid in items:
                    await self._attendance(gid)
            elif kind == "report_visit":
                for gid in items:
                    await self._visits(gid)
            elif kind == "submit_lpj":
                for gid in items:
                    await self._lpj(gid)
            elif kind == "review_lpj":
                for gid in items:
                    await self._post(
                        f"/groups/{gid}/actions/review-lpj",
                        {"decision": "accept", "notes": "kwitansi sesuai"},
                        "review-lpj",
                    )
        return worked

    async def _inbox(self, kind: str) -> list[str]:
        started = time.perf_counter()
        resp = await self.team.http.get(
            "/tasks", params={"kind": kind, "size": INBOX_PAGE}, headers=self.headers
        )
        self.team.stats.reads["inbox_officer"].append((time.perf_counter() - started) * 1000)
        if resp.status_code != 200:
            self.team.stats.statuses[f"inbox:{resp.status_code}"] += 1
            return []
        return [i["group_id"] for i in resp.json()["items"] if self.spec.owns(i["group_id"])]

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

    async def _visits(self, group_id: str) -> None:
        """Report the group's visits one after another until it completes."""
        visit = self.team.next_visit.get(group_id, 1)
        for _ in range(20):  # a schedule has a handful of visits; never loop forever
            body = {
                "visit_no": visit,
                "visited_on": today(),
                "business_status": "running",
                "monthly_revenue": 4_500_000,
                "notes": "usaha berjalan",
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
            self.team.next_visit[group_id] = visit

    async def _lpj(self, group_id: str) -> None:
        """Upload a receipt per spending line and submit the LPJ for the whole aid paid."""
        detail = await self.team.http.get(f"/groups/{group_id}", headers=self.headers)
        if detail.status_code != 200:
            self.team.stats.error(f"submit-lpj {group_id}: reading the group: {detail.status_code}")
            return
        paid: int = detail.json()["paid_amount"]
        lines = []
        left = paid
        for i, (category, percent, supplier) in enumerate(LPJ_SPLIT):
            amount = left if i == len(LPJ_SPLIT) - 1 else paid * percent // 100
            left -= amount
            file_id = await self._upload(group_id, receipt_pdf(f"Kwitansi {group_id} {category} Rp {amount}"))
            if file_id is None:
                return
            lines.append(
                {
                    "category": category,
                    "amount": amount,
                    "spent_on": today(),
                    "supplier": supplier,
                    "file_id": file_id,
                }
            )
        body = {"lines": lines, "notes": "nota asli disimpan kelompok"}
        await self._post(f"/groups/{group_id}/actions/submit-lpj", body, "submit-lpj")

    async def _upload(self, group_id: str, data: bytes) -> str | None:
        started = time.perf_counter()
        resp = await self.team.http.post(
            f"/groups/{group_id}/files",
            files={"file": ("kwitansi.pdf", data, "application/pdf")},
            data={"purpose": "receipt"},
            headers=self.headers,
        )
        self.team.stats.actions["upload-file"].append((time.perf_counter() - started) * 1000)
        self.team.stats.statuses[f"upload-file:{resp.status_code}"] += 1
        if resp.status_code != 201:
            self.team.stats.error(f"upload {group_id}: {resp.status_code} {resp.text[:300]}")
            return None
        file_id: str = resp.json()["file_id"]
        return file_id


def receipt_pdf(text: str) -> bytes:
    """A one-page PDF receipt saying `text` (with its cross-reference table right): the group id in
    the text makes every group's receipts its own, as a receipt may account for one group only."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


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
