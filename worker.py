"""The JPS Flow worker: wires the Temporal client, the sealing converter, the workflows and the
activities (each activity class built once with its pool or HTTP client). Nothing else.

Run: `python worker.py` (the local stack does). SIGINT/SIGTERM drain in-flight activities and exit.
Several workers may poll the same task queue: that is how it scales out.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import asyncpg
import structlog
import uvloop
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.bank_client import BankClient
from activities.db import ReadModelActivities
from activities.grievances import GrievanceActivities
from activities.ledger import LedgerActivities
from activities.muster import MusterActivities
from activities.notifications import NotificationActivities
from activities.notify_client import NotifyClient
from activities.payments import PaymentActivities
from activities.reconciliation import ReconciliationActivities
from activities.verification import VerificationActivities
from infra.audit import AuditAnchors
from infra.compiled_code import compile_once
from infra.db import create_pool
from infra.embedded import start_postgres
from infra.payload_keys import data_converter
from infra.payload_visits import visit_once
from infra.schedules import ensure_schedules
from infra.workflow_runner import workflow_runner
from jps.ast_lock import serialize_ast_conversion
from jps.logging import configure_logging
from jps.settings import (
    AUDIT_ANCHOR_KEY,
    PAYLOAD_KEYS,
    PHONE_HASH_KEY,
    SecretsError,
    Settings,
    check_production_secrets,
    get_settings,
)
from tools.replay_reset import replayer_of, sweep_every
from workflows.grievance import GrievanceWorkflow
from workflows.group_lifecycle import GroupLifecycleWorkflow
from workflows.maintenance import DailyDigestWorkflow, OutboxSweepWorkflow, ReconciliationWorkflow
from workflows.verification import DailyVerificationWorkflow, PaymentCheckWorkflow

log = structlog.get_logger()

WORKER_SECRETS = (PAYLOAD_KEYS, AUDIT_ANCHOR_KEY, PHONE_HASH_KEY)  # the key hashes complainants' numbers

WORKFLOWS = [
    GroupLifecycleWorkflow,
    GrievanceWorkflow,
    OutboxSweepWorkflow,
    DailyDigestWorkflow,
    ReconciliationWorkflow,
    DailyVerificationWorkflow,
    PaymentCheckWorkflow,
]


def build_activities(
    pool: asyncpg.Pool, bank: BankClient, notify: NotifyClient, anchors: AuditAnchors | None = None
) -> list[Callable[..., Any]]:
    """The bound activity methods the worker registers (`anchors`: where the sweep anchors the audit
    chain's head)."""
    settings = get_settings()
    lease = timedelta(seconds=settings.outbox_claim_lease_s)
    notifications = NotificationActivities(pool, notify, claim_lease=lease, anchors=anchors)
    read_model = ReadModelActivities(pool, on_outbox=notifications.deliver_soon)
    ledger = LedgerActivities(pool)
    payments = PaymentActivities(pool, bank)
    reconciliation = ReconciliationActivities(pool, bank)
    muster = MusterActivities(pool)
    grievances = GrievanceActivities(
        pool, bank, phone_key=settings.phone_hash_key, on_outbox=notifications.deliver_soon
    )
    return [
        read_model.record_transition,
        read_model.record_step,
        muster.record_muster,
        ledger.check_freeze,
        ledger.reserve_budget,
        ledger.settle_budget,
        payments.send_transfers,
        payments.transfer_statuses,
        payments.instruct_payments,  # groups started before send_transfers, and recorded histories
        payments.poll_payments,
        notifications.dispatch_outbox,
        notifications.send_daily_digest,
        reconciliation.reconcile_payments,
        *verification_activities(VerificationActivities(pool, on_outbox=notifications.deliver_soon)),
        grievances.register_grievance,
        grievances.check_transfer,
        grievances.record_grievance_step,
    ]


def verification_activities(verification: VerificationActivities) -> list[Callable[..., Any]]:
    """The post-payment verification's activities (a test's own worker registers them too)."""
    return [
        verification.draw_verification_sample,
        verification.ask_payment_check,
        verification.record_payment_answer,
        verification.close_payment_check,
        verification.open_payment_grievance,
    ]


def database_url(settings: Settings) -> str:
    return settings.database_url or start_postgres(settings.data_dir / "pg")


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=f"127.0.0.1:{settings.worker_metrics_port}")
        )
    )
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
    )
    try:
        # The Schedules this deployment runs (outbox sweep, daily digest, daily reconciliation),
        # created or brought up to date; every replica may do it, it is idempotent.
        log.info("schedules_ensured", schedules=await ensure_schedules(client, settings))
    except RPCError as err:  # a server that refuses schedules must not keep the worker down
        log.warning("schedules_not_ensured", error=str(err))
    async with AsyncExitStack() as stack:
        pool = await create_pool(database_url(settings), max_size=settings.db_pool_max)
        stack.push_async_callback(pool.close)
        bank = BankClient(
            settings.bank_url,
            timeout=settings.bank_timeout_s,
            callback_url=f"{settings.api_base_url}/payments/callback",
        )
        stack.push_async_callback(bank.aclose)
        notify = NotifyClient(settings.notify_url)
        stack.push_async_callback(notify.aclose)
        # The sandbox imports the workflows afresh for each instance: compile their source once.
        compile_once("workflows")
        visit_once()  # each workflow task's payloads walked once each way (no external storage)
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(pool, bank, notify, AuditAnchors.of(settings)),
            max_concurrent_activities=settings.worker_activities,
            max_concurrent_workflow_tasks=settings.worker_workflow_tasks,
            max_cached_workflows=settings.worker_cached_workflows,
            graceful_shutdown_timeout=timedelta(seconds=20),
            workflow_runner=workflow_runner(client.data_converter),
        )
        log.info(
            "worker_started", task_queue=settings.temporal_task_queue, temporal=settings.temporal_address
        )
        async with worker:
            if not settings.replay_reset_every_s:
                await stop.wait()
            else:
                # Until stopped: groups whose history no worker can replay, reset to their last task
                # that replays (tools/replay_reset.py), one worker's sweep at a time.
                await sweep_every(
                    client,
                    pool,
                    replayer_of(WORKFLOWS, client.data_converter),
                    every_s=settings.replay_reset_every_s,
                    limit=settings.replay_reset_limit,
                    stop=stop,
                )
        log.info("worker_stopped")


def main() -> None:
    settings = get_settings()
    serialize_ast_conversion()  # threads that format tracebacks at once (jps/ast_lock.py)
    configure_logging(json=settings.production, level=settings.log_level, process="worker")
    try:
        # The worker seals payloads and appends to the audit chain; it verifies no token or callback.
        check_production_secrets(settings, uses=WORKER_SECRETS)
    except SecretsError as err:
        log.error("worker_refused", error=str(err))
        raise SystemExit(f"worker: {err}") from None

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    # uvloop: the activities' HTTP and database round trips spend less CPU in the event loop and
    # in socket writes (profiled: asyncio's own code was about a quarter of the worker's active
    # samples); the workflows run on the SDK's own deterministic loop either way.
    uvloop.run(_main())


if __name__ == "__main__":
    main()
