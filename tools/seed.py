"""The October 2020 demo cohort: synthetic groups of synthetic people with valid NIKs, driven through
the real workflows to the state the Kompas article of 7 October 2020 reports (status 2 October):
TKM 1,985 groups / 39,700 people and Padat Karya 1,091 groups / 21,820 people, aid disbursed.

Every group has 20 members (39,700 / 1,985 = 21,820 / 1,091 = 20) and asks for Rp 10,000,000. The
cohort is deterministic: group n of a programme is always the same group with the same people, and
its id comes from an idempotency key, so running the seed again (or with a larger `scale`) resumes
each group where it stands instead of creating anything twice. Groups are spread over twenty cities;
within a city every person gets its own NIK serial, so no NIK is in two groups.

The seed drives each group as its officers would, through `infra.lifecycle` (the same calls the API
makes): verify, schedule and attend training today, approve the aid, let the bank pay (its callback
reaches the API; without one the workflow polls the bank), until the group is in mentoring with its
aid paid. A Padat Karya group is run as the deployment's policy says: under the wage rule (the
built-in default, docs/wages.md) its proposal names a worksite near its city's centre and a crew
(the leader foreman, two skilled workers, seventeen workers); finance approves the wage bill of
`tools.work_period.CrewPlan` (the policy's planned workdays, Monday to Friday of the last full weeks
before today; each day the foreman, the skilled and as many workers in turn as Rp 10,000,000 pays
for: six a day at the default rates, so the bill is the whole Rp 10,000,000); for each week the
mentor uploads a photo of the worksite per workday and submits the roll, finance releases the run
(a supervisor authorizes it above the weekly threshold), the bank pays each worker; when the planned
workdays are paid the group is in mentoring. Under a policy without the rule, the earlier equal
split: one approval, one transfer per worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client

from infra import lifecycle
from infra.filestore import FileStore
from jps.domain.calendar import local_date
from jps.domain.models import (
    ApproveDisbursementArgs,
    AuthorizeDisbursementArgs,
    BankAccount,
    DecideTrainingArgs,
    GroupSummary,
    Member,
    Officer,
    Proposal,
    RecordAttendanceArgs,
    ResubmitArgs,
    ScheduleTrainingArgs,
    VerifyArgs,
)
from jps.domain.muster import ApproveWagesArgs, AuthorizeWagesArgs
from jps.domain.nik import Gender, make_nik
from jps.domain.programs import Program, ProgramPolicy
from jps.domain.roles import NATIONAL, Role
from jps.domain.stages import Stage, TaskKind
from jps.domain.wages import WorkRole, Worksite
from tools.work_period import CrewPlan, keep_worksite_photos, roll, week_in

COHORT: dict[Program, tuple[int, int]] = {Program.TKM: (1_985, 39_700), Program.PADAT_KARYA: (1_091, 21_820)}
GROUP_SIZE = 20
REQUESTED_AMOUNT = 10_000_000
SEED_REGISTRAR = "seed-demo"

# Twenty cities (kode wilayah kabupaten/kota) across the provinces, with their centres: a Padat
# Karya group's worksite is near its city's (lat, lon).
CITY_CENTRES: dict[str, tuple[float, float]] = {
    "1171": (5.55, 95.32),  # Banda Aceh
    "1271": (3.59, 98.67),  # Medan
    "1371": (-0.95, 100.35),  # Padang
    "1471": (0.51, 101.45),  # Pekanbaru
    "1671": (-2.98, 104.76),  # Palembang
    "1871": (-5.43, 105.26),  # Bandar Lampung
    "3171": (-6.26, 106.81),  # Jakarta Selatan
    "3172": (-6.23, 106.90),  # Jakarta Timur
    "3173": (-6.18, 106.83),  # Jakarta Pusat
    "3174": (-6.17, 106.76),  # Jakarta Barat
    "3273": (-6.91, 107.61),  # Bandung
    "3374": (-6.99, 110.42),  # Semarang
    "3471": (-7.80, 110.37),  # Yogyakarta
    "3578": (-7.26, 112.75),  # Surabaya
    "3671": (-6.18, 106.63),  # Tangerang
    "5171": (-8.65, 115.22),  # Denpasar
    "6171": (-0.03, 109.33),  # Pontianak
    "6471": (-1.24, 116.85),  # Balikpapan
    "7371": (-5.14, 119.42),  # Makassar
    "9171": (-0.88, 131.25),  # Sorong
}
REGENCIES = tuple(CITY_CENTRES)
# A Padat Karya group's crew: the leader is the foreman (mandor), the next two skilled workers
# (tukang), the others workers (pekerja).
CREW_ROLES = {0: WorkRole.FOREMAN, 1: WorkRole.SKILLED, 2: WorkRole.SKILLED}
_MEN = tuple("Budi Agus Joko Slamet Andi Rudi Hendra Eko Dedi Bambang Yusuf Rizki".split())
_WOMEN = ("Siti", "Sri", "Dewi", "Nur", "Ani", "Rina", "Wati", "Yuni", "Ratna", "Lestari", "Putri", "Ayu")
_FAMILY = tuple(
    "Santoso Wijaya Saputra Hidayat Lubis Siregar Nasution Pratama"
    " Kusuma Setiawan Harahap Simanjuntak Wibowo Gunawan Rahman Sinaga".split()
)
_TRADES = ("Warung Makan", "Jahit", "Kue", "Bengkel", "Kerajinan", "Ternak Lele", "Laundry", "Sablon")
_WORKS = ("Saluran Irigasi", "Jalan Desa", "Embung", "Drainase", "Jalan Usaha Tani", "Sumur Bor")
_BANKS = ("002", "008", "009", "014")


def group_counts(scale: float) -> dict[Program, int]:
    """Groups per programme at `scale` (at least one each); 1.0 is the whole cohort."""
    return {p: max(1, round(groups * scale)) for p, (groups, _) in COHORT.items()}


def _person(
    regency: str, local: int, global_no: int, leader: bool, account: bool, role: WorkRole = WorkRole.WORKER
) -> Member:
    gender = Gender.FEMALE if global_no % 2 else Gender.MALE
    born = date(1962 + global_no * 7 % 40, 1 + global_no % 12, 1 + global_no * 3 % 28)
    first = (_WOMEN if gender == Gender.FEMALE else _MEN)[global_no % 12]
    name = f"{first} {_FAMILY[global_no * 5 % len(_FAMILY)]}"
    return Member(
        # Each city's people are numbered from 1: the serial alone keeps every NIK of a city unique.
        nik=make_nik(regency, f"{1 + local % 30:02d}", born, gender, local + 1),
        name=name,
        birth_date=born,
        gender=gender,
        phone=f"+62812{global_no:08d}",
        is_leader=leader,
        bank_account=BankAccount(
            bank_code=_BANKS[global_no % 4], account_no=f"5{global_no:011d}", holder_name=name
        )
        if account
        else None,
        work_role=role,
    )


def demo_proposal(program: Program, n: int) -> Proposal:
    """Group `n` (0-based) of a programme: always the same group with the same people."""
    g = n if program == Program.TKM else COHORT[Program.TKM][0] + n  # cohort-wide group number
    regency = REGENCIES[g % len(REGENCIES)]
    padat_karya = program == Program.PADAT_KARYA
    first_local = (g // len(REGENCIES)) * GROUP_SIZE
    members = [
        _person(regency, first_local + j, g * GROUP_SIZE + j, j == 0, padat_karya, role)
        for j in range(GROUP_SIZE)
        for role in [CREW_ROLES.get(j, WorkRole.WORKER) if padat_karya else WorkRole.WORKER]
    ]
    kind = _WORKS[g % len(_WORKS)] if padat_karya else _TRADES[g % len(_TRADES)]
    lat, lon = CITY_CENTRES[regency]
    # Each group's site a little apart from the others of its city (about 100 m a step).
    site = Worksite(lat=lat + (g // len(REGENCIES)) % 20 * 0.001, lon=lon, radius_m=200)
    name = f"{'Padat Karya' if padat_karya else 'Kelompok'} {kind} {n + 1:04d}"
    return Proposal(
        program=program,
        name=name,
        region_code=regency,
        description=f"{'Pembangunan' if padat_karya else 'Usaha'} {kind.lower()}",
        requested_amount=REQUESTED_AMOUNT,
        bank_account=BankAccount(bank_code=_BANKS[g % 4], account_no=f"9{g:09d}", holder_name=name),
        members=members,
        worksite=site if padat_karya else None,
    )


def cohort(scale: float = 1.0) -> Iterator[tuple[str, Proposal]]:
    """(idempotency key, proposal) of every group at `scale`."""
    for program, count in group_counts(scale).items():
        for n in range(count):
            yield f"{program.value}:{n}", demo_proposal(program, n)


# ---- driving the groups ----

_OFFICERS = {
    role: Officer(id=f"seed-{role.value}", name=f"Demo {role.value}", roles=[role], regions=[NATIONAL])
    for role in Role
}
_CHECKER = Officer(id="seed-supervisor-2", name="Demo checker", roles=[Role.SUPERVISOR], regions=[NATIONAL])


@dataclass
class SeedResult:
    groups: dict[Program, int] = field(default_factory=lambda: dict.fromkeys(Program, 0))
    people: dict[Program, int] = field(default_factory=lambda: dict.fromkeys(Program, 0))
    disbursed: dict[Program, int] = field(default_factory=lambda: dict.fromkeys(Program, 0))
    failed: list[tuple[str, str]] = field(default_factory=list)


async def fund_budget(pool: asyncpg.Pool, proposals: list[Proposal]) -> None:
    """Make sure each city's allocation can pay the cohort's groups there (the demo's budget)."""
    from infra.ledger import set_allocation  # the one writer of allocations

    needed: dict[tuple[str, str], int] = {}
    for p in proposals:
        key = (p.program.value, p.region_code)
        needed[key] = needed.get(key, 0) + p.requested_amount
    for (program, region), amount in needed.items():
        row = await pool.fetchrow(
            "SELECT amount, reserved, spent FROM budget_allocations WHERE program = $1 AND region_code = $2",
            program,
            region,
        )
        floor = (row["reserved"] + row["spent"] if row else 0) + amount
        if row is None or row["amount"] < floor:
            await set_allocation(pool, program, region, floor)


@dataclass
class WorkPeriod:
    """A Padat Karya group paid by muster rolls (the policy's wage rule): its crew plan (the wage bill
    finance approves, spent to the rupiah) and the store its worksite photos go to."""

    pool: asyncpg.Pool
    store: FileStore
    proposal: Proposal
    plan: CrewPlan

    @classmethod
    def of(
        cls, pool: asyncpg.Pool, store: FileStore, proposal: Proposal, policy: ProgramPolicy
    ) -> WorkPeriod | None:
        if proposal.program != Program.PADAT_KARYA or policy.wages is None:
            return None  # the equal split: one approval, one batch
        members = [(m.nik, m.work_role) for m in proposal.members]
        today = local_date(datetime.now(UTC))
        budget = proposal.requested_amount
        plan = CrewPlan.of(members, proposal.region_code, policy.wages, today=today, budget=budget)
        return cls(pool, store, proposal, plan)

    async def step(self, client: Client, state: GroupSummary) -> GroupSummary | None:
        """The work period's next step: a supervisor authorizes a run above the weekly threshold,
        finance releases an accepted one, the mentor submits the next planned week's roll with a
        photo of the worksite per workday."""
        gid, wages = state.group_id, state.wages
        kinds = {t.kind for t in state.open_tasks}
        if TaskKind.AUTHORIZE_WAGES in kinds and (week := week_in(wages, "to_authorize")):
            args: BaseModel = AuthorizeWagesArgs(week_starts_on=week, notes="demo cohort", officer=_CHECKER)
            return await lifecycle.act_then_state(client, gid, "authorize_wages", args)
        if TaskKind.APPROVE_WAGES in kinds and (week := week_in(wages, "accepted")):
            args = ApproveWagesArgs(week_starts_on=week, notes="demo cohort", officer=_OFFICERS[Role.FINANCE])
            return await lifecycle.act_then_state(client, gid, "approve_wages", args)
        done = {w.week_starts_on for w in wages.weeks} if wages else set()
        week = next((w for w in self.plan.weeks() if w not in done), None)
        site = self.proposal.worksite
        if TaskKind.SUBMIT_MUSTER not in kinds or week is None or site is None:
            return None
        mentor = _OFFICERS[Role.MENTOR]
        attendance = self.plan.attendance(week)
        photos = await keep_worksite_photos(
            self.pool, self.store, group_id=gid, site=site, days=list(attendance), officer=mentor
        )
        return await lifecycle.act_then_state(
            client, gid, "submit_muster", roll(week, attendance, photos, mentor)
        )


async def _next_step(
    client: Client, state: GroupSummary, proposal: Proposal, today: date, work: WorkPeriod | None
) -> GroupSummary | None:
    """One officer step for the group's open task; None when nothing is for an officer to do now."""
    task = state.open_task.kind if state.open_task else None
    gid = state.group_id
    amount = work.plan.bill if work is not None else state.requested_amount
    steps = {
        TaskKind.VERIFY: (
            "verify",
            VerifyArgs(decision="approve", notes="demo cohort", officer=_OFFICERS[Role.VERIFIER]),
        ),
        TaskKind.RESUBMIT_PROPOSAL: ("resubmit", ResubmitArgs(officer=_OFFICERS[Role.REGISTRAR])),
        TaskKind.SCHEDULE_TRAINING: (
            "schedule_training",
            ScheduleTrainingArgs(
                starts_on=today, ends_on=today, venue="BLK setempat", officer=_OFFICERS[Role.TRAINER]
            ),
        ),
        TaskKind.RECORD_ATTENDANCE: (
            "record_attendance",
            RecordAttendanceArgs(
                attended_niks=[m.nik for m in proposal.members], officer=_OFFICERS[Role.TRAINER]
            ),
        ),
        TaskKind.DECIDE_TRAINING: (
            "decide_training",
            DecideTrainingArgs(decision="proceed", notes="demo cohort", officer=_OFFICERS[Role.SUPERVISOR]),
        ),
        TaskKind.APPROVE_DISBURSEMENT: (
            "approve_disbursement",
            ApproveDisbursementArgs(amount=amount, officer=_OFFICERS[Role.FINANCE]),
        ),
        TaskKind.AUTHORIZE_DISBURSEMENT: (
            "authorize_disbursement",
            AuthorizeDisbursementArgs(officer=_CHECKER),
        ),
    }
    if task not in steps:
        return await work.step(client, state) if work is not None else None
    update, args = steps[task]
    return await lifecycle.act_then_state(client, gid, update, args)


async def drive_group(
    client: Client,
    pool: asyncpg.Pool,
    *,
    key: str,
    proposal: Proposal,
    policy: ProgramPolicy,
    task_queue: str,
    store: FileStore,
    wait_s: float = 900.0,
) -> GroupSummary:
    """Submit (or find) the group and take it step by step until its aid is paid (under the wage
    rule: until its planned workdays are paid, week by week)."""
    group_id = lifecycle.group_id_for(proposal, lifecycle.idempotent_suffix(SEED_REGISTRAR, key))
    state = await lifecycle.submit_proposal(
        client,
        proposal=proposal,
        policy=policy,
        submitted_by=SEED_REGISTRAR,
        task_queue=task_queue,
        group_id=group_id,
    )
    work = WorkPeriod.of(pool, store, proposal, policy)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    delay = 0.2
    while state.stage not in (Stage.MENTORING, Stage.COMPLETED, Stage.REJECTED, Stage.CANCELLED):
        stepped = await _next_step(client, state, proposal, local_date(datetime.now(UTC)), work)
        if stepped is not None:
            state, delay = stepped, 0.2
            continue
        # Waiting on the bank (or a budget, or a freeze). The read model tells when the workflow
        # recorded a later step; only then is the workflow itself asked (a query costs a workflow
        # task). A state's `seq` already covers the step being recorded, so "later" means above it.
        while (
            await pool.fetchval("SELECT last_seq FROM groups WHERE group_id = $1", group_id) or 0
        ) <= state.seq:
            if loop.time() > deadline:
                task = state.open_task.kind.value if state.open_task else "none"
                raise TimeoutError(f"{group_id} still in {state.stage.value} waiting on {task}")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 5.0)
        delay = 0.2
        state = await lifecycle.query_state(client, group_id)
    return state


