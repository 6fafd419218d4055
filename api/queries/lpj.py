"""A group's LPJ (laporan pertanggungjawaban) and receivable (tuntutan ganti rugi) as the read model
holds them (migrations/008_lpj.sql, written by the lifecycle's steps): where the LPJ stands, every
submission with its spending lines and their files, and the receivable with its movements. The
console's group page reads them; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from api.queries.common import Db


@dataclass(frozen=True)
class LpjLine:
    line_no: int
    category: str  # capital_goods | working_capital
    amount: int
    spent_on: date
    supplier: str
    file_id: str  # the receipt
    receipt_name: str  # as uploaded (sanitised); '' when none was given
    photo_file_id: str | None
    photo_name: str


@dataclass(frozen=True)
class LpjSubmission:
    version: int
    total: int
    submitted_by: str
    submitted_at: datetime
    decision: str | None  # accept | revise | reject; None while under review
    reviewed_by: str | None
    reviewed_at: datetime | None
    notes: str  # the submitter's
    review_notes: str  # the verifier's, with the decision
    lines: list[LpjLine] = field(default_factory=list)


@dataclass(frozen=True)
class Lpj:
    program: str
    paid: int
    paid_at: datetime
    due_on: date
    status: str  # due | under_review | revise | accepted | rejected | overdue
    version: int
    submitted: int
    accounted: int
    escalation_level: int
    submissions: list[LpjSubmission]  # the newest first


@dataclass(frozen=True)
class ReceivableMovement:
    kind: str  # opened | repayment | write_off
    amount: int
    paid_on: date | None
    reference: str
    reason: str
    officer: str | None
    at: datetime


@dataclass(frozen=True)
class Receivable:
    amount: int
    recovered: int
    written_off: int
    reason: str  # overdue | rejected | short
    opened_at: datetime
    settled_at: datetime | None
    movements: list[ReceivableMovement]  # in the order they happened

    @property
    def outstanding(self) -> int:
        return self.amount - self.recovered - self.written_off


async def lpj_of(db: Db, *, group_id: str) -> Lpj | None:
    """The group's LPJ with every submission and its lines, or None when it owes none."""
    row = await db.fetchrow(
        """SELECT program, paid, paid_at, due_on, status, version, submitted, accounted, escalation_level
             FROM lpj WHERE group_id = $1""",
        group_id,
    )
    if row is None:
        return None
    submissions = await db.fetch(
        """SELECT version, total, submitted_by, submitted_at, decision, reviewed_by, reviewed_at, notes,
                  review_notes
             FROM lpj_submissions WHERE group_id = $1 ORDER BY version DESC""",
        group_id,
    )
    lines = await db.fetch(
        """SELECT l.version, l.line_no, l.category, l.amount, l.spent_on, l.supplier, l.file_id,
                  coalesce(r.original_name, '') AS receipt_name, l.photo_file_id,
                  coalesce(p.original_name, '') AS photo_name
             FROM lpj_lines l
             LEFT JOIN files r ON r.file_id = l.file_id
             LEFT JOIN files p ON p.file_id = l.photo_file_id
            WHERE l.group_id = $1 ORDER BY l.version, l.line_no""",
        group_id,
    )
    by_version: dict[int, list[LpjLine]] = {}
    for line in lines:
        by_version.setdefault(line["version"], []).append(
            LpjLine(
                line_no=line["line_no"],
                category=line["category"],
                amount=line["amount"],
                spent_on=line["spent_on"],
                supplier=line["supplier"],
                file_id=line["file_id"],
                receipt_name=line["receipt_name"],
                photo_file_id=line["photo_file_id"],
                photo_name=line["photo_name"],
            )
        )
    return Lpj(
        **dict(row),
        submissions=[LpjSubmission(**dict(s), lines=by_version.get(s["version"], [])) for s in submissions],
    )


async def receivable_of(db: Db, *, group_id: str) -> Receivable | None:
    """The group's receivable and its movements, or None when it owes nothing back."""
    row = await db.fetchrow(
        """SELECT amount, recovered, written_off, reason, opened_at, settled_at
             FROM receivables WHERE group_id = $1""",
        group_id,
    )
    if row is None:
        return None
    moves = await db.fetch(
        """SELECT kind, amount, paid_on, reference, reason, officer, at
             FROM receivable_events WHERE group_id = $1 ORDER BY seq""",
        group_id,
    )
    return Receivable(**dict(row), movements=[ReceivableMovement(**dict(m)) for m in moves])
