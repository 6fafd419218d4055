"""Groups, imports, reports and the audit log (the API's data): `jps report`, `jps import`,
`jps seed-demo`, `jps audit verify`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from jps.settings import AUDIT_ANCHOR_KEY, JWT_SECRET, PAYLOAD_KEYS, get_settings
from tools.cli.common import console, err_console, refuse_without_secrets, rupiah, setup_logging


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
                    rupiah(stage.requested_amount),
                    rupiah(stage.paid_amount),
                )
        table.add_row(
            f"[bold]{program.label}[/bold]",
            "[bold]all[/bold]",
            f"[bold]{program.groups:,}[/bold]",
            f"[bold]{program.people:,}[/bold]",
            rupiah(program.requested_amount),
            rupiah(program.paid_amount),
            end_section=True,
        )
    console.print(table)
    for program in summary.programs:
        console.print(
            f"{program.label}: aid disbursed to {program.disbursed_groups:,} groups / "
            f"{program.disbursed_people:,} people ({rupiah(program.paid_amount)})"
        )
    _print_accounts(summary)


def _print_accounts(summary: object) -> None:
    """What became of the aid paid, per programme and province; the parts add up to `paid`."""
    from rich.table import Table

    from api.schemas import SummaryOut

    assert isinstance(summary, SummaryOut)
    fields = (
        "paid",
        "no_lpj_owed",
        "accounted",
        "awaiting_lpj",
        "under_recovery",
        "recovered",
        "written_off",
    )
    table = Table(title="Aid paid and what became of it (paid = the other columns added up)")
    table.add_column("programme")
    table.add_column("region")
    for f in fields:
        table.add_column(f.replace("_", " "), justify="right")
    labels = {p.program: p.label for p in summary.programs}
    for row in summary.accounts:
        table.add_row(labels[row.program], row.region_code, *(rupiah(getattr(row, f)) for f in fields))
    for program in summary.programs:
        total = program.accounts
        table.add_row(
            f"[bold]{program.label}[/bold]",
            "[bold]all[/bold]",
            *(rupiah(getattr(total, f)) for f in fields),
            end_section=True,
        )
    console.print(table)


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


def report(
    as_of: Annotated[
        str | None, typer.Option(help="End of this day (YYYY-MM-DD, Jakarta time) [now]")
    ] = None,
    region: Annotated[list[str] | None, typer.Option(help="Limit to a province or regency; repeat")] = None,
) -> None:
    """Print the summary per programme and stage: groups, people, amounts (what GET /reports/summary says)."""
    from datetime import date

    from tools.stack_setup import database_url

    setup_logging("report")
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        err_console.print(f"[red]--as-of {as_of!r} is not a date like 2020-10-02[/red]")
        raise typer.Exit(2) from None
    with database_url(get_settings()) as dsn:
        _print_summary(asyncio.run(_summary(dsn, day, region)))


def import_groups(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A CSV or XLSX file")],
    officer: Annotated[
        str, typer.Option(help="The registrar the groups are submitted as (an officer of the directory)")
    ] = "registrar-cli",
    dry_run: Annotated[bool, typer.Option(help="Validate only; change nothing")] = False,
    api_url: Annotated[str | None, typer.Option(help="The API [JPS_API_BASE_URL]")] = None,
) -> None:
    """Upload groups to the API (POST /groups/import) with a progress bar; print every refused row.

    Exits 1 when any row was refused. The file's format: see `GET /docs`, "imports"."""
    import time

    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from tools.cli.officers import directory_token

    refuse_without_secrets("import", JWT_SECRET)
    settings = get_settings()
    token = directory_token(settings, officer)
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


def seed_demo(
    scale: Annotated[
        float, typer.Option(min=0.0001, max=1.0, help="Fraction of the cohort (1 = all 3,076 groups)")
    ] = 1.0,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Groups driven at once")] = 32,
) -> None:
    """Create the October 2020 cohort (TKM 1,985 groups / 39,700 people, Padat Karya 1,091 / 21,820;
    synthetic people with valid NIKs) and drive it through the workflows until the aid is paid (Padat
    Karya under the wage rule: weekly muster rolls with worksite photos, each week's wages released).

    Needs the stack (`make run`): the worker, the bank simulator and the API. Safe to run again: each
    group resumes where it stands."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from infra.db import create_pool
    from infra.filestore import file_store
    from infra.temporal import connect
    from jps.domain.programs import load_policies
    from tools.seed import group_counts
    from tools.seed import seed_demo as run_seed
    from tools.stack_setup import database_url

    refuse_without_secrets("seed-demo", PAYLOAD_KEYS)
    setup_logging("seed-demo")
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
                    store=file_store(settings),  # the worksite photos of the Padat Karya rolls
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


def audit_verify() -> None:
    """Walk the audit log's hash chain; exit 1 (and say where) when a row was changed or removed."""
    from infra.audit import AuditAnchors, verify_chain
    from tools.stack_setup import database_url

    refuse_without_secrets("audit verify", AUDIT_ANCHOR_KEY)  # a development key proves nothing
    setup_logging("audit")

    async def run(dsn: str) -> dict[str, object]:
        from infra.db import create_pool

        pool = await create_pool(dsn, max_size=1)
        try:
            async with pool.acquire() as conn:
                return await verify_chain(conn, AuditAnchors.of(get_settings()))  # a cut tail too
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
