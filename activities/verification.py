"""Post-payment verification's activities (verifikasi pasca-pembayaran): the day's draw, the SMS asking
whether the money arrived (and its one reminder), the answer recorded, a "TIDAK" flagged on the
reconciliation list and turned into a payment_not_received grievance.

Every write is idempotent (a retried activity changes nothing twice): the day's draw is recorded once
(`verification_days`), the messages have fixed outbox ids (`<sample>:ask`, `<sample>:reminder`), a
sample closes once, a flag is one open mismatch per transfer, and the grievance is filed with the
sample's id as its request id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import date, timedelta
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.reconciliation_store import open_mismatch
from infra.grievances import file_grievance
from infra.lifecycle import Refusal
from infra.outbox import OutboxMessage, queue_messages
from jps.contracts.refusals import ErrorType
from jps.contracts.verification import (
    AnswerRecord,
    AskRequest,
    DrawnSample,
    DrawRequest,
    DrawResult,
    PaymentCheckResult,
)
from jps.domain.calendar import WIB, end_of_local_day
from jps.domain.grievances import GrievanceCategory
from jps.domain.programs import Program, ProgramPolicy, load_policies
from jps.domain.verification import Stratum, Unit, VerificationPolicy, draw, question_text, rupiah
from jps.settings import get_settings

log = structlog.get_logger()

MISMATCH_KIND = "member_denied"

# The people who could be asked about the payments settled in [$1, $2): TKM, every member of a group
# paid (the group's transfer); Padat Karya, the worker a wage was for: by the week's wage line, else
# (the earlier rule, one share each) the member whose account the transfer went to.
_UNITS = """
WITH paid AS (
    SELECT p.transfer_id, p.group_id, p.bank_code, p.account_no, g.program, g.region_code
      FROM payments p JOIN groups g ON g.group_id = p.group_id
     WHERE p.status = 'paid' AND p.settled_at >= $1 AND p.settled_at < $2
)
SELECT paid.transfer_id, paid.group_id, paid.program, paid.region_code, m.member_no, m.is_leader
  FROM paid JOIN members m ON m.group_id = paid.group_id
 WHERE paid.program = 'tkm'
UNION ALL
SELECT paid.transfer_id, paid.group_id, paid.program, paid.region_code, w.member_no, w.is_leader
  FROM paid CROSS JOIN LATERAL (
        SELECT m.member_no, m.is_leader FROM members m
         WHERE m.group_id = paid.group_id
           AND (m.nik IN (SELECT l.nik FROM wage_lines l WHERE l.transfer_id = paid.transfer_id)
                OR (NOT EXISTS (SELECT 1 FROM wage_lines l WHERE l.transfer_id = paid.transfer_id)
                    AND m.bank_code = paid.bank_code AND m.account_no = paid.account_no))
         ORDER BY m.member_no LIMIT 1) w
 WHERE paid.program = 'padat_karya'
"""

# Each stratum's units over the month: a TKM transfer counts its people asked, a wage its worker.
_MONTH_UNITS = """
SELECT g.program, g.region_code, count(*) AS transfers
  FROM payments p JOIN groups g ON g.group_id = p.group_id
 WHERE p.status = 'paid' AND p.settled_at >= $1 AND p.settled_at < $2
 GROUP BY g.program, g.region_code
"""

_SAMPLE = """
SELECT s.sample_id, s.status, s.group_id, s.transfer_id, s.amount, s.program, s.region_code,
       s.grievance_id, m.nik, m.phone, m.name, g.name AS group_name, p.settled_at
  FROM verification_samples s
  JOIN groups g ON g.group_id = s.group_id
  JOIN payments p ON p.transfer_id = s.transfer_id
  LEFT JOIN members m ON m.group_id = s.group_id AND m.member_no = s.member_no
 WHERE s.sample_id = $1
