"""What every `jps` command shares: the typer app and its `jps audit` sub-app, the consoles, logging
set-up, the production secrets check and the rupiah format. The commands live in the modules beside
this one and are registered on `app` in `tools/cli/__init__.py`."""

from __future__ import annotations

import typer
from rich.console import Console

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


def setup_logging(process: str) -> None:
    from jps.logging import configure_from_settings

    configure_from_settings(process=process)


def refuse_without_secrets(command: str, *variables: str) -> None:
    """With `JPS_ENV=production`, exit 1 before doing anything when a secret this command uses is
    missing, shorter than 32 bytes or a published default, naming each (the one check the API, the
    worker and the simulators make: `jps.settings.check_production_secrets`). A command that signs
    (`jps token`) or checks (`jps audit verify`) with a development key would hand out a token or a
    verdict that means nothing."""
    from jps.settings import SecretsError, check_production_secrets, get_settings

    try:
        check_production_secrets(get_settings(), uses=variables)
    except SecretsError as err:
        raise SystemExit(f"jps {command}: {err}") from None


def start_repair_command(command: str, *, apply: bool, operator: str | None, verb: str) -> None:
    """The opening of a command that changes groups only with `--apply`: the payload keys checked
    (it reads sealed histories or payments), its logging, and `--apply` refused (exit 2) without
    `--operator`, whom the audit log names as the one who `verb`."""
    from jps.settings import PAYLOAD_KEYS

    refuse_without_secrets(command, PAYLOAD_KEYS)
    setup_logging(command)
    if apply and not operator:
        err_console.print(f"[red]--apply needs --operator ID: the audit log names who {verb}[/red]")
        raise typer.Exit(2)


def rupiah(amount: int) -> str:
    return f"Rp {amount:,}".replace(",", ".")
