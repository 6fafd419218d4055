"""`jps`, the command line of JPS Flow (typer + rich).

One typer app; commands that belong together live in sub-apps (`jps audit verify`). To add a command,
put it under the section of the part it belongs to, import heavy modules inside the function (so
`jps --help` stays fast and the local-stack commands do not need the API's dependencies), read
configuration only through `get_settings()`, and reach PostgreSQL through `database_url(...)`, which
also works when no stack is running.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from jps.settings import get_settings

app = typer.Typer(
    name="jps",
    help="JPS Flow: the Jaring Pengaman Sosial group lifecycle (TKM and Padat Karya) on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

console = Console()
err_console = Console(stderr=True)


def _setup_logging(process: str) -> None:
    from jps.logging import configure_from_settings

    configure_from_settings(process=process)


# =====================================================================================================
# Local stack and operations (infrastructure): dev, migrate, temporal-setup, token
# =====================================================================================================


@app.command()
def dev(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where Temporal, PostgreSQL and the logs keep their data (JPS_DATA_DIR)"),
    ] = None,
    api_port: Annotated[int | None, typer.Option(help="API port (JPS_API_PORT, 8000)")] = None,
    bank_port: Annotated[
        int | None, typer.Option(help="Bank simulator port (from JPS_BANK_URL, 8100)")
    ] = None,
    notify_port: Annotated[
        int | None, typer.Option(help="Notification simulator port (from JPS_NOTIFY_URL, 8200)")
    ] = None,
    temporal_port: Annotated[int | None, typer.Option(help="Temporal dev server gRPC port (7233)")] = None,
    temporal_ui_port: Annotated[
        int | None, typer.Option(help="Temporal UI port (from TEMPORAL_UI_URL, 8233)")
    ] = None,
    worker_metrics_port: Annotated[
        int | None, typer.Option(help="Worker metrics port (JPS_WORKER_METRICS_PORT, 9464)")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Write the processes' output only to the log files")] = False,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for GET /health = 200")] = 90.0,
) -> None:
    """Run the whole local stack (what `make run` does); Ctrl-C stops all of it.

    Starts the Temporal dev server and embedded PostgreSQL under the data dir, applies migrations, loads
    the demo budget, then runs the worker, the bank and notification simulators and the API, and prints
    the URLs and an officer token. TEMPORAL_ADDRESS and DATABASE_URL, when set, point it at existing
    servers instead."""
    from tools.stack import Stack, StackOptions

    _setup_logging("stack")
    settings = get_settings()
    options = StackOptions.from_settings(
        settings,
        data_dir=data_dir.resolve() if data_dir else None,
        api_port=api_port,
        bank_port=bank_port,
        notify_port=notify_port,
        temporal_port=temporal_port,
        temporal_ui_port=temporal_ui_port,
        worker_metrics_port=worker_metrics_port,
        echo=not quiet,
        ready_timeout=ready_timeout,
    )
    raise typer.Exit(Stack(options, settings, console).run())


@app.command()
def migrate(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Migrations directory (the repository's migrations/)")
    ] = None,
) -> None:
    """Apply pending database migrations.

    To DATABASE_URL, else to the embedded PostgreSQL under the data dir."""
    from infra.db import MIGRATIONS_DIR, MigrationChecksumError
    from infra.db import migrate as run_migrations
    from tools.stack import database_url

    _setup_logging("migrate")
    with database_url(get_settings()) as dsn:
        try:
            applied = asyncio.run(run_migrations(dsn, directory or MIGRATIONS_DIR))
        except MigrationChecksumError as err:
            err_console.print(f"[red]refused:[/red] {err}")
            raise typer.Exit(1) from None
    if applied:
        console.print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        console.print("database is up to date")


@app.command("temporal-setup")
def temporal_setup() -> None:
    """Create the Temporal namespace if missing and register our search attributes.

    Idempotent. For a Temporal server we did not start (docker-compose, a data centre); `jps dev` does
    this itself."""
    from infra.temporal import connect, ensure_namespace, register_search_attributes

    _setup_logging("temporal-setup")
    settings = get_settings()

    async def setup() -> None:
        import time

        from temporalio.service import RPCError, RPCStatusCode

        client = await connect(settings)
        await ensure_namespace(client)
        # A namespace just created reaches the server's namespace cache some seconds later; until then
        # the operator service answers NOT_FOUND.
        deadline = time.monotonic() + 60
        while True:
            try:
                await register_search_attributes(client)
                return
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)

    asyncio.run(setup())
    console.print(f"namespace {settings.temporal_namespace!r} ready at {settings.temporal_address}")


@app.command()
def token(
    officer: Annotated[str, typer.Option(help="Officer id (the token's sub)")],
    role: Annotated[list[str], typer.Option(help="A role; repeat for several")],
    region: Annotated[
        list[str] | None, typer.Option(help="Region scope: *, 2-digit province or 4-digit regency; repeat")
    ] = None,
    name: Annotated[str, typer.Option(help="Officer's display name")] = "",
    ttl_hours: Annotated[int | None, typer.Option(help="Validity (JPS_JWT_TTL_HOURS)")] = None,
) -> None:
    """Print an officer token (HS256 JWT signed with JPS_JWT_SECRET)."""
    from datetime import timedelta

    from jps.auth import TokenError, mint_token
    from jps.domain.roles import NATIONAL, Role

    settings = get_settings()
    valid_roles = {r.value for r in Role}
    unknown = [r for r in role if r not in valid_roles]
    if unknown:
        err_console.print(f"[red]unknown role(s) {unknown}[/red]; choose from {sorted(valid_roles)}")
        raise typer.Exit(2)
    try:
        minted = mint_token(
            settings.jwt_secret,
            officer_id=officer,
            roles=role,
            regions=region or [NATIONAL],
            name=name,
            ttl=timedelta(hours=ttl_hours or settings.jwt_ttl_hours),
        )
    except TokenError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None
    print(minted)


# =====================================================================================================
# Groups, imports and reports (API): import, report, seed-demo — add commands here
# =====================================================================================================


def _money(amount: int) -> str:
    return f"Rp {amount:,}".replace(",", ".")


def _print_summary(summary: object) -> None:
    """`GET /reports/summary`'s figures as a table: a line per programme and stage with groups in it."""
    from rich.table import Table

    from api.schemas import SummaryOut

    assert isinstance(summary, SummaryOut)
    as_of = summary.as_of.isoformat() if summary.as_of else "now"
    table = Table(title=f"JPS Flow summary ({as_of}; regions {', '.join(summary.regions)})")
    for column in ("programme", "stage", "groups", "people", "requested", "paid"):
        table.add_column(column, justify="left" if column in ("programme", "stage") else "right")
    for program in summary.programs:
        for stage in program.stages:
            if stage.groups:
                table.add_row(
                    program.label,
                    stage.stage.value,
                    f"{stage.groups:,}",
                    f"{stage.people:,}",
                    _money(stage.requested_amount),
                    _money(stage.paid_amount),
                )
        table.add_row(
            f"[bold]{program.label}[/bold]",
            "[bold]all[/bold]",
            f"[bold]{program.groups:,}[/bold]",
            f"[bold]{program.people:,}[/bold]",
            _money(program.requested_amount),
            _money(program.paid_amount),
            end_section=True,
        )
    console.print(table)
    for program in summary.programs:
        console.print(
            f"{program.label}: aid disbursed to {program.disbursed_groups:,} groups / "
            f"{program.disbursed_people:,} people ({_money(program.paid_amount)})"
        )


