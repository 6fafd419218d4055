"""PostgreSQL read model and audit writer: the `record_transition` activity.

One transaction per workflow step writes the group row, its open tasks (`group_tasks`), its members
(and so their NIK claims), the stage transition, the audit row and the outbox notifications.
(group_id, seq, run id) makes a retry a no-op: the audit table's step key is checked first, under the
group's own lock, and the audit row is chained last, so the chain's global lock covers only that; a
step a `temporal workflow reset` re-executes is written (`activities/steps.py`).
The read model never holds a NIK in clear in its JSON state; the members table keeps the NIK
because the one-active-group rule is a constraint on it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ledger import draw_reservation, settle_reservation
from activities.lpj_store import write_lpj
from activities.muster import free_cancelled_days, write_wage_weeks
from activities.steps import Step, chain_step, claim_step, fresh_messages
from infra.outbox import OutboxMessage, queue_messages
from jps.contracts.activities import RecordedStep, TransitionRecord
from jps.contracts.refusals import ErrorType
from jps.domain.models import GroupSummary, Proposal, Task
from jps.domain.nik import mask_nik, mask_niks_in
from jps.domain.notifications import OWED_BECAUSE, TEMPLATES
from jps.domain.stages import ACTIVE_STAGES, TERMINAL_STAGES, Stage

log = structlog.get_logger()


def masked_state(state: GroupSummary, proposal: Proposal | None = None) -> dict[str, Any]:
    """The state as the read model stores it (with the proposal when given): every NIK masked."""
    data = state.model_dump(mode="json")
    if proposal is not None:
        data["proposal"] = proposal.model_dump(mode="json")
        for member in data["proposal"]["members"]:
            member["nik"] = mask_nik(member["nik"])
    for session in data["training"]:
        session["attended_niks"] = [mask_nik(n) for n in session["attended_niks"]]
    for payment in data["payments"]:
        if payment.get("member_nik"):
            payment["member_nik"] = mask_nik(payment["member_nik"])
    return data


def _recipients(
    template: str, state: GroupSummary, leader_phone: str | None, about: str | None = None
) -> list[tuple[str, str]]:
    """(recipient, channel) pairs: the leader by WhatsApp, officers by role@region. The assignee is
    whoever may act on the task the message is `about` (a reminder's), else on the most urgent one."""
    spec = TEMPLATES[template]
    out: list[tuple[str, str]] = []
    if spec.to_leader and leader_phone:
        out.append((leader_phone, "whatsapp"))
    task = next((t for t in state.open_tasks if t.kind.value == about), None) or state.open_task
    for role in spec.to_roles:
        if role == "assignee":
            roles = [r.value for r in task.roles] if task else []
        else:
            roles = [role]
        for r in roles:
            where = "national" if r == "directorate" else state.region_code
            out.append((f"{r}@{where}", "email"))
    return out


def render(template: str, record: TransitionRecord, state: GroupSummary) -> str:
    values: dict[str, Any] = defaultdict(str)
    values.update(record.details)
    task = state.open_task
    values.update(
        name=state.name,
        group_id=state.group_id,
        reason=record.reason,
        amount=f"{state.approved_amount or state.requested_amount:,}",
        region=state.region_code,
        task=(record.details.get("task") or (task.kind.value if task else "")),
        due_at=(record.details.get("due_at") or (task.due_at.isoformat() if task else "")),
    )
    if state.training:
        last = state.training[-1]
        values.update(
            starts_on=last.starts_on.isoformat(), ends_on=last.ends_on.isoformat(), venue=last.venue
        )
    if state.lpj is not None:
        values.update(lpj_due_on=state.lpj.due_on.isoformat())
    if state.receivable is not None:
        why = state.receivable.reason
        said = OWED_BECAUSE[why] + (f": {record.reason}" if record.reason and why != "overdue" else "")
        values.update(receivable=f"{state.receivable.outstanding:,}", owed_because=said)
    upcoming = next((v for v in state.visits if v.reported_on is None), None)
    if upcoming:
        values.update(visit_no=upcoming.visit_no, due_on=upcoming.due_on.isoformat())
    # Officers' free text (reasons) reaches WhatsApp and e-mail: never a NIK in clear there.
    return str(mask_niks_in(TEMPLATES[template].text.format_map(values)))


class ReadModelActivities:
    def __init__(self, pool: asyncpg.Pool, on_outbox: Any = None) -> None:
        self.pool = pool
        # Called with a group id after a commit that queued messages (the notification dispatcher).
        self.on_outbox = on_outbox
        self._background: set[asyncio.Task[Any]] = set()

    @activity.defn(name="record_transition")
    async def record_transition(self, record: TransitionRecord) -> bool:
        """Write one step; returns False when this step was already written (a retry)."""
        state = record.state
        if state is None:
            raise ApplicationError(
                "record_transition needs the state", type=ErrorType.INVALID_DATA, non_retryable=True
            )
        bound = log.bind(group_id=record.group_id, workflow_id=record.group_id, officer=record.officer)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                step = await claim_step(conn, record)
                if not step.written:
                    bound.info("transition_already_recorded", seq=record.seq, event_name=record.event)
                    return False
                if await self._write_group(conn, record, state):
                    await self._write_tasks(conn, state)
                if record.proposal is not None:
                    await self._write_members(conn, state, record.proposal)
                if record.stage not in ACTIVE_STAGES:  # closed, or under recovery: NIKs are free
                    await conn.execute(
                        "UPDATE members SET active = false WHERE group_id = $1", state.group_id
                    )
                if record.from_stage is not None or record.seq == 1:
                    await conn.execute(
                        """INSERT INTO stage_transitions (group_id, seq, from_stage, to_stage, at,
                           officer, reason)
                           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
                        state.group_id,
                        record.seq,
                        record.from_stage.value if record.from_stage else None,
                        record.stage.value,
                        record.at,
                        record.officer,
                        record.reason,
                    )
                await self._sync_payments(conn, state)
                await write_lpj(conn, record, state)
                if record.wage_weeks:
                    await write_wage_weeks(conn, record.group_id, record.wage_weeks)
                if record.stage == Stage.CANCELLED:  # the roll entries give their workers' days back
                    await free_cancelled_days(conn, record.group_id)
                if record.draw is not None:  # before a settlement: it releases what was never drawn
                    await draw_reservation(conn, record.draw)
                if record.settle is not None:
                    await settle_reservation(conn, record.settle)
                queued = await self._queue_notifications(conn, record, state, step)
                await chain_step(conn, record, step)  # last: the chain's lock is held to the commit
        except asyncpg.UniqueViolationError as err:
            if "members_one_active_group_per_nik" not in str(err):
                raise
            raise await self._nik_conflict(state, record.proposal) from None
        except asyncpg.DataError as err:
            # Data PostgreSQL refuses will be refused on every retry: fail fast, say why.
            raise ApplicationError(
                f"data refused by the database: {err}", type=ErrorType.INVALID_DATA, non_retryable=True
            ) from None
        bound.info("transition_recorded", seq=record.seq, event_name=record.event, stage=record.stage.value)
        if queued and self.on_outbox is not None:
            task = asyncio.create_task(self.on_outbox(record.group_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return True

    @activity.defn(name="record_step")
    async def record_step(self, record: TransitionRecord) -> RecordedStep:
        """`record_transition` as the workflow's local activity (patch smaller-history-v1): the same
        transaction, answering the step's timeline line, which its history marker keeps."""
        await self.record_transition(record)
        return record.line()

    async def _write_group(
        self, conn: asyncpg.Connection, record: TransitionRecord, state: GroupSummary
    ) -> bool:
        """The group's row, its single-task columns holding the most urgent task. False when a later
        step is already written (the row is left alone)."""
        task = state.open_task
        paid = sum(p.amount for p in state.payments if p.status == "paid")
        columns = (
            state.stage.value,
            state.requested_amount,
            state.approved_amount,
            paid,
            task.kind.value if task else None,
            [r.value for r in task.roles] if task else None,
            task.due_at if task else None,
            state.escalation_level,
            task.claimed_by if task else None,
            record.at,
            state.paid_at,
            record.at if state.stage in TERMINAL_STAGES else None,
            record.seq,
            masked_state(state, record.proposal),
            state.name,
        )
        if record.proposal is None:
            # Members unchanged: keep the stored proposal inside the state document.
            status = await conn.execute(
                """UPDATE groups SET stage = $2, requested_amount = $3, approved_amount = $4,
                   paid_amount = $5,
                       task_kind = $6, task_roles = $7, task_due_at = $8, escalation_level = $9,
                           claimed_by = $10,
                       updated_at = $11, paid_at = $12, closed_at = $13, last_seq = $14,
                       state = $15::jsonb || jsonb_build_object('proposal', state->'proposal'), name = $16
                   WHERE group_id = $1 AND last_seq < $14""",
                state.group_id,
                *columns,
            )
            return _wrote(status)
        status = await conn.execute(
            """INSERT INTO groups (group_id, stage, requested_amount, approved_amount, paid_amount, task_kind,
                                   task_roles, task_due_at, escalation_level, claimed_by, updated_at, paid_at,
                                   closed_at, last_seq, state, name, program, region_code, member_count,
                                   submitted_by, submitted_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18, $19, $20, $21)
               ON CONFLICT (group_id) DO UPDATE SET
                   stage = EXCLUDED.stage, requested_amount = EXCLUDED.requested_amount,
                   approved_amount = EXCLUDED.approved_amount, paid_amount = EXCLUDED.paid_amount,
                   task_kind = EXCLUDED.task_kind, task_roles = EXCLUDED.task_roles,
                   task_due_at = EXCLUDED.task_due_at, escalation_level = EXCLUDED.escalation_level,
                   claimed_by = EXCLUDED.claimed_by, updated_at = EXCLUDED.updated_at,
                       paid_at = EXCLUDED.paid_at,
                   closed_at = EXCLUDED.closed_at, last_seq = EXCLUDED.last_seq, state = EXCLUDED.state,
                   name = EXCLUDED.name, member_count = EXCLUDED.member_count
               WHERE groups.last_seq < EXCLUDED.last_seq""",
            state.group_id,
            *columns,
            state.program.value,
            state.region_code,
            len(record.proposal.members),
            state.submitted_by,
            state.submitted_at,
        )
        return _wrote(status)

    async def _write_tasks(self, conn: asyncpg.Connection, state: GroupSummary) -> None:
        """Make the group's rows of `group_tasks` its open tasks (one per kind), in one statement: the
        kinds no longer open are deleted, the open ones written over."""
        rows: dict[str, Task] = {}
        for t in sorted(state.open_tasks, key=lambda t: t.due_at):
            if t.kind.value in rows:
                log.warning("task_kind_open_twice", group_id=state.group_id, task=t.kind.value)
                continue  # the most urgent of the two stays
            rows[t.kind.value] = t
        tasks = list(rows.values())
        await conn.execute(
            """WITH open AS (
                   SELECT * FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                                        $6::integer[], $7::text[], $8::text[])
                       AS t(kind, roles, opened_at, due_at, escalation_level, claimed_by, note)
               ), closed AS (
                   DELETE FROM group_tasks WHERE group_id = $1 AND kind <> ALL($2::text[])
               )
               INSERT INTO group_tasks (group_id, kind, roles, opened_at, due_at, escalation_level,
                                        claimed_by, note)
               SELECT $1, kind, string_to_array(roles, ','), opened_at, due_at, escalation_level,
                      claimed_by, note
               FROM open
               ON CONFLICT (group_id, kind) DO UPDATE SET roles = EXCLUDED.roles,
                   opened_at = EXCLUDED.opened_at, due_at = EXCLUDED.due_at,
                   escalation_level = EXCLUDED.escalation_level, claimed_by = EXCLUDED.claimed_by,
                   note = EXCLUDED.note""",
            state.group_id,
            [t.kind.value for t in tasks],
            [",".join(r.value for r in t.roles) for t in tasks],
            [t.opened_at for t in tasks],
            [t.due_at for t in tasks],
            [t.escalation_level for t in tasks],
            [t.claimed_by for t in tasks],
            [mask_niks_in(t.note) for t in tasks],
        )

    async def _write_members(self, conn: asyncpg.Connection, state: GroupSummary, proposal: Proposal) -> None:
        niks = [m.nik for m in proposal.members]
        clash = await conn.fetchrow(
            "SELECT group_id, nik FROM members WHERE active AND nik = ANY($1) AND group_id <> $2 LIMIT 1",
            niks,
            state.group_id,
        )
        if clash:
            raise _conflict_error(clash["nik"], clash["group_id"])
        await conn.execute("DELETE FROM members WHERE group_id = $1", state.group_id)
        await conn.executemany(
            """INSERT INTO members (group_id, member_no, nik, nik_masked, name, gender, birth_date, phone,
                                    is_leader, bank_code, account_no, active)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            [
                (
                    state.group_id,
                    i + 1,
                    m.nik,
                    mask_nik(m.nik),
                    m.name,
                    m.gender.value if m.gender else None,
                    m.birth_date,
                    m.phone,
                    m.is_leader,
                    m.bank_account.bank_code if m.bank_account else None,
                    m.bank_account.account_no if m.bank_account else None,
                    state.stage in ACTIVE_STAGES,
                )
                for i, m in enumerate(proposal.members)
            ],
        )

    async def _nik_conflict(self, state: GroupSummary, proposal: Proposal | None) -> ApplicationError:
        """The constraint fired under concurrency: name the group that won."""
        clash = await self.pool.fetchrow(
            "SELECT group_id, nik FROM members WHERE active AND nik = ANY($1) AND group_id <> $2 LIMIT 1",
            [m.nik for m in proposal.members] if proposal else [],
            state.group_id,
        )
        if clash is None:  # the other group went inactive meanwhile: let the activity retry
            return ApplicationError("NIK claim raced with a closing group; retrying", type="Transient")
        return _conflict_error(clash["nik"], clash["group_id"])

    async def _sync_payments(self, conn: asyncpg.Connection, state: GroupSummary) -> None:
        """The group's settled payments, settled in the payments table too (once: a row no longer
        pending is left alone), in one statement whatever their number."""
        final = [p for p in state.payments if p.status != "pending"]
        if final:
            await conn.execute(
                """UPDATE payments p SET status = f.status, reason = f.reason, settled_at = now()
                   FROM unnest($1::text[], $2::text[], $3::text[]) AS f(transfer_id, status, reason)
                   WHERE p.transfer_id = f.transfer_id AND p.status = 'pending'""",
                [p.transfer_id for p in final],
                [p.status for p in final],
                [p.reason for p in final],
            )

    async def _queue_notifications(
        self, conn: asyncpg.Connection, record: TransitionRecord, state: GroupSummary, step: Step
    ) -> bool:
        if not record.notify:
            return False
        leader_phone = await conn.fetchval(
            "SELECT phone FROM members WHERE group_id = $1 AND is_leader", state.group_id
        )
        rows = []
        for template in record.notify:
            body = render(template, record, state)
            about = str(record.details.get("task") or "")
            for n, (recipient, channel) in enumerate(_recipients(template, state, leader_phone, about)):
                message_id = f"{record.group_id}:{record.seq}:{template}:{n}"
                rows.append(OutboxMessage(message_id, record.group_id, recipient, channel, template, body))
        rows = await fresh_messages(conn, step, record, rows)
        return await queue_messages(conn, rows) > 0


def _wrote(status: str) -> bool:
    """Whether an INSERT or UPDATE status tag (`UPDATE 1`, `INSERT 0 0`) counts a row."""
    return status.rsplit(" ", 1)[-1] != "0"


def _conflict_error(nik: str, other_group: str) -> ApplicationError:
    return ApplicationError(
        f"members: NIK {mask_nik(nik)} is already in active group {other_group}",
        {"field": "members", "other_group": other_group},
        type=ErrorType.NIK_CONFLICT,
        non_retryable=True,
    )