async def seed_demo(
    client: Client,
    pool: asyncpg.Pool,
    *,
    policies: dict[Program, ProgramPolicy],
    task_queue: str,
    store: FileStore,
    scale: float = 1.0,
    concurrency: int = 32,
    on_progress: Callable[[GroupSummary | None], None] | None = None,
) -> SeedResult:
    """Create (or resume) the cohort at `scale` and drive every group to disbursed aid."""
    groups = list(cohort(scale))
    await fund_budget(pool, [p for _, p in groups])
    result = SeedResult()
    gate = asyncio.Semaphore(concurrency)

    async def one(key: str, proposal: Proposal) -> None:
        reached: GroupSummary | None = None
        async with gate:
            try:
                reached = await drive_group(
                    client,
                    pool,
                    key=key,
                    proposal=proposal,
                    policy=policies[proposal.program],
                    task_queue=task_queue,
                    store=store,
                )
            except (lifecycle.Refusal, TimeoutError) as exc:
                result.failed.append((key, str(exc)))
            else:
                result.groups[proposal.program] += 1
                result.people[proposal.program] += len(proposal.members)
                if reached.stage in (Stage.MENTORING, Stage.COMPLETED):
                    result.disbursed[proposal.program] += 1
                else:
                    result.failed.append((key, f"{reached.group_id} ended {reached.stage.value}"))
            if on_progress is not None:
                on_progress(reached)

    await asyncio.gather(*(one(k, p) for k, p in groups))
    return result