async def _summary(dsn: str, as_of: object = None, regions: list[str] | None = None) -> object:
    from api.queries import reports
    from infra.db import create_pool
    from jps.domain.models import Officer
    from jps.domain.roles import NATIONAL, Role

    pool = await create_pool(dsn)
    try:
        officer = Officer(id="cli", roles=[Role.AUDITOR], regions=regions or [NATIONAL])
        return await reports.summary(pool, officer=officer, as_of=as_of)  # type: ignore[arg-type]
    finally:
        await pool.close()


@app.command()
def report(
    as_of: Annotated[
        str | None, typer.Option(help="End of this day (YYYY-MM-DD, Jakarta time) [now]")
    ] = None,
    region: Annotated[list[str] | None, typer.Option(help="Limit to a province or regency; repeat")] = None,
) -> None:
    """Print the summary per programme and stage: groups, people, amounts (what GET /reports/summary says)."""
    from datetime import date

    from tools.stack import database_url

    _setup_logging("report")
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        err_console.print(f"[red]--as-of {as_of!r} is not a date like 2020-10-02[/red]")
        raise typer.Exit(2) from None
    with database_url(get_settings()) as dsn:
        _print_summary(asyncio.run(_summary(dsn, day, region)))


@app.command("import")
def import_groups(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A CSV or XLSX file")],
    officer: Annotated[str, typer.Option(help="The registrar the groups are submitted as")] = "registrar-cli",
    region: Annotated[list[str] | None, typer.Option(help="The registrar's region scope; repeat [*]")] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate only; change nothing")] = False,
    api_url: Annotated[str | None, typer.Option(help="The API [JPS_API_BASE_URL]")] = None,
) -> None:
    """Upload groups to the API (POST /groups/import) with a progress bar; print every refused row.

    Exits 1 when any row was refused. The file's format: see `GET /docs`, "imports"."""
    import time

    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from jps.auth import mint_token
    from jps.domain.roles import NATIONAL, Role

    settings = get_settings()
    token = mint_token(
        settings.jwt_secret, officer_id=officer, roles=[Role.REGISTRAR], regions=region or [NATIONAL]
    )
    with httpx.Client(
        base_url=api_url or settings.api_base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as http:
        try:
            resp = http.post(
                "/groups/import",
                params={"dry_run": dry_run, "background": True},
                files={"file": (path.name, path.read_bytes())},
            )
        except httpx.HTTPError as exc:
            err_console.print(
                f"[red]cannot reach the API at {http.base_url}: {exc}[/red] (is `make run` up?)"
            )
            raise typer.Exit(1) from None
        if resp.status_code not in (200, 202):
            err_console.print(f"[red]{resp.status_code}: {resp.json().get('detail')}[/red]")
            raise typer.Exit(1)
        job = resp.json()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            bar = progress.add_task("validating" if dry_run else "importing", total=None)
            while job["status"] == "running":
                time.sleep(0.5)
                job = http.get(f"/groups/import/{job['job_id']}").json()
                progress.update(bar, total=job["groups"] or None, completed=job["processed_groups"])
    if job["status"] == "failed":
        err_console.print(f"[red]import failed: {job['error']}[/red]")
        raise typer.Exit(1)
    refused = [r for r in job["results"] if r["status"] in ("invalid", "conflict", "failed")]
    if refused:
        table = Table(title=f"{len(refused)} refused row(s)")
        for column in ("line", "group_ref", "status", "field", "reason"):
            table.add_column(column)
        for r in refused:
            table.add_row(str(r["row"]), r["group_ref"], r["status"], r["field"] or "", r["reason"])
        console.print(table)
    passed = sum(r["status"] == "valid" for r in job["results"]) if dry_run else job["created"]
    console.print(
        f"{job['rows']} rows, {job['groups']} groups: {passed} {'valid' if dry_run else 'created'}, "
        f"{job['existing']} already imported, {job['invalid_rows']} invalid rows, "
        f"{job['conflicts']} NIK conflicts, {job['failed']} failed"
    )
    raise typer.Exit(1 if refused else 0)


@app.command("seed-demo")
def seed_demo(
    scale: Annotated[
        float, typer.Option(min=0.0001, max=1.0, help="Fraction of the cohort (1 = all 3,076 groups)")
    ] = 1.0,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Groups driven at once")] = 32,
) -> None:
    """Create the October 2020 cohort (TKM 1,985 groups / 39,700 people, Padat Karya 1,091 / 21,820;
    synthetic people with valid NIKs) and drive it through the workflows until the aid is paid.

    Needs the stack (`make run`): the worker, the bank simulator and the API. Safe to run again: each
    group resumes where it stands."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from infra.db import create_pool
    from infra.temporal import connect
    from jps.domain.programs import load_policies
    from tools.seed import group_counts
    from tools.seed import seed_demo as run_seed
    from tools.stack import database_url

    _setup_logging("seed-demo")
    settings = get_settings()
    total = sum(group_counts(scale).values())

    async def run(dsn: str) -> object:
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
            raise typer.Exit(1)
        pool = await create_pool(dsn, max_size=4)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        try:
            with Progress(*columns, console=console) as progress:
                bar = progress.add_task("seeding groups", total=total)
                result = await run_seed(
                    client,
                    pool,
                    policies=load_policies(settings.policy_file),
                    task_queue=settings.temporal_task_queue,
                    scale=scale,
                    concurrency=concurrency,
                    on_progress=lambda _state: progress.advance(bar),
                )
        finally:
            await pool.close()
        for key, reason in result.failed[:20]:
            err_console.print(f"[red]{key}[/red]: {reason}")
        if result.failed:
            err_console.print(f"[red]{len(result.failed)} group(s) did not reach disbursed aid[/red]")
        return result

    with database_url(settings) as dsn:
        result = asyncio.run(run(dsn))
        _print_summary(asyncio.run(_summary(dsn)))
    raise typer.Exit(1 if getattr(result, "failed", None) else 0)


# =====================================================================================================
# Audit (API): `jps audit verify` — add commands to `audit_app` here
# =====================================================================================================


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit log's hash chain; exit 1 (and say where) when a row was changed or removed."""
    from infra.audit import verify_chain
    from tools.stack import database_url

    _setup_logging("audit")

    async def run(dsn: str) -> dict[str, object]:
        from infra.db import create_pool

        pool = await create_pool(dsn, max_size=1)
        try:
            async with pool.acquire() as conn:
                return await verify_chain(conn)
        finally:
            await pool.close()

    with database_url(get_settings()) as dsn:
        outcome = asyncio.run(run(dsn))
    if outcome["valid"]:
        console.print(f"audit log valid: {outcome['rows']:,} rows, hash chain intact")
        return
    err_console.print(
        f"[red bold]audit log BROKEN[/red bold] at row id {outcome['broken_at_id']}: {outcome['problem']} "
        f"({outcome['rows']:,} rows verified before it)"
    )
    raise typer.Exit(1)


# =====================================================================================================
# Workflows and payments (workflows): reconcile, repair-failed, chaos, bench — add commands here
# =====================================================================================================


@app.command()
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

    _setup_logging("reconcile")
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
            return f"{data.get('status')} {_money(amount) if isinstance(amount, int) else ''}".strip()

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


@app.command("repair-failed")
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
    from tools.stack import database_url

    _setup_logging("repair-failed")
    if apply and not operator:
        err_console.print("[red]--apply needs --operator ID: the audit log names who repaired[/red]")
        raise typer.Exit(2)
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


@app.command()
def chaos(
    groups: Annotated[int, typer.Option(min=1, max=1000, help="Groups per programme")] = 150,
    short: Annotated[bool, typer.Option(help="The short variant `make test` runs (20 groups)")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the faults and disruptions")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=5, help="Seconds the groups may take after arriving")
    ] = None,
    keep_data: Annotated[bool, typer.Option(help="Keep the chaos stack's data dir and logs")] = False,
) -> None:
    """Disbursement while the bank, the SMS gateway, PostgreSQL, Temporal and the worker fail, on a
    stack of its own: groups of both programmes must all be paid exactly once. Ends with
    `chaos: groups=N faults=K duplicates=D lost=L stuck=S failed_workflows=F` and exits 1 unless
    D, L, S and F are 0 and every invariant holds (what `make chaos` runs)."""
    from jps.logging import configure_logging
    from tools.chaos import ChaosPlan, run_chaos
    from tools.stack import StackError

    configure_logging(level="WARNING", process="chaos")
    overrides: dict[str, Any] = {k: v for k, v in {"seed": seed, "wait_s": timeout}.items() if v is not None}
    plan = ChaosPlan.short(**overrides) if short else ChaosPlan.full(per_programme=groups, **overrides)
    try:
        figures = run_chaos(plan, keep_data=keep_data, console=err_console)
    except StackError as err:
        err_console.print(f"[red]chaos: the stack did not start: {err}[/red]")
        raise typer.Exit(2) from None
    for line in figures.report:
        err_console.print(f"chaos: {line}", highlight=False, soft_wrap=True)
    for problem in figures.problems[:50]:
        err_console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
    modes = ", ".join(f"{mode}={n}" for mode, n in figures.faults_by_mode.items())
    err_console.print(f"chaos: faults by mode: {modes}", highlight=False, soft_wrap=True)
    checks = " ".join(f"{name}={verdict}" for name, verdict in figures.invariants.items())
    err_console.print(f"chaos: {checks}; {figures.wall_s:.0f} s", highlight=False, soft_wrap=True)
    print(figures.line(), flush=True)
    raise typer.Exit(0 if figures.ok else 1)


@app.command()
def bench(
    scale: Annotated[
        float, typer.Option(min=0.0001, max=1.0, help="Fraction of the cohort (1 = all 3,076 groups)")
    ] = 1.0,
    officers: Annotated[int, typer.Option(min=1, max=500, help="Concurrent simulated officers")] = 50,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes on the task queue")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="Results file (.json) or directory [bench/results/<timestamp>.json]")
    ] = None,
    seconds_per_day: Annotated[
        float, typer.Option(min=0.01, help="Policy compression: one day of SLAs and timers lasts this long")
    ] = 60.0,
    skeleton_groups: Annotated[
        int | None, typer.Option(min=1, help="Skeleton workflows [as many as the lifecycle ran]")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Give up on the lifecycle after this many seconds")] = 3600.0,
    keep_data: Annotated[bool, typer.Option(help="Keep the bench stack's data dir and logs")] = False,
    bytecode: Annotated[
        bool | None,
        typer.Option(help="Let the stack cache bytecode, or not [inherit PYTHONDONTWRITEBYTECODE]"),
    ] = None,
) -> None:
    """Benchmark: the October 2020 cohort from import to completed on a stack of its own, against a
    bare-Temporal skeleton on the same dev server; figures to bench/results/<timestamp>.json."""
    from bench.runner import BenchConfig, headline, run_bench

    _setup_logging("bench")
    config = BenchConfig(
        scale=scale,
        officers=officers,
        workers=workers,
        out=out,
        seconds_per_day=seconds_per_day,
        skeleton_groups=skeleton_groups,
        timeout_s=timeout,
        keep_data=keep_data,
        console=console,
        write_bytecode=bytecode,
    )
    result, path = run_bench(config)
    console.print(f"bench: {headline(result)}")
    console.print(f"figures written to {path}")
    raise typer.Exit(0 if result.get("finished") else 1)


if __name__ == "__main__":  # pragma: no cover
    app()
