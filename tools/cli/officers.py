"""The officer directory from the command line (`jps officer add|set|deactivate|list`): the first
admin is made here, and an operator can lock someone out without the API. The same writer as the
API's `/officers` (`infra.officers`); every change is audited with the actor `cli:<OS user>`. Also
`directory_token`, the token `jps token` and `jps import` print or use: only for an officer who is in
the directory and active, with the directory's roles, regions and token version."""

from __future__ import annotations

import asyncio
import getpass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jps.settings import Settings, get_settings
from tools.cli.common import console, err_console

if TYPE_CHECKING:
    from infra.officers import OfficerRecord

officer_app = typer.Typer(help="The officer directory: who may sign in, with which roles and regions.")

RoleOpt = Annotated[list[str] | None, typer.Option("--role", help="A role; repeat for several")]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option("--region", help="Region scope: *, 2-digit province or 4-digit regency; repeat"),
]


def _actor() -> Any:
    from jps.domain.models import Officer

    return Officer(id=f"cli:{getpass.getuser()}", name="jps officer", roles=[], regions=[])


def _roles(values: list[str] | None) -> Any:
    from jps.domain.roles import Role

    if values is None:
        return None
    try:
        return [Role(v) for v in values]
    except ValueError:
        err_console.print(f"[red]unknown role in {values}[/red]; choose from {sorted(r.value for r in Role)}")
        raise typer.Exit(2) from None


def _regions(values: list[str] | None) -> list[str] | None:
    import re

    if values is None:
        return None
    bad = [v for v in values if not re.fullmatch(r"\*|\d{2}|\d{4}", v)]
    if bad:
        err_console.print(f"[red]region scope {bad} must be '*', 2 or 4 digits[/red]")
        raise typer.Exit(2)
    return values


def _password(ask: bool) -> str | None:
    if not ask:
        return None
    password: str = typer.prompt(
        "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
    )
    if len(password) < 12:
        err_console.print("[red]a password needs at least 12 characters[/red]")
        raise typer.Exit(2)
    return password


async def _with_pool(dsn: str, work: Any) -> Any:
    from infra.db import create_pool

    pool = await create_pool(dsn, max_size=2)
    try:
        return await work(pool)
    finally:
        await pool.close()


def _run(work: Any) -> Any:
    from tools.stack_setup import database_url

    with database_url(get_settings()) as dsn:
        return asyncio.run(_with_pool(dsn, work))


def _show(record: OfficerRecord) -> None:
    state = "active" if record.active else "inactive"
    console.print(
        f"{record.id}  {record.name!r}  roles={','.join(r.value for r in record.roles)}  "
        f"regions={','.join(record.regions)}  {state}"
    )


def add(
    officer_id: Annotated[str, typer.Argument(help="Login name")],
    name: Annotated[str, typer.Option(help="Display name")],
    role: RoleOpt = None,
    region: RegionOpt = None,
    password: Annotated[bool, typer.Option(help="Ask for a password (else none: no sign-in yet)")] = True,
) -> None:
    """Add an officer (audited)."""
    from infra.officers import OfficerExists, create_officer

    roles, regions = _roles(role), _regions(region)
    if not roles or not regions:
        err_console.print("[red]give at least one --role and one --region[/red]")
        raise typer.Exit(2)
    secret = _password(password)

    async def work(pool: Any) -> Any:
        return await create_officer(
            pool,
            actor=_actor(),
            officer_id=officer_id,
            name=name,
            roles=roles,
            regions=regions,
            password=secret,
        )

    try:
        _show(_run(work))
    except OfficerExists:
        err_console.print(f"[red]officer {officer_id} exists[/red]; change it with `jps officer set`")
        raise typer.Exit(1) from None


def set_officer(
    officer_id: Annotated[str, typer.Argument(help="Login name")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    role: RoleOpt = None,
    region: RegionOpt = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Allow or end sign-in")] = None,
    reset_password: Annotated[bool, typer.Option(help="Ask for a new password (lifts a lock)")] = False,
    clear_second_factor: Annotated[
        bool, typer.Option(help="Forget the TOTP second factor (a lost phone): enrol again at sign-in")
    ] = False,
) -> None:
    """Change an officer's roles (all of them: repeat --role), regions, name, active, or password
    (audited; ends the officer's tokens when roles, regions, active or password change)."""
    roles, regions = _roles(role), _regions(region)
    _update(
        officer_id,
        name=name,
        roles=roles,
        regions=regions,
        active=active,
        password=_password(reset_password),
        clear_second_factor=clear_second_factor,
    )


def deactivate(officer_id: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Deactivate an officer: no sign-in, and every token refused within a minute (audited)."""
    _update(officer_id, active=False)


def _update(officer_id: str, **changes: Any) -> None:
    from infra.officers import OfficerNotFound, update_officer

    async def work(pool: Any) -> Any:
        return await update_officer(pool, actor=_actor(), officer_id=officer_id, **changes)

    try:
        _show(_run(work))
    except OfficerNotFound:
        err_console.print(f"[red]no officer {officer_id}[/red]")
        raise typer.Exit(1) from None


def list_officers() -> None:
    """Every officer in the directory."""
    from rich.table import Table

    from infra.officers import COLUMNS, OfficerRecord

    async def work(pool: Any) -> Any:
        return [OfficerRecord.of(r) for r in await pool.fetch(f"SELECT {COLUMNS} FROM officers ORDER BY id")]

    table = Table("officer", "name", "roles", "regions", "active", "locked until")
    for record in _run(work):
        table.add_row(
            record.id,
            record.name,
            ", ".join(r.value for r in record.roles),
            ", ".join(record.regions),
            "yes" if record.active else "no",
            record.locked_until.isoformat(timespec="seconds") if record.locked_until else "",
        )
    console.print(table)


officer_app.command()(add)
officer_app.command("set")(set_officer)
officer_app.command()(deactivate)
officer_app.command("list")(list_officers)


def directory_token(settings: Settings, officer_id: str, ttl_hours: int | None = None) -> str:
    """A token for an active officer of the directory (its roles, regions and token version), or exit 1."""
    from datetime import timedelta

    from infra.officers import get_record
    from jps.auth import mint_token

    async def work(pool: Any) -> Any:
        return await get_record(pool, officer_id)

    record: OfficerRecord | None = _run(work)
    if record is None or not record.active:
        err_console.print(
            f"[red]{officer_id} is not an active officer of the directory[/red]; see `jps officer list`"
        )
        raise typer.Exit(1)
    return mint_token(
        settings.jwt_secret,
        officer_id=record.id,
        roles=record.roles,
        regions=record.regions,
        name=record.name,
        ttl=timedelta(hours=min(ttl_hours or settings.jwt_ttl_hours, settings.jwt_ttl_hours)),
        version=record.token_version,
    )
