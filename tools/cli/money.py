"""The money after it moved (payments): `jps reconcile`, `jps repair-failed`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from jps.settings import PAYLOAD_KEYS, get_settings
from tools.cli.common import (
    console,
    err_console,
    refuse_without_secrets,
    rupiah,
    setup_logging,
    start_repair_command,
)


def reconcile(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Only the last N days of the statement [from where the last run ended]"),
    ] = None,
    full: Annotated[
        bool, typer.Option(help="The whole statement and all our payments, whatever the last run read")
    ] = False,
    grace_hours: Annotated[
        float, typer.Option(min=0, help="How long a transfer may be in flight before it counts")
    ] = 48.0,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the run")] = 300.0,
) -> None:
    """Reconcile our payments with the bank's statement now (what the daily schedule does) and print
    every mismatch found: paid_not_recorded, recorded_not_paid, amount_differs. Exits 1 while any
    mismatch is open (found now or before, not yet resolved by finance).

    Runs ReconciliationWorkflow on the worker (make run). It reads the statement from where the last
    completed run ended (--full: all of it); a mismatch is recorded once in reconciliation_mismatches
    and stays open until resolved (GET /reconciliation/mismatches, the console's Rekonsiliasi page)."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from rich.table import Table
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import WorkflowFailureError

    from infra.temporal import connect
    from jps.contracts.activities import MISMATCH_KINDS, ReconcileInput, ReconcileResult

    refuse_without_secrets("reconcile", PAYLOAD_KEYS)
    setup_logging("reconcile")
    settings = get_settings()
    run_id = f"jps-reconcile-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"

    async def run() -> ReconcileResult:
        client = await connect(settings)
        pollers = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=settings.temporal_task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if not pollers.pollers:
            err_console.print(
                f"[red]no worker polls the task queue {settings.temporal_task_queue!r}[/red]:"
                " start the stack (make run)"
            )
            raise typer.Exit(2)
        result: ReconcileResult = await client.execute_workflow(
            "ReconciliationWorkflow",
            ReconcileInput(since_days=days, full=full, pending_grace=timedelta(hours=grace_hours)),
            id=run_id,
            task_queue=settings.temporal_task_queue,
            result_type=ReconcileResult,
            execution_timeout=timedelta(seconds=timeout),
        )
        return result

    try:
        result = asyncio.run(run())
    except WorkflowFailureError as err:
        err_console.print(f"[red]reconciliation {run_id} failed: {err.cause or err}[/red]")
        raise typer.Exit(2) from None
    if result.mismatches:
        table = Table(title=f"{len(result.mismatches)} mismatch(es), run {result.run_id}")
        for column in ("kind", "transfer", "group", "ours", "bank", "recorded"):
            table.add_column(column)

        def side(data: dict[str, object] | None) -> str:
            if not data:
                return "-"
            amount = data.get("amount")
            return f"{data.get('status')} {rupiah(amount) if isinstance(amount, int) else ''}".strip()

        for m in result.mismatches:
            table.add_row(
                m.kind, m.transfer_id, m.group_id or "-", side(m.ours), side(m.bank), m.recorded_as or "-"
            )
        console.print(table)
    counts = ", ".join(f"{kind}={result.count(kind)}" for kind in MISMATCH_KINDS)
    since = f"from {result.statement_from.isoformat()}" if result.statement_from else "all of it"
    console.print(
        f"reconciliation {result.run_id} ({result.mode}, statement {since}): {result.compared:,} of our "
        f"transfers against {result.bank_paid:,} paid at the bank, {result.asked_bank:,} asked one by one: "
        f"{len(result.mismatches)} mismatch(es) ({counts}); new {result.recorded('opened')}, "
        f"already open {result.recorded('already_open')}, "
        f"resolved before {result.recorded('kept_resolved')}; open now {result.open_total}",
        soft_wrap=True,
    )
    raise typer.Exit(1 if result.open_total else 0)


def repair_failed(
    apply: Annotated[
        bool, typer.Option("--apply", help="Repair; without it, only print what it would do")
    ] = False,
    operator: Annotated[
        str | None, typer.Option(help="Who repairs (the audit log's actor); needed with --apply")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option(help="Only this group (its workflow id); repeat [every broken one]")
    ] = None,
) -> None:
    """Groups whose workflow FAILED or was TERMINATED (before issue 10's fixes a bank error in
    mid-payment failed it) and that still hold a reserved budget and active NIKs: print what the bank
    says about each transfer and, with --apply, settle the reservation with what the bank paid
    (releasing the rest), set the group to cancelled (freeing its NIKs) and record it in the audit log.

    A dry run by default. A group with a transfer still pending at the bank waits. Exits 1 while a
    group still needs repair or waits, 0 when nothing is left to do (docs/disbursement.md)."""
    from activities.bank_client import BankClient
    from infra.db import create_pool
    from infra.temporal import connect
    from tools.repair import repair_failed as run_repair
    from tools.repair_report import print_report
    from tools.stack_setup import database_url

    start_repair_command("repair-failed", apply=apply, operator=operator, verb="repaired")
    settings = get_settings()

    async def run(dsn: str) -> int:
        pool = await create_pool(dsn, max_size=2)
        try:
            async with BankClient(settings.bank_url, timeout=settings.bank_timeout_s) as bank:
                found = await run_repair(
                    pool,
                    await connect(settings),
                    bank,
                    group_ids=group or (),
                    operator=operator if apply else None,
                )
        finally:
            await pool.close()
        return print_report(console, found, applied=apply)

    with database_url(settings) as dsn:
        raise typer.Exit(asyncio.run(run(dsn)))


def verify_payments(
    day: Annotated[
        str | None,
        typer.Option(help="The WIB day (YYYY-MM-DD) whose settled payments are sampled [yesterday]"),
    ] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the draw")] = 120.0,
) -> None:
    """Draw the post-payment verification's sample now (what the 08:00 WIB schedule does for
    yesterday) and print who is asked: each gets the SMS "Balas YA atau TIDAK". A day is drawn once:
    again, it prints the same people and asks nobody twice. Runs DailyVerificationWorkflow on the
    worker (make run); the answers and the report: GET /reports/payment-verification, the console's
    Verifikasi pembayaran page."""
    import secrets
    from datetime import date, timedelta

    from infra.temporal import connect
    from jps.contracts.names import VERIFICATION_DAY_WORKFLOW
    from jps.contracts.verification import DrawResult, VerificationDayInput

    refuse_without_secrets("verify-payments", PAYLOAD_KEYS)
    setup_logging("verify-payments")
    settings = get_settings()
    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError:
        err_console.print(f"[red]--day {day!r} is not a date (YYYY-MM-DD)[/red]")
        raise typer.Exit(2) from None

    async def run() -> DrawResult:
        client = await connect(settings)
        result: DrawResult = await client.execute_workflow(
            VERIFICATION_DAY_WORKFLOW,
            VerificationDayInput(day=wanted),
            id=f"jps-verify-payments-{secrets.token_hex(4)}",
            task_queue=settings.temporal_task_queue,
            result_type=DrawResult,
            execution_timeout=timedelta(seconds=timeout),
        )
        return result

    result = asyncio.run(run())
    for sample in result.samples:
        console.print(f"  {sample.sample_id}")
    again = " (drawn before: the same people)" if result.already_drawn else ""
    console.print(
        f"payments settled {result.day.isoformat()}: {result.units} people could be asked, "
        f"{len(result.samples)} sampled{again}",
        soft_wrap=True,
    )
