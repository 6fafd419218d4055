"""The LPJ's checks (laporan pertanggungjawaban, a TKM group's use-of-funds report): pure functions
the workflow's validator and the API both call, each refusal naming the field it is about.

What needs PostgreSQL (a receipt already used by another group, a file of another group) is checked by
the API before the step and by the step's own transaction (`lpj_receipts`), never here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from jps.domain.models import SpendingLine
from jps.domain.programs import LpjCategory, LpjPolicy


def totals_by_category(lines: Sequence[SpendingLine]) -> dict[str, int]:
    out = {category.value: 0 for category in LpjCategory}
    for line in lines:
        out[line.category.value] += line.amount
    return out


def lpj_problem(
    lines: Sequence[SpendingLine], *, paid: int, paid_on: date, today: date, policy: LpjPolicy
) -> str | None:
    """Why these lines cannot be an LPJ for `paid` rupiah paid on `paid_on` ("field: reason"), or None."""
    if len(lines) > policy.max_lines:
        return f"lines: at most {policy.max_lines} lines"
    seen_files: dict[str, int] = {}
    seen_hashes: dict[str, int] = {}
    for i, line in enumerate(lines):
        field = f"lines[{i}]"
        if line.spent_on < paid_on:
            return f"{field}.spent_on: before the aid was paid ({paid_on.isoformat()})"
        if line.spent_on > today:
            return f"{field}.spent_on: a date in the future"
        if line.file_id in seen_files:
            return f"{field}.file_id: the same receipt as line {seen_files[line.file_id]}"
        seen_files[line.file_id] = i
        if line.receipt_sha256 is None:
            return f"{field}.file_id: the receipt's file is unknown"
        if line.receipt_sha256 in seen_hashes:
            first = seen_hashes[line.receipt_sha256]
            return f"{field}.file_id: the same receipt (by its content) as line {first}"
        seen_hashes[line.receipt_sha256] = i
    total = sum(line.amount for line in lines)
    if total > paid:
        return f"lines: the lines add up to {total:,} rupiah, more than the {paid:,} paid"
    for category, amount in totals_by_category(lines).items():
        bounds = policy.split.get(LpjCategory(category))
        if bounds is None:
            continue
        # Whole-number comparison of amount/total with the bounds in percent: no rounding.
        share = f"lines: {category} is {amount * 100 // total}% of the total"
        if amount * 100 < bounds.min * total:
            return f"{share}; the policy asks at least {bounds.min}%"
        if amount * 100 > bounds.max * total:
            return f"{share}; the policy allows at most {bounds.max}%"
    return None
