"""The `jps-payment-verification` Schedule on the dev server (the time-skipping server has no
schedules: samples-python's README): triggered, it starts DailyVerificationWorkflow on the
deployment's queue, which draws yesterday (WIB) through the real activity into PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.verification import VerificationActivities
from infra.schedules import PAYMENT_VERIFICATION, ensure_schedules
from jps.domain.calendar import local_date
from jps.settings import get_settings
from worker import verification_activities
from workflows.verification import DailyVerificationWorkflow, PaymentCheckWorkflow


async def test_the_schedule_draws_yesterday_into_postgresql(
    dev_env: WorkflowEnvironment, db: asyncpg.Pool
) -> None:
    queue = f"verify-schedule-{uuid.uuid4().hex[:8]}"
    settings = get_settings().model_copy(update={"temporal_task_queue": queue})
    client = dev_env.client
    async with Worker(
        client,
        task_queue=queue,
        workflows=[DailyVerificationWorkflow, PaymentCheckWorkflow],
        activities=verification_activities(VerificationActivities(db)),
    ):
        names = await ensure_schedules(client, settings)
        try:
            assert PAYMENT_VERIFICATION in names
            # Only this one runs here: the others' workflows have no worker on this queue.
            for name in names:
                if name != PAYMENT_VERIFICATION:
                    await client.get_schedule_handle(name).pause()
            await client.get_schedule_handle(PAYMENT_VERIFICATION).trigger()
            yesterday = local_date(datetime.now(UTC)) - timedelta(days=1)
            async with asyncio.timeout(60):
                while True:
                    if await db.fetchval("SELECT 1 FROM verification_days WHERE sample_day = $1", yesterday):
                        break
                    await asyncio.sleep(0.2)
            assert await db.fetchval("SELECT sampled FROM verification_days") == 0  # nothing was paid
        finally:
            for name in names:
                await client.get_schedule_handle(name).delete()
