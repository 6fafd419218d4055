"""Test data: valid proposals of either programme with synthetic people, and officers."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date
from typing import Any

from jps.domain.models import BankAccount, Member, Officer, Proposal
from jps.domain.nik import Gender, make_nik
from jps.domain.programs import Program, ProgramPolicy, load_policies
from jps.domain.roles import Role
from jps.domain.wages import WorkRole, Worksite

_serials = itertools.count(1)

# Where a Padat Karya group's facility is built (Jakarta), and its default crew: the leader is the
# foreman (mandor), the others workers. The built-in policy pays Padat Karya by muster rolls, which
# needs both (docs/wages.md).
WORKSITE = Worksite(lat=-6.2, lon=106.85, radius_m=200)
CREW: dict[int, WorkRole] = {0: WorkRole.FOREMAN}

# Padat Karya as a group submitted before the wage rule (issue 13) is paid: one wage bill in equal
# shares, at once. Tests ABOUT that rule (shares, a refused worker's share, release-share of a lump
# sum) pin it with these; a deployment does the same with this policy file's content.
EQUAL_SPLIT_OVERRIDE: dict[str, Any] = {"padat_karya": {"wages": None}}
EQUAL_SPLIT_POLICIES: dict[Program, ProgramPolicy] = load_policies(overrides=EQUAL_SPLIT_OVERRIDE)
EQUAL_SPLIT: ProgramPolicy = EQUAL_SPLIT_POLICIES[Program.PADAT_KARYA]


def equal_split(policy: ProgramPolicy) -> ProgramPolicy:
    """`policy` (e.g. a compressed one) as a group submitted before the wage rule carries it."""
    return policy.model_copy(update={"wages": None})


def member(i: int, *, leader: bool = False, regency: str = "3171", with_account: bool = False) -> Member:
    gender = Gender.FEMALE if i % 2 else Gender.MALE
    born = date(1980 + i % 20, 1 + i % 12, 1 + i % 28)
    serial = next(_serials) % 9999 + 1
    nik = make_nik(regency, f"{1 + serial // 9999 % 99:02d}", born, gender, serial)
    return Member(
        nik=nik,
        name=f"Anggota {i}",
        birth_date=born,
        gender=gender,
        phone=f"+62812{serial:07d}",
        is_leader=leader,
        bank_account=BankAccount(bank_code="002", account_no=f"77{serial:08d}", holder_name=f"Anggota {i}")
        if with_account
        else None,
    )


def proposal(
    program: Program = Program.TKM,
    *,
    size: int = 20,
    region: str = "3171",
    amount: int = 10_000_000,
    account_no: str = "1234567890",
    name: str = "Kelompok Usaha Maju Jaya",
    roles: dict[int, WorkRole] | None = None,
    worksite: Worksite | None = WORKSITE,
) -> Proposal:
    """A valid proposal. Padat Karya: a worksite and work roles by member index (default `CREW`:
    the leader is the foreman; `roles={}` makes everyone a worker)."""
    padat_karya = program == Program.PADAT_KARYA
    crew = (CREW if roles is None else roles) if padat_karya else {}
    members = [member(i, leader=i == 0, regency=region, with_account=padat_karya) for i in range(size)]
    return Proposal(
        program=program,
        name=name,
        region_code=region,
        description="Usaha kue dan katering" if not padat_karya else "Pembangunan saluran irigasi desa",
        requested_amount=amount,
        bank_account=BankAccount(bank_code="002", account_no=account_no, holder_name=name),
        members=[
            m.model_copy(update={"work_role": crew[i]}) if i in crew else m for i, m in enumerate(members)
        ],
        worksite=worksite if padat_karya else None,
    )


def officer(role: Role, *, officer_id: str | None = None, regions: list[str] | None = None) -> Officer:
    return Officer(
        id=officer_id or f"{role.value}-1",
        name=f"Petugas {role.value}",
        roles=[role],
        regions=regions if regions is not None else ["31"],
    )


def lpj_lines(paid: int, spent_on: date, *, tag: str, capital_percent: int = 70) -> list[dict[str, Any]]:
    """An LPJ's spending lines for `paid` rupiah (capital goods / working capital), each with a
    receipt whose content hash is unique to `tag` (as the API fills it in from the file store)."""
    capital = paid * capital_percent // 100
    amounts = {"capital_goods": capital, "working_capital": paid - capital}
    lines = []
    for i, (category, amount) in enumerate(amounts.items()):
        if amount <= 0:
            continue
        digest = hashlib.sha256(f"receipt {tag} {i}".encode()).hexdigest()
        lines.append(
            {
                "category": category,
                "amount": amount,
                "spent_on": spent_on,
                "supplier": f"Toko {category.replace('_', ' ').title()}",
                "file_id": "F-" + digest[:26].upper(),
                "receipt_sha256": digest,
            }
        )
    return lines
