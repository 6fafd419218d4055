"""TKM groups at the LPJ's steps, for the console's LPJ tests: paid and owing the LPJ, or with the
LPJ rejected and the whole aid under recovery; and a row of the console's LPJ form."""

from __future__ import annotations

import httpx

from jps.domain.programs import Program
from jps.domain.roles import Role
from tests import factories
from tests.api.conftest import Stack, act, submit, today, wait_for_stage
from tests.evidence_files import pdf

PAID = 10_000_000


async def paid_tkm(http: httpx.AsyncClient, stack: Stack, name: str = "Kelompok Usaha Maju Jaya") -> str:
    """A TKM group paid Rp 10.000.000, in mentoring with its LPJ due."""
    proposal = factories.proposal(Program.TKM, size=12, amount=PAID, name=name)
    gid: str = (await submit(http, stack, proposal))["group_id"]
    await act(http, stack, gid, "verify", Role.VERIFIER, {"decision": "approve"})
    day = today()
    training = {"starts_on": day, "ends_on": day, "venue": "BLK Jakarta Timur"}
    await act(http, stack, gid, "schedule-training", Role.TRAINER, training)
    niks = [m.nik for m in proposal.members]
    await act(http, stack, gid, "record-attendance", Role.TRAINER, {"attended_niks": niks})
    await act(http, stack, gid, "approve-disbursement", Role.FINANCE, {"amount": PAID})
    await wait_for_stage(http, stack, gid, "mentoring")
    return gid


async def in_recovery(http: httpx.AsyncClient, stack: Stack, name: str) -> str:
    """A paid TKM group whose LPJ (sent over the API) a verifier rejected: the whole aid is owed back."""
    gid = await paid_tkm(http, stack, name=name)
    lines = []
    for category, amount in (("capital_goods", 8_000_000), ("working_capital", 2_000_000)):
        resp = await http.post(
            f"/groups/{gid}/files",
            files={"file": ("nota.pdf", pdf(f"{gid} {category}"), "application/pdf")},
            data={"purpose": "receipt"},
            headers=stack.auth(Role.MENTOR),
        )
        assert resp.status_code == 201, resp.text
        line = {"category": category, "amount": amount, "spent_on": today(), "supplier": "Toko Tani"}
        lines.append({**line, "file_id": resp.json()["file_id"]})
    await act(http, stack, gid, "submit-lpj", Role.MENTOR, {"lines": lines})
    review = {"decision": "reject", "notes": "barang tidak ada di lokasi usaha"}
    await act(http, stack, gid, "review-lpj", Role.VERIFIER, review)
    await wait_for_stage(http, stack, gid, "recovery")
    return gid


def row(i: int, category: str, amount: str, supplier: str, **more: str) -> dict[str, str]:
    """Row `i` (0-based) of the console's LPJ form, spent today; `more`: receipt=…, photo=…."""
    return {
        f"l{i}_category": category,
        f"l{i}_amount": amount,
        f"l{i}_spent_on": today(),
        f"l{i}_supplier": supplier,
        **{f"l{i}_{k}": v for k, v in more.items()},
    }
