"""The local stack behind `make run` / `jps dev`: every process a newcomer needs, started and stopped
as one.

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
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import structlog
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from infra.db import migrate
from infra.embedded import start_postgres, stop_postgres, temporal_cli_path
from infra.http import KEEP_ALIVE_S
from infra.ledger import load_demo_allocations
from infra.temporal import search_attribute_flags
from jps.domain.roles import NATIONAL, Role
from jps.logging import UVICORN_LOG_CONFIG
from jps.settings import PROJECT_ROOT, Settings

log = structlog.get_logger()

DEV_OFFICER_ID = "dev-officer"
DEV_OFFICER_NAME = "Petugas Demo"
STATE_FILE = "stack.json"

_PR_SET_PDEATHSIG = 1
_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")


class StackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


class _Stop(Exception):
    """Raised in the main thread by SIGINT/SIGTERM while the stack is starting or running."""


def port_of(url: str, default: int) -> int:
    return urlsplit(url).port or default


@dataclass
class StackOptions:
    """Where the stack keeps its data and which ports it binds (all on 127.0.0.1)."""

    data_dir: Path
    api_port: int = 8000
    bank_port: int = 8100
    notify_port: int = 8200
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    worker_metrics_port: int = 9464
    echo: bool = True  # children's lines on the console too (they always go to the log files)
    ready_timeout: float = 90.0
    stop_timeout: float = 15.0
    host: str = "127.0.0.1"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> StackOptions:
        base = cls(
            data_dir=settings.data_dir,
            api_port=settings.api_port,
            bank_port=port_of(settings.bank_url, 8100),
            notify_port=port_of(settings.notify_url, 8200),
            temporal_ui_port=port_of(settings.temporal_ui_url, 8233),
            worker_metrics_port=settings.worker_metrics_port,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(base, key, value)
        return base

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def temporal_db(self) -> Path:
        return self.data_dir / "temporal.db"

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


# ---------------------------------------------------------------------------------------------------
# Child processes


def _set_pdeathsig() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGTERM the child when the launcher dies (Linux only).

    The libc function is resolved here, in the parent, so the child only makes one syscall
    between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return preexec


@dataclass
class Child:
    """One process of the stack, with its output teed to a log file (and the console)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    colour: str = "white"
    echo: bool = True
    proc: subprocess.Popen[bytes] | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    _reader: threading.Thread | None = None

    def start(self, console: Console) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a stop reaches its whole tree
            preexec_fn=_set_pdeathsig(),
        )
        stream = self.proc.stdout
        assert stream is not None
        self._reader = threading.Thread(
            target=self._pump, args=(stream, console), name=f"log-{self.name}", daemon=True
        )
        self._reader.start()

    def _pump(self, stream: IO[bytes], console: Console) -> None:
        with self.log_path.open("ab") as sink:
            for raw in iter(stream.readline, b""):
                sink.write(raw)
                sink.flush()
                line = raw.decode(errors="replace").rstrip()
                self.tail.append(line)
                if self.echo and line:
                    prefix = Text(f"{self.name:>8} │ ", style=self.colour)
                    console.print(prefix + Text(line), highlight=False, soft_wrap=True)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal_group(self, sig: signal.Signals) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def describe_failure(self) -> str:
        lines = "\n".join(f"    {line}" for line in list(self.tail)[-20:])
        return f"{self.name} exited with code {self.exited()}; last lines of {self.log_path}:\n{lines}"

    def join_reader(self, timeout: float) -> None:
        if self._reader is not None:
            self._reader.join(timeout)


def stop_children(children: list[Child], timeout: float) -> None:
    """SIGTERM each child's process group, wait, then SIGKILL whatever is left of it."""
    for child in children:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("child_killed", child=child.name, after_s=timeout)
    for child in children:
        # Also reaches grandchildren that outlived their group leader.
        child.signal_group(signal.SIGKILL)
        if child.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(5)
        child.join_reader(2)


# ---------------------------------------------------------------------------------------------------
# Checks and waits


