"""The post-payment verification's workflows on the time-skipping server, every activity faked by name
(no PostgreSQL, no gateway): a silent member is reminded once at `reminder_after` and counted as no
answer `answer_within` later, on durable timers; a TIDAK is recorded and opens a grievance at once; a
YA after the reminder confirms; the first answer counts; the daily workflow draws yesterday (WIB) with
a seed of its own and starts one check per person drawn, and a second run of the day starts none.

With JPS_RECORD_HISTORIES=tests/histories/verification the closed workflows' histories are written
there for tests/workflows/verification/test_replay.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from jps.contracts.names import PAYMENT_ANSWER_SIGNAL
from jps.contracts.verification import (
    AnswerRecord,
    AskRequest,
    DrawnSample,
    DrawRequest,
    DrawResult,
    PaymentAnswer,
    PaymentCheckInput,
    PaymentCheckResult,
    VerificationDayInput,
)
from jps.domain.calendar import local_date
from workflows.verification import DailyVerificationWorkflow, PaymentCheckWorkflow

RECORD_ENV = "JPS_RECORD_HISTORIES"
DAY = timedelta(days=1)


@dataclass
class Fakes:
    asked: list[tuple[str, bool, datetime]] = field(default_factory=list)
    answers: list[AnswerRecord] = field(default_factory=list)
    closed: list[tuple[str, datetime]] = field(default_factory=list)
    grievances: list[str] = field(default_factory=list)
    draws: list[DrawRequest] = field(default_factory=list)
    drawn_ids: list[str] = field(default_factory=list)

    @activity.defn(name="draw_verification_sample")
    async def draw(self, req: DrawRequest) -> DrawResult:
        again = any(d.day == req.day for d in self.draws)
        self.draws.append(req)
        ids = self.drawn_ids or [f"verify-T-{req.day:%Y%m%d}-{n:02d}" for n in range(3)]
        return DrawResult(
            day=req.day,
            units=12,
            samples=[DrawnSample(sample_id=i, reminder_after=2 * DAY, answer_within=2 * DAY) for i in ids],
            already_drawn=again,
        )

    @activity.defn(name="ask_payment_check")
    async def ask(self, req: AskRequest) -> bool:
        self.asked.append((req.sample_id, req.reminder, activity.info().current_attempt_scheduled_time))
        return True

    @activity.defn(name="record_payment_answer")
    async def record(self, rec: AnswerRecord) -> PaymentCheckResult:
        self.answers.append(rec)
        return PaymentCheckResult(
            sample_id=rec.sample_id, outcome="confirmed" if rec.answer == "yes" else "denied"
        )

    @activity.defn(name="close_payment_check")
    async def close(self, sample_id: str) -> PaymentCheckResult:
        self.closed.append((sample_id, activity.info().current_attempt_scheduled_time))
        return PaymentCheckResult(sample_id=sample_id, outcome="no_answer")

    @activity.defn(name="open_payment_grievance")
    async def grievance(self, sample_id: str) -> str:
        self.grievances.append(sample_id)
        return "GRV-TESTTESTTE"


@dataclass
class Env:
    client: Client
    fakes: Fakes
    queue: str
    handles: list[WorkflowHandle] = field(default_factory=list)

    async def check(self) -> WorkflowHandle:
        sample_id = f"verify-T-{uuid.uuid4().hex[:8]}-01"
        handle = await self.client.start_workflow(
            PaymentCheckWorkflow.run,
            PaymentCheckInput(sample_id=sample_id, reminder_after=2 * DAY, answer_within=2 * DAY),
            id=sample_id,
            task_queue=self.queue,
        )
        self.handles.append(handle)
        return handle


@pytest.fixture
async def env(time_env: WorkflowEnvironment, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    fakes = Fakes()
    queue = f"verification-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[DailyVerificationWorkflow, PaymentCheckWorkflow],
        activities=[fakes.draw, fakes.ask, fakes.record, fakes.close, fakes.grievance],
    ):
        env = Env(time_env.client, fakes, queue)
        yield env
        record_dir = os.environ.get(RECORD_ENV)
        for n, handle in enumerate(env.handles):
            desc = await handle.describe()
            if desc.status == WorkflowExecutionStatus.RUNNING:
                # Left running, its timers would hold the shared server's clock for the next test.
                await handle.terminate("test over")
            elif record_dir:
                history = await handle.fetch_history()
                (Path(record_dir) / f"{request.node.name}-{n}.json").write_text(history.to_json())


async def answer(handle: WorkflowHandle, word: str, message_id: str = "sms-1") -> None:
    await handle.signal(
        PAYMENT_ANSWER_SIGNAL,
        PaymentAnswer(answer=word, message_id=message_id, received_at=datetime.now(UTC)),
    )


async def test_a_silent_member_is_reminded_once_then_counted_as_no_answer(env: Env) -> None:
    handle = await env.check()
    result: PaymentCheckResult = await handle.result()  # the server skips the four days
    assert result.outcome == "no_answer"
    (_, first, asked_at), (_, second, reminded_at) = env.fakes.asked
    assert (first, second) == (False, True)
    assert reminded_at - asked_at == pytest.approx(2 * DAY, abs=timedelta(seconds=5))
    [(_, closed_at)] = env.fakes.closed
    assert closed_at - reminded_at == pytest.approx(2 * DAY, abs=timedelta(seconds=5))
    assert env.fakes.answers == [] and env.fakes.grievances == []


async def test_a_tidak_is_recorded_and_opens_a_grievance_without_a_reminder(env: Env) -> None:
    handle = await env.check()
    await answer(handle, "no")
    result: PaymentCheckResult = await handle.result()
    assert (result.outcome, result.grievance_id) == ("denied", "GRV-TESTTESTTE")
    assert [r.answer for r in env.fakes.answers] == ["no"]
    assert env.fakes.grievances == [result.sample_id]
    assert [reminder for _, reminder, _ in env.fakes.asked] == [False]


async def test_a_ya_after_the_reminder_confirms_and_the_first_answer_counts(
    env: Env, time_env: WorkflowEnvironment
) -> None:
    handle = await env.check()
    await time_env.sleep(3 * DAY)  # past the reminder, before "no answer"
    await answer(handle, "yes", "sms-ya")
    await answer(handle, "no", "sms-tidak")  # a second reply changes nothing
    result: PaymentCheckResult = await handle.result()
    assert result.outcome == "confirmed" and result.grievance_id is None
    assert [(r.answer, r.message_id) for r in env.fakes.answers] == [("yes", "sms-ya")]
    assert [reminder for _, reminder, _ in env.fakes.asked] == [False, True]
    assert env.fakes.closed == [] and env.fakes.grievances == []


async def test_the_daily_draw_samples_yesterday_and_starts_one_check_per_person_once(env: Env) -> None:
    env.fakes.drawn_ids = [f"verify-D-{uuid.uuid4().hex[:6]}-{n:02d}" for n in range(3)]
    first = await env.client.start_workflow(
        DailyVerificationWorkflow.run, id=f"day-{uuid.uuid4().hex[:8]}", task_queue=env.queue
    )
    env.handles.append(first)
    drawn: DrawResult = await first.result()
    [request] = env.fakes.draws
    started = (await first.describe()).start_time  # the server's clock, which the tests skip ahead
    assert started is not None and request.day == local_date(started) - DAY
    assert [s.sample_id for s in drawn.samples] == env.fakes.drawn_ids
    children = [env.client.get_workflow_handle(i) for i in env.fakes.drawn_ids]
    for child in children:
        assert (await child.describe()).status == WorkflowExecutionStatus.RUNNING
    env.handles.extend(children)

    # The same day again: the same people, no second check started (their ids are taken).
    again = await env.client.start_workflow(
        DailyVerificationWorkflow.run,
        VerificationDayInput(day=request.day),
        id=f"day-{uuid.uuid4().hex[:8]}",
        task_queue=env.queue,
    )
    env.handles.append(again)
    second: DrawResult = await again.result()
    assert second.already_drawn and [s.sample_id for s in second.samples] == env.fakes.drawn_ids
    assert isinstance(env.fakes.draws[1].day, date) and env.fakes.draws[1].seed != request.seed
