"""Small scheduled workflows: the outbox sweep, the supervisors' daily digest (ringkasan harian) and
the daily reconciliation of our payments with the bank's statement (rekonsiliasi).

Each runs one activity, called through a typed reference; Temporal Schedules start them (see
infra/schedules.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from activities.reconciliation import ReconciliationActivities
    from jps.contracts.activities import ReconcileInput, ReconcileRequest, ReconcileResult

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=10
)
# A full run over years of payments takes long; a silent one (a dead worker) is retried after a minute.
RECONCILE_TIMEOUT = timedelta(hours=1)
RECONCILE_HEARTBEAT = timedelta(minutes=1)


@workflow.defn
class OutboxSweepWorkflow:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity_method(
            NotificationActivities.dispatch_outbox,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=_RETRY,
        )


@workflow.defn
class DailyDigestWorkflow:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity_method(
            NotificationActivities.send_daily_digest,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=_RETRY,
        )


@workflow.defn
class ReconciliationWorkflow:
    """Our payments against the bank's statement, from where the last completed run ended (or all of
    it, or the last N days); every mismatch is recorded under this run's workflow id (a scheduled
    run's id carries its start time), once per transfer and kind while it stays open.

    The activity heartbeats its progress: a worker that dies mid-run is noticed within
    `RECONCILE_HEARTBEAT`, and the long start-to-close timeout leaves room for a full run."""

    @workflow.run
    async def run(self, inp: ReconcileInput | None = None) -> ReconcileResult:
        inp = inp or ReconcileInput()
        since = workflow.now() - timedelta(days=inp.since_days) if inp.since_days else None
        request = ReconcileRequest(
            run_id=workflow.info().workflow_id, since=since, full=inp.full, pending_grace=inp.pending_grace
        )
        return await workflow.execute_activity_method(
            ReconciliationActivities.reconcile_payments,
            request,
            start_to_close_timeout=RECONCILE_TIMEOUT,
            heartbeat_timeout=RECONCILE_HEARTBEAT,
            retry_policy=_RETRY,
        )
