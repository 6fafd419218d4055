"""`jps temporal-setup`: the namespace and our search attributes on a Temporal server we did not start.
`jps stuck-workflows`: the running workflows Temporal reports stuck (their tasks keep failing).
`jps reset-unreplayable`: those stuck because their history no longer replays, reset where it does."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from jps.settings import get_settings
from tools.cli.common import console, setup_logging, start_repair_command


def temporal_setup() -> None:
    """Create the Temporal namespace if missing and register our search attributes.

    Idempotent. For a Temporal server we did not start (docker-compose, a data centre); `jps dev` does
    this itself."""
    from infra.temporal import connect, ensure_namespace, register_search_attributes

    setup_logging("temporal-setup")
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


def stuck_workflows() -> None:
    """The running workflows whose workflow task failed or timed out twice in a row, as Temporal
    reports them (`TemporalReportedProblems`): the group waits, never paid twice, until an operator
    acts (docs/disbursement.md, "Resetting a group safely"). Exits 1 when there is any, for a cron
    job or an alert; 0 when there is none."""
    from infra.temporal import TaskProblem, connect, task_problems

    setup_logging("stuck-workflows")

    async def find() -> list[TaskProblem]:
        return await task_problems(await connect(get_settings()))

    stuck = asyncio.run(find())
    for p in stuck:
        console.print(f"{p.workflow_id}  {p.workflow_type}  {', '.join(p.problems)}")
    if not stuck:
        console.print("no running workflow is reported stuck")
        return
    console.print(
        f"{len(stuck)} stuck: read each one's history (Temporal UI), then docs/disbursement.md, "
        '"Resetting a group safely"'
    )
    raise typer.Exit(1)


def reset_unreplayable(
    apply: Annotated[bool, typer.Option("--apply", help="Reset; without it, only print where")] = False,
    operator: Annotated[
        str | None, typer.Option(help="Who resets (the audit log's actor); needed with --apply")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=0, max=1000, help="Reset none when more than this many do not replay [JPS_REPLAY_RESET_LIMIT]"
        ),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(help="This group instead (its workflow id), flagged or not; repeat [every flagged one]"),
    ] = None,
) -> None:
    """The running workflows Temporal reports stuck on a non-determinism error or an unhandled failure
    in their workflow code: each one's history is
    replayed with the workflows installed here to find the first task that does not replay, and
    printed with it; with --apply each is reset to that task (the new run takes it again and gets the
    signals and updates sent since; the audit log records it), under the same rules and lock as the
    workers' own sweep every JPS_REPLAY_RESET_EVERY_S (tools/replay_reset.py). --group looks at a
    group whose page cannot show its state although no task of it failed yet. Exits 1 when a stuck
    workflow is left."""
    from infra.db import create_pool
    from infra.temporal import connect
    from tools.replay_reset import Sweep, locked_sweep, replayer_of, sweep
    from tools.stack_setup import database_url
    from worker import WORKFLOWS

    start_repair_command("reset-unreplayable", apply=apply, operator=operator, verb="reset")
    settings = get_settings()
    most = settings.replay_reset_limit if limit is None else limit

    async def run(dsn: str | None) -> int:
        client = await connect(settings)
        replayer = replayer_of(WORKFLOWS, client.data_converter)
        found: Sweep | None
        if dsn is None:
            found = await sweep(
                client,
                replayer,
                apply=False,
                operator="dry-run",
                limit=most,
                workflow_ids=group or (),
            )
        else:
            pool = await create_pool(dsn, max_size=2)
            try:
                found = await locked_sweep(
                    client,
                    pool,
                    replayer,
                    operator=operator or "",
                    limit=most,
                    workflow_ids=group or (),
                )
            finally:
                await pool.close()
            if found is None:
                console.print("another sweep is resetting now (a worker's): try again in a minute")
                return 1
        others = [] if group else [p for p in found.stuck if p not in found.unreplayable]
        for p in others:
            problems = ", ".join(p.problems)
            console.print(f"{p.workflow_id}  {p.workflow_type}  left alone (not ours to reset): {problems}")
        if found.refused:
            console.print(f"[red]{found.refused}[/red]")
        for o in found.outcomes:
            where = f" at event {o.event_id}" if o.event_id else ""
            new = f" -> run {o.new_run_id}" if o.new_run_id else ""
            console.print(f"{o.workflow_id}  {o.action}{where}{new}  {o.detail[:200]}")
        if not found.stuck:
            console.print("no running workflow is reported stuck")
        left = len(others) + sum(o.action not in ("reset", "replays") for o in found.outcomes)
        return 1 if left or found.refused else 0

    if apply:
        with database_url(settings) as dsn:
            code = asyncio.run(run(dsn))
    else:
        code = asyncio.run(run(None))  # a look: no database
    if code:
        raise typer.Exit(code)
