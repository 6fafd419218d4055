"""The October 2020 demo cohort: synthetic groups of synthetic people with valid NIKs, driven through
the real workflows to the state the Kompas article of 7 October 2020 reports (status 2 October):
TKM 1,985 groups / 39,700 people and Padat Karya 1,091 groups / 21,820 people, aid disbursed.

Every group has 20 members (39,700 / 1,985 = 21,820 / 1,091 = 20) and asks for Rp 10,000,000. The
cohort is deterministic: group n of a programme is always the same group with the same people, and
its id comes from an idempotency key, so running the seed again (or with a larger `scale`) resumes
each group where it stands instead of creating anything twice. Groups are spread over twenty cities;
within a city every person gets its own NIK serial, so no NIK is in two groups.

The seed drives each group as its officers would, through `infra.lifecycle` (the same calls the API
makes): verify, schedule and attend training today, approve the requested amount, let the bank pay
(its callback reaches the API; without one the workflow polls the bank), until the group is in
mentoring with its aid paid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
from temporalio.client import Client

from infra import lifecycle
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
from jps.domain.nik import Gender, make_nik
from jps.domain.programs import Program, ProgramPolicy
from jps.domain.roles import NATIONAL, Role
from jps.domain.stages import Stage, TaskKind

COHORT: dict[Program, tuple[int, int]] = {Program.TKM: (1_985, 39_700), Program.PADAT_KARYA: (1_091, 21_820)}
GROUP_SIZE = 20
REQUESTED_AMOUNT = 10_000_000
SEED_REGISTRAR = "seed-demo"

# Twenty cities (kode wilayah kabupaten/kota) across the provinces.
REGENCIES = (
    "1171",
    "1271",
    "1371",
    "1471",
    "1671",
    "1871",
    "3171",
    "3172",
    "3173",
    "3174",
    "3273",
    "3374",
    "3471",
    "3578",
    "3671",
    "5171",
    "6171",
    "6471",
    "7371",
    "9171",
)
_MEN = (
    "Budi",
    "Agus",
    "Joko",
    "Slamet",
    "Andi",
    "Rudi",
    "Hendra",
    "Eko",
    "Dedi",
    "Bambang",
    "Yusuf",
    "Rizki",
)
_WOMEN = ("Siti", "Sri", "Dewi", "Nur", "Ani", "Rina", "Wati", "Yuni", "Ratna", "Lestari", "Putri", "Ayu")
_FAMILY = (
    "Santoso",
    "Wijaya",
    "Saputra",
    "Hidayat",
    "Lubis",
    "Siregar",
    "Nasution",
    "Pratama",
    "Kusuma",
    "Setiawan",
    "Harahap",
    "Simanjuntak",
    "Wibowo",
    "Gunawan",
    "Rahman",
    "Sinaga",
)
_TRADES = ("Warung Makan", "Jahit", "Kue", "Bengkel", "Kerajinan", "Ternak Lele", "Laundry", "Sablon")
_WORKS = ("Saluran Irigasi", "Jalan Desa", "Embung", "Drainase", "Jalan Usaha Tani", "Sumur Bor")
_BANKS = ("002", "008", "009", "014")


def group_counts(scale: float) -> dict[Program, int]:
    """Groups per programme at `scale` (at least one each); 1.0 is the whole cohort."""
    return {p: max(1, round(groups * scale)) for p, (groups, _) in COHORT.items()}


def _person(regency: str, local: int, global_no: int, leader: bool, account: bool) -> Member:
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
    )


def demo_proposal(program: Program, n: int) -> Proposal:
    """Group `n` (0-based) of a programme: always the same group with the same people."""
    g = n if program == Program.TKM else COHORT[Program.TKM][0] + n  # cohort-wide group number
    regency = REGENCIES[g % len(REGENCIES)]
    padat_karya = program == Program.PADAT_KARYA
    members = [
        _person(regency, (g // len(REGENCIES)) * GROUP_SIZE + j, g * GROUP_SIZE + j, j == 0, padat_karya)
        for j in range(GROUP_SIZE)
    ]
    kind = _WORKS[g % len(_WORKS)] if padat_karya else _TRADES[g % len(_TRADES)]
    name = f"{'Padat Karya' if padat_karya else 'Kelompok'} {kind} {n + 1:04d}"
    return Proposal(
        program=program,
        name=name,
        region_code=regency,
        description=f"{'Pembangunan' if padat_karya else 'Usaha'} {kind.lower()}",
        requested_amount=REQUESTED_AMOUNT,
        bank_account=BankAccount(bank_code=_BANKS[g % 4], account_no=f"9{g:09d}", holder_name=name),
        members=members,
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


async def _next_step(
    client: Client, state: GroupSummary, proposal: Proposal, today: date
) -> GroupSummary | None:
    """One officer step for the group's open task; None when nothing is for an officer to do now."""
    task = state.open_task.kind if state.open_task else None
    gid = state.group_id
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
            ApproveDisbursementArgs(amount=state.requested_amount, officer=_OFFICERS[Role.FINANCE]),
        ),
        TaskKind.AUTHORIZE_DISBURSEMENT: (
            "authorize_disbursement",
            AuthorizeDisbursementArgs(officer=_CHECKER),
        ),
    }
    if task not in steps:
        return None
    update, args = steps[task]
    return await lifecycle.act(client, gid, update, args)


async def drive_group(
    client: Client,
    pool: asyncpg.Pool,
    *,
    key: str,
    proposal: Proposal,
    policy: ProgramPolicy,
    task_queue: str,
    wait_s: float = 900.0,
) -> GroupSummary:
    """Submit (or find) the group and take it step by step until its aid is paid."""
    group_id = lifecycle.group_id_for(proposal, lifecycle.idempotent_suffix(SEED_REGISTRAR, key))
    state = await lifecycle.submit_proposal(
        client,
        proposal=proposal,
        policy=policy,
        submitted_by=SEED_REGISTRAR,
        task_queue=task_queue,
        group_id=group_id,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    delay = 0.2
    while state.stage not in (Stage.MENTORING, Stage.COMPLETED, Stage.REJECTED, Stage.CANCELLED):
        stepped = await _next_step(client, state, proposal, local_date(datetime.now(UTC)))
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
