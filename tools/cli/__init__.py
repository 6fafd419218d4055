"""`jps`, the command line of JPS Flow (typer + rich): `jps = "tools.cli:main"`.

One typer app (`common.py`); commands that belong together live in sub-apps (`jps audit verify`).
Each module here holds the commands of one part of the system: `dev` (the local stack: dev, migrate,
token), `temporal` (temporal-setup, stuck-workflows, reset-unreplayable), `data` (report, import,
seed-demo, audit verify), `money` (reconcile, repair-failed, verify-payments), `officers` (officer
add|set|deactivate|list, the directory), `runs` (chaos, bench, on stacks of their own); they are
registered below, in the order `jps --help` lists them. To add a command, put its function in the
module of the part it belongs to and register it here; import heavy modules inside the function (so
`jps --help` stays fast and the local-stack commands do not need the API's dependencies), read
configuration only through `get_settings()`, and reach PostgreSQL through `database_url(...)`, which
also works when no stack is running.
"""

from __future__ import annotations

import logging
import os
import sys

from tools.cli import data, dev, money, officers, runs, temporal
from tools.cli.common import app, audit_app

__all__ = ["app", "main"]

# Every command, in the order of `jps --help`; the name given where it differs from the function's.
app.command()(dev.dev)
app.command()(dev.migrate)
app.command("temporal-setup")(temporal.temporal_setup)
app.command("stuck-workflows")(temporal.stuck_workflows)
app.command("reset-unreplayable")(temporal.reset_unreplayable)
app.command()(dev.token)
app.add_typer(officers.officer_app, name="officer")
app.command()(data.report)
app.command("import")(data.import_groups)
app.command("seed-demo")(data.seed_demo)
audit_app.command("verify")(data.audit_verify)
app.command()(money.reconcile)
app.command("repair-failed")(money.repair_failed)
app.command("verify-payments")(money.verify_payments)
app.command()(runs.chaos)
app.command()(runs.bench)


def main() -> None:
    """The `jps` console script (and `python -m tools.cli`): `app`, then the process's end.

    A command that used a Temporal client leaves the SDK's Rust (Tokio) threads running, and CPython's
    teardown can then crash under them (temporalio/sdk-python#300: SIGSEGV or 'PyGILState_Release'
    after the command had finished; seen here once in CI, `jps temporal-setup` exiting -11 after
    printing that the namespace was ready). Such a process flushes what it wrote and ends with
    `os._exit`, skipping a teardown that has nothing left to do: every command closes its pools,
    files and servers inside its own `with`/`finally` blocks."""
    code: int = 0
    try:
        app()
    except SystemExit as ended:
        if isinstance(ended.code, str):
            print(ended.code, file=sys.stderr)
            code = 1
        else:
            code = ended.code or 0
    if "temporalio.bridge.temporal_sdk_bridge" not in sys.modules:
        raise SystemExit(code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
