"""Post-payment verification (verifikasi pasca-pembayaran), as two small workflows.

- `DailyVerificationWorkflow` (the `jps-payment-verification` Schedule, every morning): draws the
  sample of the payments settled the day before (WIB) in an activity, with a seed from
  `workflow.random()` (a retried draw picks the same people), and starts one `PaymentCheckWorkflow`
  per person drawn, abandoned to run on its own.
- `PaymentCheckWorkflow` (workflow id = sample id): the SMS, a durable timer, one reminder, another
  timer, then the answer (the `payment_answer` signal, sent by the API when the number that was asked
  replies YA or TIDAK) or "no answer". A TIDAK flags the transfer for reconciliation and opens a
  payment_not_received grievance. One short history per person, a dozen events.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.verification import VerificationActivities
    from jps.contracts.names import PAYMENT_ANSWER_SIGNAL, PAYMENT_CHECK_WORKFLOW, VERIFICATION_DAY_WORKFLOW
    from jps.contracts.refusals import ErrorType
    from jps.contracts.verification import (
        AnswerRecord,
        AskRequest,
        DrawRequest,
        DrawResult,
        PaymentAnswer,
        PaymentCheckInput,
        PaymentCheckResult,
        VerificationDayInput,
    )
    from jps.domain.calendar import local_date

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=[ErrorType.INVALID_DATA],
)
# Filing the grievance waits for the grievance service however long it takes: the answer and the flag
# are recorded before it.
_GRIEVANCE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[ErrorType.INVALID_DATA],
)
_TIMEOUT = timedelta(minutes=2)


@workflow.defn(name=VERIFICATION_DAY_WORKFLOW)
class DailyVerificationWorkflow:
    @workflow.run
    async def run(self, inp: VerificationDayInput | None = None) -> DrawResult:
        inp = inp or VerificationDayInput()
        day = inp.day or local_date(workflow.now()) - timedelta(days=1)
        seed = workflow.random().getrandbits(62)
        drawn = await workflow.execute_activity_method(
            VerificationActivities.draw_verification_sample,
            DrawRequest(day=day, seed=seed),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=_RETRY,
        )

        async def start(sample_id: str, reminder_after: timedelta, answer_within: timedelta) -> None:
            try:
                await workflow.start_child_workflow(
                    PaymentCheckWorkflow.run,
                    PaymentCheckInput(
                        sample_id=sample_id, reminder_after=reminder_after, answer_within=answer_within
                    ),
                    id=sample_id,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                pass  # the day drawn again (a re-run): that person is being, or was, asked already

        # Started together: their commands go out in one workflow task.
        await asyncio.gather(*(start(s.sample_id, s.reminder_after, s.answer_within) for s in drawn.samples))
        return drawn


@workflow.defn(name=PAYMENT_CHECK_WORKFLOW)
class PaymentCheckWorkflow:
    def __init__(self) -> None:
        self._answer: PaymentAnswer | None = None

    @workflow.signal(name=PAYMENT_ANSWER_SIGNAL)
    def payment_answer(self, answer: PaymentAnswer) -> None:
        if self._answer is None:  # the first reply counts; a duplicate or a second one changes nothing
            self._answer = answer

    async def _answered_within(self, wait: timedelta) -> bool:
        try:
            await workflow.wait_condition(lambda: self._answer is not None, timeout=wait)
        except TimeoutError:
            return False
        return True

    @workflow.run
    async def run(self, inp: PaymentCheckInput) -> PaymentCheckResult:
        asked = await workflow.execute_activity_method(
            VerificationActivities.ask_payment_check,
            AskRequest(sample_id=inp.sample_id),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        if not asked or not await self._answered_within(inp.reminder_after):
            if asked:
                await workflow.execute_activity_method(
                    VerificationActivities.ask_payment_check,
                    AskRequest(sample_id=inp.sample_id, reminder=True),
                    start_to_close_timeout=_TIMEOUT,
                    retry_policy=_RETRY,
                )
            if not asked or not await self._answered_within(inp.answer_within):
                return await workflow.execute_activity_method(
                    VerificationActivities.close_payment_check,
                    inp.sample_id,
                    start_to_close_timeout=_TIMEOUT,
                    retry_policy=_RETRY,
                )
        answer = self._answer
        assert answer is not None
        result = await workflow.execute_activity_method(
            VerificationActivities.record_payment_answer,
            AnswerRecord(
                sample_id=inp.sample_id,
                answer=answer.answer,
                message_id=answer.message_id,
                received_at=answer.received_at,
            ),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        if result.outcome == "denied" and result.grievance_id is None:
            grievance_id = await workflow.execute_activity_method(
                VerificationActivities.open_payment_grievance,
                inp.sample_id,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=_GRIEVANCE_RETRY,
            )
            result = result.model_copy(update={"grievance_id": grievance_id or None})  # "": refused
        return result
