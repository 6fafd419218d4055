"""The post-payment verification's Schedule: daily at 08:00 WIB (01:00 UTC), starting the workflow
type the worker registers, on the deployment's task queue."""

from __future__ import annotations

from temporalio.client import ScheduleActionStartWorkflow

from infra.schedules import PAYMENT_VERIFICATION, schedules
from jps.contracts.names import VERIFICATION_DAY_WORKFLOW
from jps.settings import get_settings
from worker import WORKFLOWS


def test_the_verification_schedule_starts_the_daily_draw_at_eight_wib() -> None:
    settings = get_settings().model_copy(update={"temporal_task_queue": "q-test"})
    schedule = schedules(settings)[PAYMENT_VERIFICATION]
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == VERIFICATION_DAY_WORKFLOW and action.task_queue == "q-test"
    assert VERIFICATION_DAY_WORKFLOW in {getattr(w, "__temporal_workflow_definition").name for w in WORKFLOWS}
    [calendar] = schedule.spec.calendars
    assert [r.start for r in calendar.hour] == [1]  # 01:00 UTC = 08:00 WIB, every day
