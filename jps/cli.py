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
from typing import Annotated

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
    from jps.stack import Stack, StackOptions

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
    from jps.db import MIGRATIONS_DIR, MigrationChecksumError
    from jps.db import migrate as run_migrations
    from jps.stack import database_url

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
    from jps.temporal import connect, ensure_namespace, register_search_attributes

    _setup_logging("temporal-setup")
    settings = get_settings()

    async def setup() -> None:
        client = await connect(settings)
        await ensure_namespace(client)
        await register_search_attributes(client)

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


# =====================================================================================================
# Audit (API): `jps audit verify` — add commands to `audit_app` here
# =====================================================================================================


# =====================================================================================================
# Workflows and payments (workflows): reconcile, bench — add commands here
# =====================================================================================================


if __name__ == "__main__":  # pragma: no cover
    app()
