"""What every `jps` command shares: the typer app and its `jps audit` sub-app, the consoles, logging
set-up and the rupiah format. The commands live in the modules beside this one and are registered
on `app` in `tools/cli/__init__.py`."""

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


def rupiah(amount: int) -> str:
    return f"Rp {amount:,}".replace(",", ".")
