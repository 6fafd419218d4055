"""Members (anggota) as the read model holds them. The NIKs answered here are in clear: they go to the
workflow or to a check, never into a page or a response."""

from __future__ import annotations

from api.queries.common import Db


async def niks_by_number(db: Db, *, group_id: str, numbers: list[int]) -> dict[int, str]:
    """The NIKs of the group's members with these numbers (1-based, in the group's order)."""
    if not numbers:
        return {}
    rows = await db.fetch(
        "SELECT member_no, nik FROM members WHERE group_id = $1 AND member_no = ANY($2::int[])",
        group_id,
        numbers,
    )
    return {r["member_no"]: r["nik"] for r in rows}


async def active_groups_of(db: Db, *, niks: list[str]) -> dict[str, str]:
    """For each of these NIKs that is in an active group, that group's id (a NIK is in one at most)."""
    rows = await db.fetch("SELECT nik, group_id FROM members WHERE active AND nik = ANY($1::text[])", niks)
    return {r["nik"]: r["group_id"] for r in rows}
