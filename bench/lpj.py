"""The simulated mentor's LPJ for a paid TKM group (issue 12): a receipt per spending line, uploaded
as a small PDF of the group's own (`POST /groups/{id}/files`), then the report for the whole aid paid
(`submit-lpj`); the verifier accepts it (`bench.officers`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jps.domain.calendar import local_date
from tools.evidence_files import pdf as receipt_pdf

if TYPE_CHECKING:
    from bench.officers import SimulatedOfficer

__all__ = ["LPJ_SPLIT", "receipt_pdf", "submit_lpj"]

# The LPJ's spending lines: the aid split 70/30 between the policy's categories (at least 60% capital goods).
LPJ_SPLIT = (("capital_goods", 70, "Toko Alat Usaha"), ("working_capital", 30, "UD Bahan Baku"))


async def submit_lpj(officer: SimulatedOfficer, group_id: str) -> None:
    """Upload a receipt per spending line and submit the LPJ for the whole aid paid."""
    detail = await officer.team.http.get(f"/groups/{group_id}", headers=officer.headers)
    if detail.status_code != 200:
        officer.team.stats.error(f"submit-lpj {group_id}: reading the group: {detail.status_code}")
        return
    paid: int = detail.json()["paid_amount"]
    today = local_date(datetime.now(UTC)).isoformat()
    lines = []
    left = paid
    for i, (category, percent, supplier) in enumerate(LPJ_SPLIT):
        amount = left if i == len(LPJ_SPLIT) - 1 else paid * percent // 100
        left -= amount
        receipt = receipt_pdf(f"Kwitansi {group_id} {category} Rp {amount}")
        file_id = await officer._upload(group_id, ("kwitansi.pdf", receipt, "application/pdf"))
        if file_id is None:
            return
        lines.append(
            {
                "category": category,
                "amount": amount,
                "spent_on": today,
                "supplier": supplier,
                "file_id": file_id,
            }
        )
    body = {"lines": lines, "notes": "nota asli disimpan kelompok"}
    await officer._post(f"/groups/{group_id}/actions/submit-lpj", body, "submit-lpj")
