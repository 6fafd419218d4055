"""The local stack behind `make run` / `jps dev`: every process a newcomer needs, started and stopped
as one. This module composes it; the child processes are `tools.processes`, the options, state file,
checks and waits `tools.stack_setup`.

Order of start: the Temporal dev server (SQLite under the data dir, our search attributes registered)
and embedded PostgreSQL (pgserver under the data dir), unless `TEMPORAL_ADDRESS` / `DATABASE_URL`
point at existing servers; then migrations and the demo budget; then the worker, the bank and
notification simulators and the API as child processes. Ready means `GET /health` answers 200.

Each child runs in its own process group, so a stop reaches its whole tree; its output goes to
`<data dir>/logs/<name>.log` and, prefixed with its name, to the console. SIGINT or SIGTERM stops the
children (SIGTERM, then SIGKILL after a timeout) and the embedded PostgreSQL, leaving no process
behind. Should the launcher itself be killed outright, the kernel sends its children SIGTERM
(PR_SET_PDEATHSIG); pgserver's PostgreSQL then keeps running and the next start reuses it.
`<data dir>/stack.json` describes the running stack (URLs, DSN, pids) for tools and tests, and
keeps a second launcher off the same data dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import structlog
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from infra.embedded import DEV_SERVER_ARGS, start_postgres, stop_postgres, temporal_cli_path
from infra.http import KEEP_ALIVE_S
from infra.temporal import search_attribute_flags
from jps.logging import UVICORN_LOG_CONFIG
from jps.settings import PROJECT_ROOT, Settings
from tools.processes import Child, stop_children
from tools.stack_setup import (
    DEV_OFFICER_ID,
    STATE_FILE,
    DemoOfficer,
    StackError,
    StackOptions,
    check_parts_exist,
    check_ports,
    health,
    officer_token,
    prepare_database,
    read_state,
    wait_for_temporal,
)

# What the launcher's callers (`jps dev`, the chaos run, the bench) import from here.
__all__ = ["Stack", "StackError", "StackOptions"]

log = structlog.get_logger()

_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")


class _Stop(Exception):
    """Raised in the main thread by SIGINT/SIGTERM while the stack is starting or running."""


class Stack:
    def __init__(self, options: StackOptions, settings: Settings, console: Console | None = None) -> None:
        self.opts = options
        self.settings = settings
        self.console = console or Console()
        self.children: list[Child] = []
        self.temporal: Child | None = None
        self.own_postgres = False
        # Set in the environment (not just defaulted): use those servers instead of starting ours.
        self.external_temporal = "temporal_address" in settings.model_fields_set
        self.external_db = bool(settings.database_url)
        self.temporal_address = (
            settings.temporal_address if self.external_temporal else f"{options.host}:{options.temporal_port}"
        )
        self.temporal_ui_url = (
            settings.temporal_ui_url if self.external_temporal else options.url(options.temporal_ui_port)
        )
        self.dsn = settings.database_url
        self.demo_officers: list[DemoOfficer] = []

    # -- the whole run --------------------------------------------------------------------------
    def run(self) -> int:
        """Start, wait for a signal, stop. Returns the process exit code."""
        stopping = False

        def on_signal(signum: int, _frame: object) -> None:
            if stopping:
                return  # already stopping: let the shutdown finish
            raise _Stop(signal.Signals(signum).name)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        try:
            self.start()
            self.announce()
            failed = self.watch()
            if failed is not None:
                self.console.print(
                    Text(f"stack stopped: {failed.describe_failure()}", style="red"), soft_wrap=True
                )
                code = 1
        except _Stop as received:
            self.console.print(f"\n[bold]{received}: stopping the stack…[/bold]")
        except StackError as err:
            self.console.print(
                Text("cannot start the stack: ", style="red bold") + Text(str(err)), soft_wrap=True
            )
            code = 1
        finally:
            stopping = True
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return code

    def start(self) -> None:
        opts = self.opts
        opts.data_dir.mkdir(parents=True, exist_ok=True)
        running = read_state(opts.data_dir)
        if running is not None and running.get("pid") != os.getpid():
            raise StackError(
                f"a stack is already running from {opts.data_dir} (launcher pid {running['pid']}); "
                "stop it first, or use another --data-dir"
            )
        check_parts_exist()
        check_ports(opts, with_temporal=not self.external_temporal)
        deadline = time.monotonic() + opts.ready_timeout

        if not self.external_temporal:
            self._start_temporal()
        if not self.external_db:
            log.info("postgres_starting", data_dir=str(opts.pg_dir))
            self.own_postgres = True
            self.dsn = start_postgres(opts.pg_dir)

        async def prepare() -> None:
            def alive() -> bool:
                return self.temporal is None or self.temporal.exited() is None

            _, self.demo_officers = await asyncio.gather(
                wait_for_temporal(self.temporal_address, self.settings.temporal_namespace, deadline, alive),
                prepare_database(self.dsn),
            )
            if self.external_temporal:
                await self._register_search_attributes()

        asyncio.run(prepare())
        log.info("infrastructure_ready", temporal=self.temporal_address, temporal_ui=self.temporal_ui_url)

        env = self._child_env()
        py = sys.executable
        api_url = opts.url(opts.api_port)
        bank = [py, "-m", "simulators.bank", "--port", str(opts.bank_port)]
        bank += ["--callback-url", f"{api_url}/payments/callback"]
        # The bank keeps its books across restarts, like a real bank.
        bank += ["--state", str(opts.data_dir / "bank" / "journal.jsonl")]
        api = [py, "-m", "uvicorn", "api.main:app", "--host", opts.host, "--port", str(opts.api_port)]
        api += ["--log-config", str(UVICORN_LOG_CONFIG), "--timeout-keep-alive", str(KEEP_ALIVE_S)]
        specs = [
            ("worker", [py, "worker.py"]),
            ("bank", bank),
            ("notify", [py, "-m", "simulators.notify", "--port", str(opts.notify_port)]),
            ("api", api),
        ]
        for i, (name, argv) in enumerate(specs):
            child = Child(name, argv, env, opts.logs_dir / f"{name}.log", _COLOURS[i + 1], opts.echo)
            child.start(self.console)
            self.children.append(child)
        self._write_state()
        self._wait_healthy(deadline)

    def _start_temporal(self) -> None:
        o = self.opts
        argv = [
            temporal_cli_path(),
            "server",
            "start-dev",
            "--db-filename",
            str(o.temporal_db),
            "--ip",
            o.host,
            "--port",
            str(o.temporal_port),
            "--ui-port",
            str(o.temporal_ui_port),
            *DEV_SERVER_ARGS,
            "--log-level",
            "error",
            *search_attribute_flags(),
        ]
        if self.settings.temporal_namespace != "default":
            argv += ["--namespace", self.settings.temporal_namespace]
        log.info("temporal_starting", db=str(o.temporal_db), port=o.temporal_port, ui_port=o.temporal_ui_port)
        self.temporal = Child(
            "temporal", argv, dict(os.environ), o.logs_dir / "temporal.log", _COLOURS[0], o.echo
        )
        self.temporal.start(self.console)

    async def _register_search_attributes(self) -> None:
        from infra.temporal import connect, register_search_attributes

        settings = self.settings.model_copy(update={"temporal_address": self.temporal_address})
        try:
            await register_search_attributes(await connect(settings))
        except Exception as err:  # a server we do not own may refuse operator calls: say so, go on
            log.warning("search_attributes_not_registered", error=str(err))

    def _child_env(self) -> dict[str, str]:
        o = self.opts
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.dsn,
                "TEMPORAL_ADDRESS": self.temporal_address,
                "TEMPORAL_NAMESPACE": self.settings.temporal_namespace,
                "TEMPORAL_TASK_QUEUE": self.settings.temporal_task_queue,
                "TEMPORAL_UI_URL": self.temporal_ui_url,
                "JPS_API_HOST": o.host,
                "JPS_API_PORT": str(o.api_port),
                "JPS_API_BASE_URL": o.url(o.api_port),
                "JPS_BANK_URL": o.url(o.bank_port),
                "JPS_NOTIFY_URL": o.url(o.notify_port),
                "JPS_WORKER_METRICS_PORT": str(o.worker_metrics_port),
                "JPS_DATA_DIR": str(o.data_dir),
                "JPS_ENV": self.settings.env,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _wait_healthy(self, deadline: float) -> None:
        url = self.opts.url(self.opts.api_port) + "/health"
        status, body = 0, None
        while time.monotonic() < deadline:
            for child in self._all_children():
                if child.exited() is not None:
                    raise StackError(child.describe_failure())
            status, body = health(url)
            if status == 200:
                log.info("stack_healthy", health=body)
                return
            time.sleep(0.5)
        raise StackError(
            f"{url} did not answer 200 within {self.opts.ready_timeout:.0f} s "
            f"(last answer: {status} {body}); see the logs in {self.opts.logs_dir}"
        )

    def _all_children(self) -> list[Child]:
        return ([self.temporal] if self.temporal else []) + self.children

    def _write_state(self) -> None:
        o = self.opts
        state = {
            "pid": os.getpid(),
            "api_url": o.url(o.api_port),
            "temporal_address": self.temporal_address,
            "temporal_ui_url": self.temporal_ui_url,
            "database_url": self.dsn,
            "bank_url": o.url(o.bank_port),
            "notify_url": o.url(o.notify_port),
            "logs_dir": str(o.logs_dir),
            "children": {c.name: c.pid for c in self._all_children()},
            "embedded_postgres": str(o.pg_dir) if self.own_postgres else None,
        }
        (o.data_dir / STATE_FILE).write_text(json.dumps(state, indent=2))

    # -- ready --------------------------------------------------------------------------------------
    def announce(self) -> None:
        o = self.opts
        api = o.url(o.api_port)
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        rows = [
            ("Console", f"{api}/"),
            ("API", api),
            ("API docs", f"{api}/docs"),
            ("Grievance form", f"{api}/pengaduan-baru (public, no sign-in; by SMS: README, Grievances)"),
            ("Status lookup", f"{api}/cek-status (public, no sign-in: a group's id and a member's NIK)"),
            ("Verification", f"{api}/verifikasi-pembayaran (officers: who confirmed their payment by SMS)"),
            ("Health", f"{api}/health"),
            ("Temporal UI", self.temporal_ui_url),
            ("Temporal", self.temporal_address + ("" if self.external_temporal else " (dev server)")),
            ("PostgreSQL", "DATABASE_URL" if self.external_db else f"embedded, {o.pg_dir}"),
            ("Bank simulator", o.url(o.bank_port)),
            ("Notify simulator", o.url(o.notify_port)),
            ("Logs", f"{o.logs_dir}/*.log"),
        ]
        for label, value in rows:
            table.add_row(label, value)
        self.console.print(Panel(table, title="JPS Flow is running", border_style="green", expand=False))
        self.console.print(
            "Demo officers (new passwords each start): sign in at the console, or "
            f"curl -d username=ID -d password=PW {api}/auth/token"
        )
        for demo in self.demo_officers:
            # Plain print: one line each, never wrapped, so a password can be copied.
            roles = ",".join(r.value for r in demo.roles)
            print(
                f"  {demo.id:<18} password={demo.password}  roles={roles}  regions={','.join(demo.regions)}"
            )
        dev = next((d for d in self.demo_officers if d.id == DEV_OFFICER_ID), None)
        token = officer_token(self.settings, dev.token_version if dev else 1)
        self.console.print(
            f"Officer token ([bold]{DEV_OFFICER_ID}[/bold], every role, national scope, "
            f"valid {self.settings.jwt_ttl_hours} h):"
        )
        # Plain print: a token must stay on one line to be copied.
        print(f"JPS_TOKEN={token}", flush=True)
        self.console.print(
            'Try: curl -H "Authorization: Bearer $JPS_TOKEN" ' + f"{api}/groups\nCtrl-C stops everything."
        )

    def watch(self) -> Child | None:
        """Block until a signal (raises _Stop) or a child dies (returned)."""
        while True:
            for child in self._all_children():
                if child.exited() is not None:
                    return child
            time.sleep(0.5)

    # -- faults, for the chaos run (tools/chaos/) ------------------------------------------------
    def restart_child(self, name: str, sig: signal.Signals = signal.SIGKILL, down_s: float = 0.0) -> Child:
        """Send `sig` to a child's process group, wait for it, leave it down `down_s`, start it again
        with the same command."""
        old = next(c for c in self.children if c.name == name)
        old.signal_group(sig)
        if old.proc is not None:
            old.proc.wait(self.opts.stop_timeout)
        old.join_reader(2)
        time.sleep(down_s)
        new = Child(old.name, old.argv, old.env, old.log_path, old.colour, old.echo)
        new.start(self.console)
        self.children[self.children.index(old)] = new
        self._write_state()
        return new

    def restart_temporal(self) -> None:
        """Stop the dev server (SIGTERM) and start it again on the same database file."""
        if self.temporal is not None:
            stop_children([self.temporal], self.opts.stop_timeout)
        self._start_temporal()
        self._write_state()

    def restart_postgres(self) -> None:
        """Stop the embedded PostgreSQL and start it again on the same data. The start runs in a
        process of its own: pgserver keeps its handle per directory in this one, stopped or not."""
        stop_postgres(self.opts.pg_dir)
        code = "import sys; from pathlib import Path; from infra.embedded import start_postgres as s; "
        code += "print(s(Path(sys.argv[1])))"
        out = subprocess.run(
            [sys.executable, "-c", code, str(self.opts.pg_dir)],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if out.stdout.strip() != self.dsn:
            raise StackError(f"PostgreSQL came back at {out.stdout.strip()}, not {self.dsn}")

    # -- stop ------------------------------------------------------------------------------------
    def stop(self) -> None:
        o = self.opts
        # The worker, API and simulators first (the worker still reaches Temporal while it drains),
        # then Temporal, then PostgreSQL.
        stop_children(list(reversed(self.children)), o.stop_timeout)
        if self.temporal is not None:
            stop_children([self.temporal], o.stop_timeout)
        if self.own_postgres:
            stop_postgres(o.pg_dir)
            log.info("postgres_stopped", data_dir=str(o.pg_dir))
        state = o.data_dir / STATE_FILE
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, ValueError):
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        self.console.print("stack stopped")
