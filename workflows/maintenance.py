"""Small scheduled workflows: the outbox sweep and the supervisors' daily digest (ringkasan harian).

Each runs one activity; Temporal Schedules start them (see jps/schedules.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=10
)


@workflow.defn
class OutboxSweepWorkflow:
    @workflow.run
    async def run(self) -> int:
        sent: int = await workflow.execute_activity(
            "dispatch_outbox", start_to_close_timeout=timedelta(minutes=5), retry_policy=_RETRY
        )
        return sent


@workflow.defn
class DailyDigestWorkflow:
    @workflow.run
    async def run(self) -> int:
        regions: int = await workflow.execute_activity(
            "send_daily_digest", start_to_close_timeout=timedelta(minutes=5), retry_policy=_RETRY
        )
        return regions
