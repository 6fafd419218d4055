"""Steps of the LPJ over HTTP, as a mentor takes them: upload receipts, then cite them in lines."""

from __future__ import annotations

from typing import Any

import httpx

from jps.domain.roles import Role
from tests.api.conftest import Stack, act, today


def receipt(tag: str) -> bytes:
    """A small PDF whose bytes (and so its hash) are the tag's own."""
    return b"%PDF-1.4\n% kwitansi " + tag.encode() + b"\n1 0 obj << >> endobj\n%%EOF\n"


async def upload(
    http: httpx.AsyncClient, stack: Stack, gid: str, data: bytes, purpose: str = "receipt"
) -> str:
    resp = await http.post(
        f"/groups/{gid}/files",
        files={"file": ("kwitansi.pdf", data, "application/pdf")},
        data={"purpose": purpose},
        headers=stack.auth(Role.MENTOR),
    )
    assert resp.status_code == 201, resp.text
    file_id: str = resp.json()["file_id"]
    return file_id


async def lines_for(
    http: httpx.AsyncClient,
    stack: Stack,
    gid: str,
    tag: str,
    amounts: tuple[int, int] = (7_000_000, 3_000_000),
) -> list[dict[str, Any]]:
    capital, working = amounts
    out = []
    for category, amount in (("capital_goods", capital), ("working_capital", working)):
        file_id = await upload(http, stack, gid, receipt(f"{gid} {tag} {category}"))
        out.append(
            {
                "category": category,
                "amount": amount,
                "spent_on": today(),
                "supplier": "Toko Maju",
                "file_id": file_id,
            }
        )
    return out


async def account_for_the_aid(http: httpx.AsyncClient, stack: Stack, gid: str, paid: int) -> dict[str, Any]:
    """The whole aid accounted for (70/30), submitted by the mentor and accepted by a verifier."""
    capital = paid * 7 // 10
    lines = await lines_for(http, stack, gid, "all", (capital, paid - capital))
    await act(http, stack, gid, "submit-lpj", Role.MENTOR, {"lines": lines})
    return await act(http, stack, gid, "review-lpj", Role.VERIFIER, {"decision": "accept"})