def ensure_port_free(host: str, port: int, what: str, hint: str) -> None:
    """Refuse to start when something already listens on `port`: never talk to a foreign server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        listening = probe.connect_ex((host, port)) == 0
    if not listening:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # SO_REUSEADDR: a port in TIME_WAIT is free for a server (they all set it too).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
                return
            except OSError:
                pass
    raise StackError(
        f"port {port} ({what}) is already in use by another process (another JPS stack, or something "
        f"else). Stop it, or {hint}."
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The running stack's description (`stack.json`), or None when no launcher is alive there."""
    path = data_dir / STATE_FILE
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state if _pid_alive(int(state.get("pid", 0))) else None


async def _wait_for_temporal(
    address: str, namespace: str, deadline: float, alive: Callable[[], bool]
) -> None:
    from temporalio.client import Client

    last: Exception | None = None
    while time.monotonic() < deadline:
        if not alive():
            raise StackError("the Temporal dev server exited while starting")
        try:
            client = await Client.connect(address, namespace=namespace)
            await client.count_workflows()
            return
        except Exception as err:  # not up yet: connection refused, namespace not yet registered
            last = err
            await asyncio.sleep(0.2)
    raise StackError(f"Temporal at {address} did not answer in time: {last}")


async def _prepare_database(dsn: str) -> None:
    applied = await migrate(dsn)
    log.info("migrations_done", applied_now=applied)
    await _load_demo_allocations(dsn)


async def _load_demo_allocations(dsn: str) -> None:
    """A demo budget for every province and programme, so a newcomer can walk a group to the end."""
    result = await load_demo_allocations(dsn)
    log.info("demo_budget_loaded", result=result)


def _health(url: str) -> tuple[int, Any]:
    try:
        response = httpx.get(url, timeout=3)
    except httpx.HTTPError as err:
        return 0, str(err)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


def officer_token(settings: Settings) -> str:
    """A token for a demo officer holding every role, national scope."""
    from jps.auth import mint_token

    return mint_token(
        settings.jwt_secret,
        officer_id=DEV_OFFICER_ID,
        roles=list(Role),
        regions=[NATIONAL],
        name=DEV_OFFICER_NAME,
        ttl=timedelta(hours=settings.jwt_ttl_hours),
    )


# ---------------------------------------------------------------------------------------------------
# The launcher


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
        self._check_parts_exist()
        self._check_ports()
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

            await asyncio.gather(
                _wait_for_temporal(self.temporal_address, self.settings.temporal_namespace, deadline, alive),
                _prepare_database(self.dsn),
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

    def _check_parts_exist(self) -> None:
        missing = [
            rel
            for rel in ("worker.py", "simulators/bank.py", "simulators/notify.py", "api/main.py")
            if not (PROJECT_ROOT / rel).exists()
        ]
        if missing:
            raise StackError(f"parts of the stack are missing from {PROJECT_ROOT}: {', '.join(missing)}")

    def _check_ports(self) -> None:
        o = self.opts
        ports = [
            (o.api_port, "API", "set JPS_API_PORT or --api-port"),
            (o.bank_port, "bank simulator", "set JPS_BANK_URL or --bank-port"),
            (o.notify_port, "notification simulator", "set JPS_NOTIFY_URL or --notify-port"),
            (o.worker_metrics_port, "worker metrics", "set JPS_WORKER_METRICS_PORT or --worker-metrics-port"),
        ]
        if not self.external_temporal:
            use_existing = "set TEMPORAL_ADDRESS to use an existing Temporal server"
            ports += [
                (o.temporal_port, "Temporal dev server", f"choose --temporal-port, or {use_existing}"),
                (o.temporal_ui_port, "Temporal UI", "set TEMPORAL_UI_URL or --temporal-ui-port"),
            ]
        seen: set[int] = set()
        for port, what, hint in ports:
            if port in seen:
                raise StackError(f"port {port} is configured twice ({what})")
            seen.add(port)
            ensure_port_free(o.host, port, what, hint)

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
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
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
            status, body = _health(url)
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
        token = officer_token(self.settings)
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


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The DSN a CLI command should use: `DATABASE_URL`, else the embedded PostgreSQL under the data
    dir (joined when a stack runs; otherwise started for the command and stopped afterwards)."""
    if settings.database_url:
        yield settings.database_url
        return
    pg_dir = settings.data_dir / "pg"
    was_running = (pg_dir / "postmaster.pid").exists()
    dsn = start_postgres(pg_dir)
    try:
        yield dsn
    finally:
        if not was_running:
            stop_postgres(pg_dir)
