"""The beneficiary's side that reads the read model: a member's own view of their group (the public
status lookup), the post-payment verification's report, and which sample an SMS reply answers.

`member_status` is one statement whether or not the group exists or the NIK is in it, so an unknown
group and a NIK not in it cost the same and answer the same (None): no oracle.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api.queries.common import Db, Where, region_filter
from api.schemas.common import mask_account
from api.schemas.verification import (
    PublicPaymentOut,
    PublicStatusOut,
    VerificationReportOut,
    VerificationRowOut,
)
from jps.domain.models import Officer
from jps.domain.programs import Program
from jps.domain.public_status import next_step_words, stage_words
from jps.domain.verification import wilson

PROGRAM_TEXT: dict[str, str] = {
    Program.TKM: "Tenaga Kerja Mandiri (TKM)",
    Program.PADAT_KARYA: "Padat Karya",
}

# The group, the member (by NIK, in that group only), and the payments that are theirs to see: TKM,
# the group's transfers; Padat Karya, the member's own wages (by the week's wage line, else, under the
# earlier rule of one share each, by the member's own account). No row at all: no such group, or the
# NIK is not in it.
_STATUS = """
WITH g AS (
    SELECT group_id, program, name, stage, task_kind, task_due_at FROM groups WHERE group_id = $1
), m AS (
    SELECT m.group_id, m.nik, m.bank_code, m.account_no
      FROM members m JOIN g ON g.group_id = m.group_id
     WHERE m.nik = $2
     LIMIT 1
)
SELECT g.group_id, g.program, g.name, g.stage, g.task_kind, g.task_due_at,
       p.transfer_id, p.amount, p.status, p.settled_at, p.account_no, p.instructed_at, p.week_starts_on
  FROM g JOIN m ON m.group_id = g.group_id
  LEFT JOIN LATERAL (
        SELECT p.transfer_id, p.amount, p.status, p.settled_at, p.account_no, p.instructed_at,
               w.week_starts_on
          FROM payments p
          LEFT JOIN wage_lines w ON w.transfer_id = p.transfer_id AND w.group_id = p.group_id
         WHERE p.group_id = g.group_id
           AND (g.program = 'tkm'
                OR (w.transfer_id IS NOT NULL AND w.nik = m.nik)
                OR (w.transfer_id IS NULL AND p.bank_code = m.bank_code AND p.account_no = m.account_no))
  ) p ON true
 ORDER BY p.instructed_at NULLS FIRST, p.transfer_id
