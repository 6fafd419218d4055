"""The cohort as a registrar uploads it: one CSV line per member (the import file's columns), and
what the simulated officers know about each group (its programme and members' NIKs, from the
attendance sheet they carry)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from api.importer import COLUMNS  # the import file's columns (api/importer.py documents them)
from jps.domain.models import Proposal
from jps.domain.programs import Program
from tools.seed import COHORT, demo_proposal


@dataclass(frozen=True)
class CohortGroup:
    ref: str
    proposal: Proposal

    @property
    def niks(self) -> list[str]:
        return [m.nik for m in self.proposal.members]


def counts_for(scale: float, groups: int | None = None) -> dict[Program, int]:
    """Groups per programme: `groups` split in the cohort's proportion, else `scale` of each
    programme (at least one of each)."""
    total = sum(n for n, _ in COHORT.values())
    if groups is not None:
        tkm = min(groups - 1, max(1, round(groups * COHORT[Program.TKM][0] / total))) if groups > 1 else 1
        return {Program.TKM: tkm, Program.PADAT_KARYA: groups - tkm}
    return {p: max(1, round(n * scale)) for p, (n, _) in COHORT.items()}


def build(counts: dict[Program, int]) -> list[CohortGroup]:
    """The seed's deterministic groups (valid NIKs, no NIK in two groups), interleaved by programme
    as a regional office's file would mix them."""
    by_program = {
        p: [CohortGroup(f"{p.value}-{n:04d}", demo_proposal(p, n)) for n in range(c)]
        for p, c in counts.items()
    }
    out: list[CohortGroup] = []
    longest = max(len(v) for v in by_program.values())
    for i in range(longest):
        for groups in by_program.values():
            if i < len(groups):
                out.append(groups[i])
    return out


def _worksite(group: CohortGroup) -> dict[str, str]:
    site = group.proposal.worksite
    if site is None:
        return {}
    return {
        "worksite_lat": str(site.lat),
        "worksite_lon": str(site.lon),
        "worksite_radius_m": str(site.radius_m),
    }


def _rows(group: CohortGroup) -> list[dict[str, str]]:
    p = group.proposal
    rows = []
    for i, m in enumerate(p.members):
        head = (
            {
                "program": p.program.value,
                "group_name": p.name,
                "region_code": p.region_code,
                "requested_amount": str(p.requested_amount),
                "description": p.description,
                "group_bank_code": p.bank_account.bank_code,
                "group_account_no": p.bank_account.account_no,
                "group_account_holder": p.bank_account.holder_name,
                **_worksite(group),
            }
            if i == 0
            else {}
        )
        acct = m.bank_account
        rows.append(
            {
                "group_ref": group.ref,
                **head,
                "nik": m.nik,
                "member_name": m.name,
                "birth_date": m.birth_date.isoformat() if m.birth_date else "",
                "gender": m.gender.value if m.gender else "",
                "phone": m.phone,
                "is_leader": "ya" if m.is_leader else "tidak",
                "bank_code": acct.bank_code if acct else "",
                "account_no": acct.account_no if acct else "",
                "account_holder": acct.holder_name if acct else "",
                "work_role": m.work_role.value if p.worksite else "",
            }
        )
    return rows


def to_csv(groups: list[CohortGroup]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    for g in groups:
        writer.writerows(_rows(g))
    return buf.getvalue().encode()
