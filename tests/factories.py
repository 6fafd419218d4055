"""Test data: valid proposals of either programme with synthetic people, and officers."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date
from typing import Any

from jps.domain.models import BankAccount, Member, Officer, Proposal
from jps.domain.nik import Gender, make_nik
from jps.domain.programs import Program
from jps.domain.roles import Role

_serials = itertools.count(1)


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
) -> Proposal:
    padat_karya = program == Program.PADAT_KARYA
    return Proposal(
        program=program,
        name=name,
        region_code=region,
        description="Usaha kue dan katering" if not padat_karya else "Pembangunan saluran irigasi desa",
        requested_amount=amount,
        bank_account=BankAccount(bank_code="002", account_no=account_no, holder_name=name),
        members=[member(i, leader=i == 0, regency=region, with_account=padat_karya) for i in range(size)],
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