"""


def sample_id_of(unit: Unit) -> str:
    return f"verify-{unit.transfer_id}-{unit.member_no:02d}"


def _missing(sample_id: str) -> ApplicationError:
    return ApplicationError(
        f"no verification sample {sample_id}", type=ErrorType.INVALID_DATA, non_retryable=True
    )


class VerificationActivities:
    def __init__(
        self,
        pool: asyncpg.Pool,
        policies: dict[Program, ProgramPolicy] | None = None,
        on_outbox: Callable[[str], Coroutine[Any, Any, Any]] | None = None,
    ) -> None:
        self.pool = pool
        # The policies in force (JPS_POLICY_FILE), unless a caller hands its own (tests: compressed).
        self.policies = policies or load_policies(get_settings().policy_file)
        # Called with a group id once a question is in the outbox (the notification dispatcher's
        # background try); the outbox sweep sends whatever it leaves.
        self.on_outbox = on_outbox
        self._background: set[asyncio.Task[Any]] = set()

    def _policy(self, program: str) -> VerificationPolicy:
        return self.policies[Program(program)].verification

    @activity.defn(name="draw_verification_sample")
    async def draw_verification_sample(self, req: DrawRequest) -> DrawResult:
        """The day's sample, drawn once: a repeated draw of a day answers the samples drawn before."""
        async with self.pool.acquire() as conn, conn.transaction():
            # One draw of a day at a time; the second finds the first's rows.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('verification_day:' || $1::text))", req.day.isoformat()
            )
            if await conn.fetchval("SELECT 1 FROM verification_days WHERE sample_day = $1", req.day):
                return await self._drawn(conn, req.day, already=True)
            start = end_of_local_day(req.day - timedelta(days=1))
            end = end_of_local_day(req.day)
            units = [
                Unit(
                    r["transfer_id"],
                    r["group_id"],
                    r["program"],
                    r["region_code"],
                    r["member_no"],
                    r["is_leader"],
                )
                for r in await conn.fetch(_UNITS, start, end)
            ]
            month_units: dict[Stratum, int] = {}
            for r in await conn.fetch(_MONTH_UNITS, end - timedelta(days=self._month_days()), end):
                per = self._policy(r["program"]).tkm_asked if r["program"] == "tkm" else 1
                month_units[(r["program"], r["region_code"])] = r["transfers"] * per
            policies = {p.value: pol.verification for p, pol in self.policies.items()}
            chosen = draw(units, policies=policies, month_units=month_units, seed=req.seed)
            await conn.execute(
                "INSERT INTO verification_days (sample_day, seed, units, sampled) VALUES ($1, $2, $3, $4)",
                req.day,
                req.seed,
                len(units),
                len(chosen),
            )
            await conn.executemany(
                """INSERT INTO verification_samples (sample_id, sample_day, program, region_code, group_id,
                                                     transfer_id, member_no, is_leader, amount)
                   SELECT $1, $2, $3, $4, $5, $6, $7, $8, p.amount FROM payments p WHERE p.transfer_id = $6
                   ON CONFLICT (sample_id) DO NOTHING""",
                [
                    (
                        sample_id_of(u),
                        req.day,
                        u.program,
                        u.region_code,
                        u.group_id,
                        u.transfer_id,
                        u.member_no,
                        u.is_leader,
                    )
                    for u in chosen
                ],
            )
            result = await self._drawn(conn, req.day, already=False)
        log.info("verification_sample_drawn", day=req.day.isoformat(), units=len(units), sampled=len(chosen))
        return result

    def _month_days(self) -> int:
        return max(p.verification.days_per_month for p in self.policies.values())

    async def _drawn(self, conn: asyncpg.Connection, day: date, *, already: bool) -> DrawResult:
        units = await conn.fetchval("SELECT units FROM verification_days WHERE sample_day = $1", day)
        rows = await conn.fetch(
            "SELECT sample_id, program FROM verification_samples WHERE sample_day = $1 ORDER BY sample_id",
            day,
        )
        samples = []
        for r in rows:
            policy = self._policy(r["program"])
            samples.append(
                DrawnSample(
                    sample_id=r["sample_id"],
                    reminder_after=policy.reminder_after,
                    answer_within=policy.answer_within,
                )
            )
        return DrawResult(day=day, units=units or 0, samples=samples, already_drawn=already)

    @activity.defn(name="ask_payment_check")
    async def ask_payment_check(self, req: AskRequest) -> bool:
        """The question (or its one reminder) into the outbox, and the sample marked asked (reminded).
        False when the sample is already closed, or the member has no phone any more."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_SAMPLE + " FOR UPDATE OF s", req.sample_id)
            if row is None:
                raise _missing(req.sample_id)
            if row["status"] not in ("drawn", "asked", "reminded") or not row["phone"]:
                return False
            body = question_text(
                program=row["program"],
                group_name=row["group_name"],
                amount=row["amount"],
                paid_on=row["settled_at"].astimezone(WIB).date(),
                reminder=req.reminder,
            )
            suffix, template = (
                ("reminder", "payment_check_reminder") if req.reminder else ("ask", "payment_check")
            )
            message = OutboxMessage(
                f"{req.sample_id}:{suffix}", row["group_id"], row["phone"], "sms", template, body
            )
            await queue_messages(conn, [message])
            if req.reminder:
                await conn.execute(
                    """UPDATE verification_samples
                          SET status = 'reminded', reminded_at = coalesce(reminded_at, now())
                        WHERE sample_id = $1 AND status IN ('drawn', 'asked')""",
                    req.sample_id,
                )
            else:
                await conn.execute(
                    """UPDATE verification_samples SET status = 'asked', asked_at = coalesce(asked_at, now())
                        WHERE sample_id = $1 AND status = 'drawn'""",
                    req.sample_id,
                )
        log.info(
            "payment_check_asked", group_id=row["group_id"], sample_id=req.sample_id, reminder=req.reminder
        )
        if self.on_outbox is not None:  # in the background: the next delivery round takes it
            task: asyncio.Task[Any] = asyncio.create_task(self.on_outbox(row["group_id"]))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return True

    @activity.defn(name="record_payment_answer")
    async def record_payment_answer(self, rec: AnswerRecord) -> PaymentCheckResult:
        """The answer: confirmed, or denied and the transfer flagged on the reconciliation list (one
        open `member_denied` mismatch per transfer, whoever else denied it)."""
        outcome = "confirmed" if rec.answer == "yes" else "denied"
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_SAMPLE + " FOR UPDATE OF s", rec.sample_id)
            if row is None:
                raise _missing(rec.sample_id)
            if row["status"] in ("confirmed", "denied", "no_answer"):  # a retry: what was recorded stands
                return PaymentCheckResult(
                    sample_id=rec.sample_id, outcome=row["status"], grievance_id=row["grievance_id"]
                )
            await conn.execute(
                """UPDATE verification_samples SET status = $2, closed_at = $3, answer_message_id = $4
                    WHERE sample_id = $1""",
                rec.sample_id,
                outcome,
                rec.received_at,
                rec.message_id,
            )
            if outcome == "denied":
                ours = {
                    "status": "paid",
                    "amount": row["amount"],
                    "settled_at": row["settled_at"].isoformat(),
                    "sample_id": rec.sample_id,
                    "answer": "TIDAK",
                }
                await open_mismatch(
                    conn,
                    run_id=rec.sample_id,
                    transfer_id=row["transfer_id"],
                    kind=MISMATCH_KIND,
                    group_id=row["group_id"],
                    ours=ours,
                    bank=None,
                )
        log.info("payment_check_answered", group_id=row["group_id"], sample_id=rec.sample_id, outcome=outcome)
        return PaymentCheckResult(sample_id=rec.sample_id, outcome=outcome)

    @activity.defn(name="close_payment_check")
    async def close_payment_check(self, sample_id: str) -> PaymentCheckResult:
        """Reminded once and still silent: counted as no answer."""
        status = await self.pool.fetchval(
            """UPDATE verification_samples SET status = 'no_answer', closed_at = now()
                WHERE sample_id = $1 AND status IN ('drawn', 'asked', 'reminded')
            RETURNING status""",
            sample_id,
        )
        if status is None:
            status = await self.pool.fetchval(
                "SELECT status FROM verification_samples WHERE sample_id = $1", sample_id
            )
            if status is None:
                raise _missing(sample_id)
        log.info("payment_check_unanswered", sample_id=sample_id, outcome=status)
        return PaymentCheckResult(sample_id=sample_id, outcome=status)

    @activity.defn(name="open_payment_grievance")
    async def open_payment_grievance(self, sample_id: str) -> str:
        """A "TIDAK" becomes a payment_not_received grievance (channel `verification`), filed once: the
        sample's id is its request id. Its id is kept on the sample."""
        row = await self.pool.fetchrow(_SAMPLE, sample_id)
        if row is None:
            raise _missing(sample_id)
        if row["grievance_id"]:
            return str(row["grievance_id"])
        try:
            ref = await file_grievance(
                activity.client(),
                nik=row["nik"],
                phone=row["phone"],
                group_id=row["group_id"],
                category=GrievanceCategory.PAYMENT_NOT_RECEIVED,
                text=(
                    "Verifikasi pasca-pembayaran: penerima menjawab TIDAK atas transfer "
                    f"{row['transfer_id']} sebesar {rupiah(row['amount'])}."
                ),
                channel="verification",
                transfer_id=row["transfer_id"],
                request_id=sample_id,
            )
        except Refusal as refusal:  # the case's own checks refused it: the flag stands, nothing to retry
            log.warning(
                "payment_check_grievance_refused",
                group_id=row["group_id"],
                sample_id=sample_id,
                error=str(refusal),
            )
            return ""
        grievance_id = ref.grievance_id
        await self.pool.execute(
            "UPDATE verification_samples SET grievance_id = $2 WHERE sample_id = $1", sample_id, grievance_id
        )
        log.info(
            "payment_check_grievance_opened",
            group_id=row["group_id"],
            sample_id=sample_id,
            grievance_id=grievance_id,
        )
        return grievance_id
