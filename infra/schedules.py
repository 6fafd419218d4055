"""The Temporal Schedules JPS Flow runs: the outbox sweep (every minute), the daily digest, the
daily reconciliation of our payments with the bank's statement and the daily post-payment
verification's draw.

`ensure_schedules` creates them or updates them in place; the dev stack and the worker deployment
call it at start-up. Workflows are named by type so this module imports nothing from workflows/.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from jps.settings import Settings, get_settings

OUTBOX_SWEEP = "jps-outbox-sweep"
DAILY_DIGEST = "jps-daily-digest"
RECONCILIATION = "jps-reconciliation"
PAYMENT_VERIFICATION = "jps-payment-verification"


def schedules(settings: Settings) -> dict[str, Schedule]:
    queue = settings.temporal_task_queue
    return {
        OUTBOX_SWEEP: Schedule(
            action=ScheduleActionStartWorkflow("OutboxSweepWorkflow", id=OUTBOX_SWEEP, task_queue=queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=1))]),
        ),
        DAILY_DIGEST: Schedule(
            action=ScheduleActionStartWorkflow("DailyDigestWorkflow", id=DAILY_DIGEST, task_queue=queue),
            # 07:00 WIB (00:00 UTC), at the start of the officers' day.
            spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(0)])]),
        ),
        RECONCILIATION: Schedule(
            action=ScheduleActionStartWorkflow("ReconciliationWorkflow", id=RECONCILIATION, task_queue=queue),
            # 03:00 WIB (20:00 UTC): after the bank's day has closed, before the digest at 07:00.
            spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(20)])]),
        ),
        PAYMENT_VERIFICATION: Schedule(
            action=ScheduleActionStartWorkflow(
                "DailyVerificationWorkflow", id=PAYMENT_VERIFICATION, task_queue=queue
            ),
            # 08:00 WIB (01:00 UTC): yesterday's (WIB) settled payments sampled, the SMS sent as the
            # day starts.
            spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(1)])]),
        ),
    }


async def ensure_schedules(client: Client, settings: Settings | None = None) -> list[str]:
    wanted = schedules(settings or get_settings())
    for schedule_id, schedule in wanted.items():
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, s: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=s)

            await client.get_schedule_handle(schedule_id).update(replace)
    return list(wanted)
