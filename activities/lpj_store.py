"""The LPJ and recovery read model (migrations/008_lpj.sql), written inside `record_transition`'s
transaction from the step's record: the group's LPJ row, a submission's lines and receipts, the
review's decision, the receivable and its movements. The workflow's state is the source; every write
here is an upsert or keyed by the step, so a retried step writes nothing twice."""

from __future__ import annotations

import asyncpg
from temporalio.exceptions import ApplicationError

from jps.contracts.activities import TransitionRecord
from jps.contracts.refusals import ErrorType
from jps.domain.models import GroupSummary
from jps.domain.stages import TaskKind

_LPJ_TASKS = (TaskKind.SUBMIT_LPJ, TaskKind.REVIEW_LPJ)


async def write_lpj(conn: asyncpg.Connection, record: TransitionRecord, state: GroupSummary) -> None:
    lpj = state.lpj
    if lpj is not None and state.paid_at is not None:
        await conn.execute(
            """INSERT INTO lpj (group_id, program, region_code, paid, paid_at, due_on, status, version,
                                submitted, accounted, escalation_level, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (group_id) DO UPDATE SET paid = EXCLUDED.paid, due_on = EXCLUDED.due_on,
                   status = EXCLUDED.status, version = EXCLUDED.version, submitted = EXCLUDED.submitted,
                   accounted = EXCLUDED.accounted, escalation_level = EXCLUDED.escalation_level,
                   updated_at = EXCLUDED.updated_at
               WHERE lpj.updated_at <= EXCLUDED.updated_at""",
            state.group_id,
            state.program.value,
            state.region_code,
            lpj.paid,
            state.paid_at,
            lpj.due_on,
            lpj.status,
            lpj.version,
            lpj.submitted,
            lpj.accounted,
            _lpj_escalation(state),
            record.at,
        )
        if record.lpj_lines:
            await _write_submission(conn, record, state)
        if lpj.status in ("accepted", "revise", "rejected") and lpj.version > 0:
            decision = {"accepted": "accept", "revise": "revise", "rejected": "reject"}[lpj.status]
            await conn.execute(
                """UPDATE lpj_submissions
                      SET decision = $3, reviewed_by = $4, reviewed_at = $5, review_notes = $6
                    WHERE group_id = $1 AND version = $2 AND decision IS NULL""",
                state.group_id,
                lpj.version,
                decision,
                lpj.reviewed_by,
                record.at,
                lpj.notes,
            )
    receivable = state.receivable
    if receivable is not None:
        await conn.execute(
            """INSERT INTO receivables (group_id, program, region_code, amount, recovered, written_off,
                                        reason, opened_at, settled_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (group_id) DO UPDATE SET recovered = EXCLUDED.recovered,
                   written_off = EXCLUDED.written_off,
                   settled_at = CASE WHEN EXCLUDED.settled_at IS NOT NULL
                                     THEN coalesce(receivables.settled_at, EXCLUDED.settled_at) END,
                   updated_at = EXCLUDED.updated_at
               WHERE receivables.updated_at <= EXCLUDED.updated_at""",
            state.group_id,
            state.program.value,
            state.region_code,
            receivable.amount,
            receivable.recovered,
            receivable.written_off,
            receivable.reason,
            receivable.opened_at,
            record.at if receivable.outstanding == 0 else None,
            record.at,
        )
    moved = record.receivable_event
    if moved is not None:
        await conn.execute(
            """INSERT INTO receivable_events (group_id, seq, kind, amount, paid_on, reference, reason,
                                              officer, at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
            state.group_id,
            record.seq,
            moved.kind,
            moved.amount,
            moved.paid_on,
            moved.reference,
            moved.reason,
            record.officer,
            record.at,
        )


def _lpj_escalation(state: GroupSummary) -> int:
    task = state.task_of(*_LPJ_TASKS)
    return task.escalation_level if task else 0


async def _write_submission(conn: asyncpg.Connection, record: TransitionRecord, state: GroupSummary) -> None:
    """A submission's lines, and its receipts' claim: a receipt (by content) accounts for one group."""
    lpj = state.lpj
    lines = record.lpj_lines or []
    assert lpj is not None
    await conn.execute(
        """INSERT INTO lpj_submissions (group_id, version, total, submitted_by, submitted_at, notes)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        state.group_id,
        lpj.version,
        sum(line.amount for line in lines),
        record.officer or "",
        record.at,
        record.reason,
    )
    await conn.executemany(
        """INSERT INTO lpj_lines (group_id, version, line_no, category, amount, spent_on, supplier,
                                  file_id, receipt_sha256, photo_file_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
        [
            (
                state.group_id,
                lpj.version,
                i + 1,
                line.category.value,
                line.amount,
                line.spent_on,
                line.supplier,
                line.file_id,
                line.receipt_sha256,
                line.photo_file_id,
            )
            for i, line in enumerate(lines)
        ],
    )
    hashes = [line.receipt_sha256 for line in lines]
    await conn.executemany(
        """INSERT INTO lpj_receipts (receipt_sha256, group_id, first_version) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""",
        [(h, state.group_id, lpj.version) for h in hashes],
    )
    taken = await conn.fetch(
        "SELECT receipt_sha256 FROM lpj_receipts WHERE receipt_sha256 = ANY($1) AND group_id <> $2",
        hashes,
        state.group_id,
    )
    if taken:
        first = {row["receipt_sha256"] for row in taken}
        line_no = next(i for i, h in enumerate(hashes) if h in first)
        raise ApplicationError(
            f"lines[{line_no}].file_id: this receipt already accounts for another group's aid",
            type=ErrorType.RECEIPT_REUSED,
            non_retryable=True,
        )
