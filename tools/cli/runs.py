"""Runs on a stack of their own: `jps chaos` (make chaos) and `jps bench` (make bench); the only
commands that import the bench."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tools.cli.common import console, err_console, setup_logging


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
    paced_rate: Annotated[
        float | None,
        typer.Option(
            min=0, help="Human pace: officer actions a second, open loop (0: skip) [500/30 × scale]"
        ),
    ] = None,
    paced_seconds: Annotated[
        float | None, typer.Option(min=1, help="Human pace: how long [60 s × scale, 10 to 60 s]")
    ] = None,
    capacity_steps: Annotated[
        str | None,
        typer.Option(
            help="Capacity curve: action rates a second, comma-separated ('' or none: skip) "
            "[bench.config: 5 to 60]"
        ),
    ] = None,
    step_seconds: Annotated[
        float | None, typer.Option(min=1, help="Capacity curve: seconds per rate [45 s × scale, 5 to 45 s]")
    ] = None,
    bulk: Annotated[bool, typer.Option(help="Approve every waiting disbursement in bulk, timed")] = True,
) -> None:
    """Benchmark: the October 2020 cohort from import to completed on a stack of its own, against a
    bare-Temporal skeleton on the same dev server; figures to bench/results/<timestamp>.json."""
    from bench.runner import BenchConfig, headline, run_bench

    setup_logging("bench")
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
        paced_rate=paced_rate,
        paced_seconds=paced_seconds,
        step_seconds=step_seconds,
        bulk=bulk,
    )
    if capacity_steps is not None:
        config.capacity_steps = _rates(capacity_steps)
    result, path = run_bench(config)
    for line in headline(result).splitlines():
        console.print(f"bench: {line}", highlight=False, soft_wrap=True)
    console.print(f"figures written to {path}")
    raise typer.Exit(0 if result.get("finished") else 1)


def _rates(text: str) -> tuple[float, ...]:
    """'5,10,20' as rates; '' or 'none' as no capacity curve."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        rates = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"not a list of rates: {text!r}") from None
    if any(r <= 0 for r in rates):
        raise typer.BadParameter("every capacity rate is above 0")
    return rates