"""


async def member_status(db: Db, *, group_id: str, nik: str) -> PublicStatusOut | None:
    rows = await db.fetch(_STATUS, group_id, nik)
    if not rows:
        return None
    first = rows[0]
    payments = [
        PublicPaymentOut(
            amount=r["amount"],
            status=r["status"],
            paid_at=r["settled_at"] if r["status"] == "paid" else None,
            account_masked=mask_account(r["account_no"]),
            week_starts_on=r["week_starts_on"],
        )
        for r in rows
        if r["transfer_id"] is not None
    ]
    return PublicStatusOut(
        group_id=first["group_id"],
        group_name=first["name"],
        program=first["program"],
        program_text=PROGRAM_TEXT.get(first["program"], first["program"]),
        stage=first["stage"],
        stage_text=stage_words(first["stage"])[0],
        next_step=next_step_words(first["stage"], first["task_kind"])[0],
        next_step_code=first["task_kind"],
        due_at=first["task_due_at"],
        payments=payments,
    )


# ---- the verification report ----


def _row(region_code: str, program: str, counts: dict[str, int]) -> VerificationRowOut:
    answered = counts["confirmed"] + counts["denied"]
    interval = wilson(counts["confirmed"], answered)
    return VerificationRowOut(
        region_code=region_code,
        program=Program(program),
        sampled=counts["sampled"],
        confirmed=counts["confirmed"],
        denied=counts["denied"],
        no_answer=counts["no_answer"],
        awaiting=counts["awaiting"],
        rate=None if interval.rate is None else round(interval.rate, 4),
        rate_low=None if interval.low is None else round(interval.low, 4),
        rate_high=None if interval.high is None else round(interval.high, 4),
    )


async def verification_report(
    db: Db,
    *,
    officer: Officer,
    program: Program | None = None,
    region: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> VerificationReportOut:
    """Per regency and programme, in the officer's scope: sampled, confirmed, denied, no answer (and
    still awaiting), the confirmation rate among the answers and its 95 % Wilson interval; then the
    same per programme over those rows."""
    where = Where()
    scope = region_filter(officer)
    if scope is not None:
        where.add("s.region_code LIKE ANY(?::text[])", scope)
    if program is not None:
        where.add("s.program = ?", program.value)
    if region:
        where.add("s.region_code LIKE ?", f"{region}%")
    if date_from is not None:
        where.add("s.sample_day >= ?", date_from)
    if date_to is not None:
        where.add("s.sample_day <= ?", date_to)
    rows = await db.fetch(
        f"""SELECT s.region_code, s.program, count(*) AS sampled,
                   count(*) FILTER (WHERE s.status = 'confirmed') AS confirmed,
                   count(*) FILTER (WHERE s.status = 'denied') AS denied,
                   count(*) FILTER (WHERE s.status = 'no_answer') AS no_answer,
                   count(*) FILTER (WHERE s.status IN ('drawn', 'asked', 'reminded')) AS awaiting
              FROM verification_samples s
             WHERE {where.sql}
             GROUP BY s.region_code, s.program
             ORDER BY s.region_code, s.program""",
        *where.params,
    )
    keys = ("sampled", "confirmed", "denied", "no_answer", "awaiting")
    items = [_row(r["region_code"], r["program"], {k: r[k] for k in keys}) for r in rows]
    totals: dict[str, dict[str, int]] = {}
    for r in rows:
        t = totals.setdefault(r["program"], dict.fromkeys(keys, 0))
        for k in keys:
            t[k] += r[k]
    return VerificationReportOut(
        date_from=date_from,
        date_to=date_to,
        items=items,
        totals=[_row("*", p, c) for p, c in sorted(totals.items())],
    )


# ---- an SMS reply ----


async def sample_answered_by(db: Db, *, phone: str, message_id: str) -> dict[str, Any] | None:
    """The sample this reply answers: one that already took this very message (a duplicate), else the
    earliest asked of those still awaiting an answer from this number. None: this number was not
    asked, or has answered everything it was asked."""
    row = await db.fetchrow(
        """SELECT s.sample_id, s.group_id, s.status, s.answer_message_id = $2 AS duplicate
             FROM verification_samples s
             JOIN members m ON m.group_id = s.group_id AND m.member_no = s.member_no
            WHERE m.phone = $1
              AND (s.status IN ('asked', 'reminded') OR s.answer_message_id = $2)
            ORDER BY (s.answer_message_id = $2) DESC NULLS LAST, s.asked_at, s.sample_id
            LIMIT 1""",
        phone,
        message_id,
    )
    return None if row is None else dict(row)


# A sample's steps as the group's timeline shows them: (column, event) in the order they happen.
_SAMPLE_STEPS = (
    ("asked_at", "payment_check_asked"),
    ("reminded_at", "payment_check_reminded"),
)
_SAMPLE_ANSWERS = {
    "confirmed": "payment_check_confirmed",
    "denied": "payment_check_denied",
    "no_answer": "payment_check_unanswered",
}


async def sample_events(db: Db, *, group_id: str) -> list[dict[str, Any]]:
    """The group's "did you receive it?" checks, each step a line (asked, reminded, and the member's
    answer or its absence), naming the transfer and the member's place in the group, never a NIK or
    a phone number."""
    rows = await db.fetch(
        """SELECT sample_id, transfer_id, member_no, is_leader, status, asked_at, reminded_at, closed_at,
                  grievance_id
             FROM verification_samples WHERE group_id = $1""",
        group_id,
    )
    events: list[dict[str, Any]] = []
    for r in rows:
        details = {"sample_id": r["sample_id"], "transfer_id": r["transfer_id"], "member_no": r["member_no"]}
        for column, event in _SAMPLE_STEPS:
            if r[column] is not None:
                events.append({"at": r[column], "event": event, "details": details})
        answer = _SAMPLE_ANSWERS.get(r["status"])
        if answer is not None and r["closed_at"] is not None:
            extra = {"grievance_id": r["grievance_id"]} if r["grievance_id"] else {}
            events.append({"at": r["closed_at"], "event": answer, "details": {**details, **extra}})
    return events  # in no order: the timeline merges them with the group's steps by time
