"""`jps temporal-setup`: the namespace and our search attributes on a Temporal server we did not start.
`jps stuck-workflows`: the running workflows Temporal reports stuck (their tasks keep failing)."""

from __future__ import annotations

import asyncio

import typer

from jps.settings import get_settings
from tools.cli.common import console, setup_logging


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
