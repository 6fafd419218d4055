"""What the local stack is and stands on, apart from the launcher itself (`tools.stack`): its options
(data dir and ports), the error that stops a start, its state file (`stack.json`), the checks and
waits before and while it starts (a free port, Temporal answering, the database migrated and
funded, the demo officers in the directory, `GET /health`), `dev-officer`'s token, and the DSN other
commands use (`database_url`: `DATABASE_URL`, else the embedded PostgreSQL under the data dir)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import structlog

from infra.db import migrate
from infra.embedded import start_postgres, stop_postgres
from infra.ledger import load_demo_allocations
from jps.domain.roles import NATIONAL, Role
from jps.settings import PROJECT_ROOT, Settings
from tools.processes import pid_alive

log = structlog.get_logger()

DEV_OFFICER_ID = "dev-officer"
DEV_OFFICER_NAME = "Petugas Demo"
STATE_FILE = "stack.json"


class StackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


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


def check_parts_exist() -> None:
    missing = [
        rel
        for rel in ("worker.py", "simulators/bank.py", "simulators/notify.py", "api/main.py")
        if not (PROJECT_ROOT / rel).exists()
    ]
    if missing:
        raise StackError(f"parts of the stack are missing from {PROJECT_ROOT}: {', '.join(missing)}")


def check_ports(o: StackOptions, *, with_temporal: bool) -> None:
    """Every port the stack binds (Temporal's too, when it starts its own) is free, and none twice."""
    ports = [
        (o.api_port, "API", "set JPS_API_PORT or --api-port"),
        (o.bank_port, "bank simulator", "set JPS_BANK_URL or --bank-port"),
        (o.notify_port, "notification simulator", "set JPS_NOTIFY_URL or --notify-port"),
        (o.worker_metrics_port, "worker metrics", "set JPS_WORKER_METRICS_PORT or --worker-metrics-port"),
    ]
    if with_temporal:
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


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The running stack's description (`stack.json`), or None when no launcher is alive there."""
    path = data_dir / STATE_FILE
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state if pid_alive(int(state.get("pid", 0))) else None


async def wait_for_temporal(address: str, namespace: str, deadline: float, alive: Callable[[], bool]) -> None:
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


@dataclass(frozen=True)
class DemoOfficer:
    id: str
    roles: list[Role]
    regions: list[str]
    password: str
    token_version: int


DEMO_PROVINCE = "31"  # DKI Jakarta


def demo_officers() -> list[tuple[str, str, list[Role], list[str]]]:
    """`dev-officer` (every role, `admin` too, national), then for each role one officer of a
    province (`verifier-31`) and one national (`verifier-pusat`)."""
    officers = [(DEV_OFFICER_ID, DEV_OFFICER_NAME, list(Role), [NATIONAL])]
    for role in Role:
        officers.append(
            (f"{role.value}-{DEMO_PROVINCE}", f"Petugas {role.value} DKI", [role], [DEMO_PROVINCE])
        )
        officers.append((f"{role.value}-pusat", f"Petugas {role.value} pusat", [role], [NATIONAL]))
    return officers


async def prepare_database(dsn: str) -> list[DemoOfficer]:
    applied = await migrate(dsn)
    log.info("migrations_done", applied_now=applied)
    await _load_demo_allocations(dsn)
    return await load_demo_officers(dsn)


async def load_demo_officers(dsn: str) -> list[DemoOfficer]:
    """The demo officers in the directory, each with a fresh password (printed when the stack is up):
    a second start gives new ones."""
    from infra.officers import ensure_officer

    conn = await asyncpg.connect(dsn)
    made: list[DemoOfficer] = []
    try:
        for officer_id, name, roles, regions in demo_officers():
            password = secrets.token_urlsafe(12)
            version = await ensure_officer(
                conn, officer_id=officer_id, roles=roles, regions=regions, name=name, password=password
            )
            made.append(DemoOfficer(officer_id, roles, regions, password, version))
    finally:
        await conn.close()
    log.info("demo_officers_loaded", officers=len(made))
    return made


async def _load_demo_allocations(dsn: str) -> None:
    """A demo budget for every province and programme, so a newcomer can walk a group to the end."""
    result = await load_demo_allocations(dsn)
    log.info("demo_budget_loaded", result=result)


def health(url: str) -> tuple[int, Any]:
    try:
        response = httpx.get(url, timeout=3)
    except httpx.HTTPError as err:
        return 0, str(err)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


def officer_token(settings: Settings, token_version: int = 1) -> str:
    """A token for `dev-officer` (every role, national scope), of its token version in the directory."""
    from jps.auth import mint_token

    return mint_token(
        settings.jwt_secret,
        officer_id=DEV_OFFICER_ID,
        roles=list(Role),
        regions=[NATIONAL],
        name=DEV_OFFICER_NAME,
        ttl=timedelta(hours=settings.jwt_ttl_hours),
        version=token_version,
    )


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
