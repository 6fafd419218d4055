"""A WHERE clause built filter by filter with numbered asyncpg parameters (no string-pasted values)."""

from __future__ import annotations

from typing import Any


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
