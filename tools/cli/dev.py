"""The local stack and its operations (infrastructure): `jps dev`, `jps migrate`, `jps token`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from jps.settings import JWT_SECRET, get_settings
from tools.cli.common import console, err_console, refuse_without_secrets, setup_logging


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

    setup_logging("stack")
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


def migrate(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Migrations directory (the repository's migrations/)")
    ] = None,
) -> None:
    """Apply pending database migrations.

    To DATABASE_URL, else to the embedded PostgreSQL under the data dir."""
    from infra.db import MIGRATIONS_DIR, MigrationChecksumError
    from infra.db import migrate as run_migrations
    from tools.stack_setup import database_url

    setup_logging("migrate")
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


def token(
    officer: Annotated[str, typer.Option(help="Officer id, in the directory (`jps officer list`)")],
    ttl_hours: Annotated[int | None, typer.Option(help="Validity, at most JPS_JWT_TTL_HOURS")] = None,
) -> None:
    """Print a token for an active officer of the directory (HS256 JWT signed with JPS_JWT_SECRET),
    with the directory's roles and regions; refuses an officer who is not there."""
    from tools.cli.officers import directory_token

    refuse_without_secrets("token", JWT_SECRET)
    print(directory_token(get_settings(), officer, ttl_hours))
