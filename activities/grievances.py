"""The grievance workflow's activities: where a case belongs (its group, member and transfer), the
bank's own word on that transfer, and the one recording activity that writes a step.

`record_grievance_step` writes, in one PostgreSQL transaction: the audit row (hash chain; the
`(grievance_id, seq, run_id)` key makes a retry a no-op), the case's row in `grievances`, its open
task in `grievance_tasks`, the step in `grievance_events`, the SMS to the complainant and the officers'
notices in `notification_outbox`. Delivery starts after the commit, in the background, like a group's.
No NIK or phone in clear in these rows but the outbox's recipient (the number the SMS goes to).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from temporalio import activity

from activities.bank_client import BankClient
from infra.audit import append_audit
from infra.outbox import OutboxMessage, queue_messages
from jps.contracts.grievances import BankCheck, GrievanceInput, GrievanceStep, Registration
from jps.domain.calendar import local_date
from jps.domain.grievances import DECISION_WORDS, SMS_TEXTS, mask_phone, phone_digest
from jps.domain.nik import mask_nik, mask_niks_in

log = structlog.get_logger()


class GrievanceActivities:
    def __init__(
        self, pool: asyncpg.Pool, bank: BankClient, *, phone_key: str, on_outbox: Any = None
    ) -> None:
        self.pool = pool
        self.bank = bank
        self.phone_key = phone_key
        self.on_outbox = on_outbox  # called with the grievance id after a commit that queued messages
        self._background: set[asyncio.Task[Any]] = set()

    @activity.defn(name="register_grievance")
    async def register_grievance(self, inp: GrievanceInput) -> Registration:
        """Where the case belongs: its group's region (else the NIK's regency), whether the group and
        the member are known, and the member's transfer (the one named, else their latest)."""
        async with self.pool.acquire() as conn:
            group = (
                await conn.fetchrow(
                    "SELECT region_code, program FROM groups WHERE group_id = $1", inp.group_id
                )
                if inp.group_id
                else None
            )
            member = (
                await conn.fetchrow(
                    "SELECT account_no FROM members WHERE group_id = $1 AND nik = $2", inp.group_id, inp.nik
                )
                if group is not None
                else None
            )
            transfer_id = inp.transfer_id
            if transfer_id is None and group is not None and member is not None:
                transfer_id = await conn.fetchval(
                    """SELECT p.transfer_id FROM payments p
                        WHERE p.group_id = $1 AND ($2 = 'tkm' OR p.account_no = $3)
                        ORDER BY p.instructed_at DESC LIMIT 1""",
                    inp.group_id,
                    group["program"],
                    member["account_no"],
                )
        return Registration(
            region_code=group["region_code"] if group is not None else inp.nik[:4],
            group_known=group is not None,
            member_in_group=member is not None,
            transfer_id=transfer_id,
        )

    @activity.defn(name="check_grievance_transfer")
    async def check_transfer(self, transfer_id: str) -> BankCheck:
        """Our record of the transfer and the bank's own status of it now (None: never received)."""
        ours = await self.pool.fetchrow(
            "SELECT amount, status FROM payments WHERE transfer_id = $1", transfer_id
        )
        answer = await self.bank.get_transfer(transfer_id)
        return BankCheck(
            transfer_id=transfer_id,
            amount=(
                answer.amount if answer and answer.amount is not None else (ours["amount"] if ours else None)
            ),
            our_status=ours["status"] if ours else None,
            bank_status=answer.status if answer else None,
            bank_reason=(answer.reason[:200] if answer else ""),
            paid_at=answer.paid_at if answer else None,
            checked_at=datetime.now(UTC),
        )

    @activity.defn(name="record_grievance_step")
    async def record_grievance_step(self, step: GrievanceStep) -> bool:
        """Write one step; False when it was written already (a retry)."""
        state = step.state
        bound = log.bind(grievance_id=step.grievance_id, officer=step.officer, event_name=step.event)
        async with self.pool.acquire() as conn, conn.transaction():
            written = await append_audit(
                conn,
                group_id=step.grievance_id,
                seq=step.seq,
                at=step.at,
                actor=step.officer,
                actor_roles=step.officer_roles,
                event=step.event,
                stage=state.status.value,
                reason=str(mask_niks_in(step.text))[:2000],
                details={**step.details, "group_id": state.group_id, "category": state.category.value},
                run_id=step.run_id,
            )
            if not written:
                bound.info("grievance_step_already_recorded", seq=step.seq)
                return False
            if step.filed is not None:
                await self._insert_case(conn, step, step.filed)
            await self._update_case(conn, step)
            await conn.execute(
                """INSERT INTO grievance_events (grievance_id, seq, run_id, at, event, officer, text, details)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (grievance_id, seq) DO UPDATE SET run_id = EXCLUDED.run_id, at = EXCLUDED.at,
                       event = EXCLUDED.event, officer = EXCLUDED.officer, text = EXCLUDED.text,
                       details = EXCLUDED.details""",
                step.grievance_id,
                step.seq,
                step.run_id,
                step.at,
                step.event,
                step.officer,
                mask_niks_in(step.text),
                step.details,
            )
            queued = await self._queue(conn, step)
        bound.info("grievance_step_recorded", seq=step.seq, status=state.status.value)
        if queued and self.on_outbox is not None:
            task = asyncio.create_task(self.on_outbox(step.grievance_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return True

    async def _insert_case(self, conn: asyncpg.Connection, step: GrievanceStep, inp: GrievanceInput) -> None:
        state = step.state
        reg = state.registration
        await conn.execute(
            """INSERT INTO grievances (grievance_id, category, channel, status, group_id, group_known,
                   member_in_group, region_code, nik_masked, phone_masked, phone_hash, about_officer,
                   transfer_id, filed_by, filed_at, text, handler_role, state, seq)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0)
               ON CONFLICT (grievance_id) DO NOTHING""",
            state.grievance_id,
            state.category.value,
            state.channel,
            state.status.value,
            state.group_id,
            reg.group_known if reg else False,
            reg.member_in_group if reg else False,
            state.region_code,
            mask_nik(inp.nik),
            mask_phone(inp.phone),
            phone_digest(inp.phone, self.phone_key),
            state.about_officer,
            reg.transfer_id if reg else inp.transfer_id,
            state.filed_by,
            state.filed_at,
            mask_niks_in(inp.text),
            inp.policy.rule(inp.category).handler.value,
            state.model_dump(mode="json"),
        )

    async def _update_case(self, conn: asyncpg.Connection, step: GrievanceStep) -> None:
        state = step.state
        await conn.execute(
            """UPDATE grievances SET status = $2, decision = $3, reason = $4, decided_at = $5,
                   resolve_due_at = $6, answer_due_at = $7, escalation_level = $8, reopened = $9,
                   bank = coalesce($10::jsonb, bank), state = $11, seq = $12, updated_at = $13
               WHERE grievance_id = $1 AND seq < $12""",
            state.grievance_id,
            state.status.value,
            state.decision.value if state.decision else None,
            mask_niks_in(state.reason),
            state.decided_at,
            state.resolve_due_at,
            state.answer_due_at,
            state.escalation_level,
            state.reopened,
            state.bank.model_dump(mode="json") if state.bank else None,
            state.model_dump(mode="json"),
            step.seq,
            step.at,
        )
        await conn.execute("DELETE FROM grievance_tasks WHERE grievance_id = $1", state.grievance_id)
        if state.task is not None:
            t = state.task
            await conn.execute(
                """INSERT INTO grievance_tasks
                       (grievance_id, kind, roles, opened_at, due_at, escalation_level)
                   VALUES ($1, $2, $3, $4, $5, $6)""",
                state.grievance_id,
                t.kind.value,
                [r.value for r in t.roles],
                t.opened_at,
                t.due_at,
                t.escalation_level,
            )

    async def _queue(self, conn: asyncpg.Connection, step: GrievanceStep) -> bool:
        state = step.state
        rows: list[tuple[str, str, str, str]] = []  # recipient, channel, template, body
        if step.sms and step.phone:
            rows.append((step.phone, "sms", step.sms, sms_text(step)))
        for role in step.notify_roles:
            where = "national" if role == "directorate" else state.region_code
            body = f"Pengaduan {state.grievance_id} ({state.category.value}): {step.event}"
            rows.append((f"{role}@{where}", "email", step.event, body))
        await queue_messages(
            conn,
            (
                OutboxMessage(
                    f"{step.grievance_id}:{step.seq}:{n}",
                    step.grievance_id,
                    recipient,
                    channel,
                    template,
                    str(mask_niks_in(body)),
                )
                for n, (recipient, channel, template, body) in enumerate(rows)
            ),
        )
        return bool(rows)


def sms_text(step: GrievanceStep) -> str:
    state = step.state
    values: dict[str, Any] = defaultdict(str)
    values.update(step.details)
    values.update(
        grievance_id=state.grievance_id,
        due_on=_day(state.task.due_at if state.task else state.resolve_due_at),
        answer_on=_day(state.answer_due_at),
        question=step.text[:300],
        reason=state.reason[:300],
        decision=DECISION_WORDS[state.decision] if state.decision else "",
    )
    if state.decided_at is not None and "reopen_within_s" in step.details:
        values["reopen_on"] = _day(state.decided_at + timedelta(seconds=step.details["reopen_within_s"]))
    return str(SMS_TEXTS[step.sms or ""].format_map(values))


def _day(at: Any) -> str:
    return local_date(at).strftime("%d/%m/%Y") if at is not None else "-"
