"""The LPJ's checks, as plain functions: the split's bounds exactly, the total, dates and receipts."""

from __future__ import annotations

from datetime import date, timedelta

from jps.domain.lpj import lpj_problem, totals_by_category
from jps.domain.models import SpendingLine
from jps.domain.programs import LpjCategory, LpjPolicy

PAID_ON = date(2020, 11, 2)
TODAY = date(2020, 12, 1)
POLICY = LpjPolicy()


def line(category: LpjCategory, amount: int, n: int, *, spent_on: date = PAID_ON) -> SpendingLine:
    digest = f"{n:064x}"
    return SpendingLine(
        category=category,
        amount=amount,
        spent_on=spent_on,
        supplier="Toko Maju",
        file_id=f"F-{n:026d}",
        receipt_sha256=digest,
    )


def problem(*lines: SpendingLine, paid: int = 10_000_000) -> str | None:
    return lpj_problem(list(lines), paid=paid, paid_on=PAID_ON, today=TODAY, policy=POLICY)


def test_the_split_holds_at_its_bounds_to_the_rupiah() -> None:
    at_bound = (
        line(LpjCategory.CAPITAL_GOODS, 6_000_000, 1),
        line(LpjCategory.WORKING_CAPITAL, 4_000_000, 2),
    )
    assert problem(*at_bound) is None
    one_over = (
        line(LpjCategory.CAPITAL_GOODS, 5_999_999, 1),
        line(LpjCategory.WORKING_CAPITAL, 4_000_001, 2),
    )
    assert problem(*one_over) == "lines: capital_goods is 59% of the total; the policy asks at least 60%"
    assert (
        problem(line(LpjCategory.CAPITAL_GOODS, 3_000_000, 1)) is None
    )  # all capital goods, part of the aid
    assert totals_by_category(at_bound) == {"capital_goods": 6_000_000, "working_capital": 4_000_000}


def test_a_policy_may_move_the_bounds() -> None:
    loose = LpjPolicy.model_validate(
        {"split": {"capital_goods": {"min": 0}, "working_capital": {"max": 100}}}
    )
    lines = [line(LpjCategory.WORKING_CAPITAL, 1_000_000, 1)]
    assert lpj_problem(lines, paid=1_000_000, paid_on=PAID_ON, today=TODAY, policy=loose) is None
    assert problem(*lines) is not None


def test_the_total_dates_and_receipts() -> None:
    capital = line(LpjCategory.CAPITAL_GOODS, 10_000_001, 1)
    assert problem(capital) == "lines: the lines add up to 10,000,001 rupiah, more than the 10,000,000 paid"
    early = line(LpjCategory.CAPITAL_GOODS, 1, 1, spent_on=PAID_ON - timedelta(days=1))
    assert problem(early) == "lines[0].spent_on: before the aid was paid (2020-11-02)"
    late = line(LpjCategory.CAPITAL_GOODS, 1, 1, spent_on=TODAY + timedelta(days=1))
    assert problem(late) == "lines[0].spent_on: a date in the future"
    first = line(LpjCategory.CAPITAL_GOODS, 1_000, 1)
    same_file = first.model_copy(update={"receipt_sha256": "f" * 64})
    assert problem(first, same_file) == "lines[1].file_id: the same receipt as line 0"
    same_bytes = line(LpjCategory.CAPITAL_GOODS, 1_000, 2).model_copy(
        update={"receipt_sha256": first.receipt_sha256}
    )
    assert problem(first, same_bytes) == "lines[1].file_id: the same receipt (by its content) as line 0"
    unknown = line(LpjCategory.CAPITAL_GOODS, 1_000, 3).model_copy(update={"receipt_sha256": None})
    assert problem(unknown) == "lines[0].file_id: the receipt's file is unknown"
    many = [line(LpjCategory.CAPITAL_GOODS, 1, n) for n in range(POLICY.max_lines + 1)]
    assert problem(*many) == f"lines: at most {POLICY.max_lines} lines"
