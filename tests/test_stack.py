"""`jps dev`, the local stack behind `make run`, run for real as a user would: on free ports and a
temporary data dir, against the real worker, API and simulators of this repository.

It must answer GET /health with every part up, print an officer token, leave no process behind on
SIGINT, and find the first run's data on a second run.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import jwt
import psutil
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from jps.domain.roles import NATIONAL, Role
from jps.settings import PROJECT_ROOT, Settings

READY_TIMEOUT_S = 90
MARKER_ID = "stack-test-marker"
STOP_TIMEOUT_S = 60


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out as free now (all held at once, so they differ)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class StackRun:
    proc: subprocess.Popen[bytes]
    output: Path
    data_dir: Path
    ports: dict[str, int]

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"


@pytest.fixture(scope="module")
def stack_dir() -> Iterator[Path]:
    # Short path: PostgreSQL's Unix socket lives in the data dir and socket paths are limited to 107 bytes.
    path = Path(f"/tmp/jps-stack-{uuid.uuid4().hex[:8]}")
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    names = ["api", "bank", "notify", "temporal", "temporal_ui", "worker_metrics"]
    return dict(zip(names, free_ports(len(names)), strict=True))


def start_stack(data_dir: Path, ports: dict[str, int], output: Path, **extra_env: str) -> StackRun:
    """`jps dev` in the background; its console output goes to `output` (kept by pytest's tmp_path)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")}
    env.update(PYTHONUNBUFFERED="1", **extra_env)
    jps = Path(sys.executable).parent / "jps"
    argv = [str(jps)] if jps.exists() else [sys.executable, "-m", "tools.cli"]
    argv += ["dev", "--data-dir", str(data_dir), "--quiet", "--ready-timeout", str(READY_TIMEOUT_S)]
    for name, port in ports.items():
        argv += [f"--{name.replace('_', '-')}-port", str(port)]
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    return StackRun(proc, output, data_dir, ports)


def wait_healthy(run: StackRun) -> dict[str, str]:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if run.proc.poll() is not None:
            pytest.fail(f"jps dev exited with {run.proc.returncode}:\n{run.text()[-6000:]}")
        try:
            response = httpx.get(f"{run.api}/health", timeout=3)
            if response.status_code == 200:
                body: dict[str, str] = response.json()
                return body
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as err:
            last = repr(err)
        time.sleep(0.5)
    stop(run)
    pytest.fail(f"/health not 200 within {READY_TIMEOUT_S} s (last: {last}):\n{run.text()[-6000:]}")


def wait_for_token(run: StackRun) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in run.text().splitlines():
            if line.startswith("JPS_TOKEN="):
                return line.removeprefix("JPS_TOKEN=").strip()
        time.sleep(0.2)
    pytest.fail(f"no token printed:\n{run.text()[-4000:]}")


def stack_processes(run: StackRun) -> list[psutil.Process]:
    """Every live process belonging to this stack: named after its data dir on the command line or in
    its environment, or listening on one of its ports."""
    marker = str(run.data_dir)
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            if marker in cmdline or proc.environ().get("JPS_DATA_DIR") == marker:
                found[proc.pid] = proc
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    ports = set(run.ports.values())
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in ports and conn.pid:
            with_pid = psutil.Process(conn.pid)
            found[conn.pid] = with_pid
    return list(found.values())


def stop(run: StackRun, sig: signal.Signals = signal.SIGINT) -> int:
    if run.proc.poll() is None:
        run.proc.send_signal(sig)
    try:
        return run.proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(run.proc.pid, signal.SIGKILL)
        for leftover in stack_processes(run):
            leftover.kill()
        pytest.fail(f"jps dev did not stop within {STOP_TIMEOUT_S} s:\n{run.text()[-4000:]}")


def assert_nothing_left(run: StackRun, children: list[psutil.Process]) -> None:
    deadline = time.monotonic() + 10  # a process may take a moment to be reaped
    left: list[str] = []
    while time.monotonic() < deadline:
        alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        alive += [p for p in stack_processes(run) if p not in alive]
        left = [f"{p.pid} {' '.join(p.cmdline())[:160]}" for p in alive if p.is_running()]
        if not left:
            break
        time.sleep(0.3)
    assert not left, "processes left behind:\n" + "\n".join(left)
    assert not (run.data_dir / "pg" / "postmaster.pid").exists(), "PostgreSQL still running"
    assert not (run.data_dir / "stack.json").exists()


def state(run: StackRun) -> dict[str, str]:
    data: dict[str, str] = json.loads((run.data_dir / "stack.json").read_text())
    return data


def first_migration_applied_at(dsn: str) -> object:
    async def fetch() -> object:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval("SELECT applied_at FROM schema_migrations ORDER BY version LIMIT 1")
        finally:
            await conn.close()

    return asyncio.run(fetch())


def start_marker_workflow(temporal_port: int) -> None:
    """A workflow no worker polls for: it stays open, in Temporal's SQLite file."""

    async def start() -> None:
        client = await Client.connect(f"127.0.0.1:{temporal_port}")
        await client.start_workflow("StackMarker", id=MARKER_ID, task_queue="stack-test-nobody")

    asyncio.run(start())


def marker_status_then_terminate(temporal_port: int) -> WorkflowExecutionStatus | None:
    async def describe() -> WorkflowExecutionStatus | None:
        client = await Client.connect(f"127.0.0.1:{temporal_port}")
        handle = client.get_workflow_handle(MARKER_ID)
        status = (await handle.describe()).status
        await handle.terminate("stack test done")
        return status

    return asyncio.run(describe())


def test_stack_starts_stops_cleanly_and_keeps_its_data(
    stack_dir: Path, ports: dict[str, int], tmp_path: Path
) -> None:
    # --- first run: healthy, a token, then data for the second run to find
    run = start_stack(stack_dir, ports, tmp_path / "first.out")
    try:
        health = wait_healthy(run)
        assert (health["api"], health["postgres"], health["temporal"]) == ("up", "up", "up"), health

        token = wait_for_token(run)
        claims = jwt.decode(token, Settings().jwt_secret, algorithms=["HS256"])
        assert set(claims["roles"]) == {r.value for r in Role}
        assert claims["regions"] == [NATIONAL]
        assert claims["sub"] and claims["exp"] > time.time() and claims["iss"] == "jps-flow"
        # the token is the directory's dev-officer (admin too); each demo officer signs in
        officers = httpx.get(f"{run.api}/officers", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert officers.status_code == 200, officers.text
        ids = {o["id"] for o in officers.json()["items"]}
        assert {"dev-officer", "verifier-31", "verifier-pusat", "admin-31"} <= ids, ids
        printed = re.search(r"^\s+verifier-31\s+password=(\S+)", run.text(), re.MULTILINE)
        assert printed, run.text()[-4000:]
        signed = httpx.post(
            f"{run.api}/auth/token", data={"username": "verifier-31", "password": printed.group(1)}, timeout=5
        )
        assert signed.status_code == 200, signed.text

        out = run.text()
        for url in (run.api, f"{run.api}/docs", f"http://127.0.0.1:{ports['temporal_ui']}"):
            assert url in out
        assert httpx.get(f"http://127.0.0.1:{ports['temporal_ui']}/", timeout=5).status_code == 200
        assert httpx.get(f"{run.api}/docs", timeout=5).status_code == 200

        info = state(run)
        applied_at = first_migration_applied_at(info["database_url"])
        start_marker_workflow(ports["temporal"])
        children = psutil.Process(run.proc.pid).children(recursive=True)
        assert len(children) >= 5, children  # temporal, worker, bank, notify, api
    except BaseException:
        stop(run)
        raise

    assert stop(run, signal.SIGINT) == 0, run.text()[-4000:]
    assert_nothing_left(run, children)

    # --- second run on the same data dir: the first run's data is there
    run2 = start_stack(stack_dir, ports, tmp_path / "second.out")
    try:
        wait_healthy(run2)
        info = state(run2)
        assert first_migration_applied_at(info["database_url"]) == applied_at  # not re-created
        assert marker_status_then_terminate(ports["temporal"]) == WorkflowExecutionStatus.RUNNING
        children = psutil.Process(run2.proc.pid).children(recursive=True)
    except BaseException:
        stop(run2)
        raise

    # SIGTERM (what a service manager sends) stops it as cleanly as Ctrl-C.
    assert stop(run2, signal.SIGTERM) == 0, run2.text()[-4000:]
    assert_nothing_left(run2, children)


def test_a_port_in_use_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = dict(
            zip(["api", "bank", "notify", "temporal_ui", "worker_metrics"], free_ports(5), strict=True)
        )
        ports["temporal"] = taken
        data_dir = Path(f"/tmp/jps-stack-{uuid.uuid4().hex[:8]}")
        data_dir.mkdir()
        try:
            run = start_stack(data_dir, ports, tmp_path / "busy.out")
            assert run.proc.wait(30) == 1
            out = run.text()
            assert f"port {taken} (Temporal dev server) is already in use" in out
            assert "TEMPORAL_ADDRESS" in out
            assert not (data_dir / "pg").exists()  # refused before starting anything
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def test_existing_servers_are_used_instead_of_starting_ours(
    pg_dsn: str, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """TEMPORAL_ADDRESS and DATABASE_URL point the stack at servers it did not start (the session's)."""
    data_dir = Path(f"/tmp/jps-stack-{uuid.uuid4().hex[:8]}")
    data_dir.mkdir()
    address = dev_env.client.service_client.config.target_host
    ports = dict(zip(["api", "bank", "notify", "temporal_ui", "worker_metrics"], free_ports(5), strict=True))
    queue = f"stack-external-{uuid.uuid4().hex[:8]}"  # not the default queue of the shared dev server
    run = start_stack(
        data_dir,
        ports,
        tmp_path / "external.out",
        TEMPORAL_ADDRESS=address,
        DATABASE_URL=pg_dsn,
        TEMPORAL_TASK_QUEUE=queue,
    )
    try:
        health = wait_healthy(run)
        assert health["temporal"] == "up" and health["postgres"] == "up"
        info = state(run)
        assert info["temporal_address"] == address and info["database_url"] == pg_dsn
        assert not (data_dir / "temporal.db").exists() and not (data_dir / "pg").exists()
        assert "temporal" not in json.loads((data_dir / "stack.json").read_text())["children"]
    finally:
        assert stop(run) == 0, run.text()[-4000:]
    assert_nothing_left(run, [])
    shutil.rmtree(data_dir, ignore_errors=True)
