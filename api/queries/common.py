"""What the query modules share: a WHERE clause built filter by filter with numbered asyncpg
parameters (no string-pasted values), the officer's region scope as LIKE patterns, and paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from jps.domain.models import Officer
from jps.domain.roles import is_national

# A pool or one of its connections: every query function takes either.
Db = asyncpg.Pool | asyncpg.Connection

BIGINT_MAX = 2**63 - 1


class Where:
    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def ref(self, value: Any) -> str:
        """A parameter for use outside the WHERE clause (e.g. in a CTE): its `$n` placeholder."""
        self.params.append(value)
        return f"${len(self.params)}"

    def add(self, clause: str, *values: Any) -> None:
        """Each `?` in `clause` takes the next of `values`."""
        for value in values:
            clause = clause.replace("?", self.ref(value), 1)
        self.clauses.append(clause)

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) or "TRUE"


def region_filter(officer: Officer) -> list[str] | None:
    """LIKE patterns for the officer's scope; None means national (no filter)."""
    if is_national(officer.regions):
        return None
    return [f"{scope}%" for scope in officer.regions]


@dataclass(frozen=True)
class PageParams:
    page: int
    size: int

    @property
    def offset(self) -> int:
        # A page far past the end is empty, not a 500: OFFSET is a bigint (asyncpg raised on more).
        return min((self.page - 1) * self.size, BIGINT_MAX)
