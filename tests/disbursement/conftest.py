"""The disbursement rig: a Temporal dev server of its own (these tests start hundreds of workflows and
kill workers; the shared `dev_env` is counted by other tests), the real API served by uvicorn on a
free port so that the bank simulator's signed callbacks reach it over HTTP and become signals, the
embedded PostgreSQL and the simulators. Workers run in-process (`worker_on`) or as a real
`python worker.py` process (tests/disbursement/test_worker_crash.py).

The API submits groups under policies whose budget re-check and bank poll are compressed to
seconds (`API_POLICY_OVERRIDES`); tests that start workflows themselves pass their own policies.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.bank_client import BankClient
from activities.notify_client import NotifyClient
from api.main import create_app
from infra.embedded import DEV_SERVER_ARGS, temporal_cli_path
from infra.workflow_runner import workflow_runner
from jps.domain.roles import Role
from jps.search_attributes import SEARCH_ATTRIBUTES
from jps.settings import Settings, get_settings
from tests.conftest import SEALING_CONVERTER, directory_token
from tests.sim_fixtures import BankAdmin, Simulators, ThreadedServer
from tests.workflows.harness import Harness
from worker import WORKFLOWS, build_activities

JWT_SECRET = "disbursement-test-secret-of-32-bytes+"
# Seconds: a group waiting on a budget or a freeze looks again every second; the bank is polled 2 s
# after an instruction whose callback has not come.
API_POLICY_OVERRIDES = {
    p: {"budget_retry_every": 1.0, "bank_poll_after": 2.0} for p in ("tkm", "padat_karya")
}


@pytest.fixture(scope="session")
async def disb_temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=SEALING_CONVERTER,
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=list(DEV_SERVER_ARGS),
    )
    yield env
    await env.shutdown()


@dataclass
class Rig:
    client: Client
    pool: asyncpg.Pool
    dsn: str
    api_url: str
    settings: Settings  # the API's: its task queue is where API-submitted groups run
    bank: BankAdmin
    sims: Simulators
    http: httpx.AsyncClient
    workflow_ids: list[str] = field(default_factory=list)

    @property
    def task_queue(self) -> str:
        return self.settings.temporal_task_queue

    @property
    def callback_url(self) -> str:
        return f"{self.api_url}/payments/callback"

    @property
    def temporal_address(self) -> str:
        return self.client.service_client.config.target_host

    def auth(
        self, role: Role | list[Role], officer: str | None = None, regions: list[str] | None = None
    ) -> dict[str, str]:
        roles = role if isinstance(role, list) else [role]
        token = directory_token(
            self.settings,
            officer_id=officer or f"{roles[0].value}-1",
            roles=roles,
            regions=regions if regions is not None else ["31"],
            name="Petugas",
        )
        return {"Authorization": f"Bearer {token}"}

    def harness(self, task_queue: str | None = None) -> Harness:
        return Harness(self.client, task_queue or self.task_queue, self.pool)


@pytest.fixture(scope="session")
async def disb_api(
    disb_temporal: WorkflowEnvironment, migrated_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Settings]]:
    policy_file = tmp_path_factory.mktemp("disb") / "policies.json"
    policy_file.write_text(json.dumps(API_POLICY_OVERRIDES))
    client = disb_temporal.client
    settings = get_settings().model_copy(
        update={
            "temporal_address": client.service_client.config.target_host,
            "temporal_namespace": client.namespace,
            "temporal_task_queue": f"disb-{uuid.uuid4().hex[:8]}",
            "database_url": migrated_dsn,
            "jwt_secret": JWT_SECRET,
            "officer_cache_s": 0,  # tokens are minted and roles changed between requests
            "policy_file": policy_file,
            "log_level": "WARNING",
        }
    )
    server = ThreadedServer(create_app(settings), "disb-api").start()
    try:
        yield server.url, settings
    finally:
        server.stop()


@pytest.fixture
async def rig(
    disb_temporal: WorkflowEnvironment,
    disb_api: tuple[str, Settings],
    db: asyncpg.Pool,
    migrated_dsn: str,
    simulators: Simulators,
    bank_sim: BankAdmin,
    notify_sim: Any,
) -> AsyncIterator[Rig]:
    api_url, settings = disb_api
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        r = Rig(disb_temporal.client, db, migrated_dsn, api_url, settings, bank_sim, simulators, http)
        try:
            yield r
        finally:
            for schedule in [s async for s in await r.client.list_schedules()]:
                await r.client.get_schedule_handle(schedule.id).delete()  # a worker.py process creates them
            await terminate_running(r.client)
            bank_sim.faults()  # no fault outlives its test


async def terminate_running(client: Client) -> None:
    """Workflows a test left running must not keep timers firing on the shared server."""
    async for wf in client.list_workflows("ExecutionStatus = 'Running'"):
        if wf.status == WorkflowExecutionStatus.RUNNING:
            try:
                await client.get_workflow_handle(wf.id, run_id=wf.run_id).terminate("test finished")
            except RPCError:
                pass  # closed meanwhile


@asynccontextmanager
async def worker_on(
    rig: Rig, task_queue: str | None = None, *, bank_timeout_s: float = 10.0, callbacks: bool = True
) -> AsyncIterator[Harness]:
    """An in-process worker with the real workflows and activities; the bank's callbacks go to the API."""
    queue = task_queue or rig.task_queue
    bank = BankClient(
        rig.sims.bank_url, timeout=bank_timeout_s, callback_url=rig.callback_url if callbacks else None
    )
    notify = NotifyClient(rig.sims.notify_url)
    try:
        async with Worker(
            rig.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=build_activities(rig.pool, bank, notify),
            workflow_runner=workflow_runner(rig.client.data_converter),
        ):
            yield rig.harness(queue)
    finally:
        await bank.aclose()
        await notify.aclose()


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 30.0, every: float = 0.1) -> Any:
    """The first truthy value of `check()`, or AssertionError with the last value after `within` s."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within}s: {value!r}")
        await asyncio.sleep(every)


async def paid_transfers(rig: Rig) -> dict[str, int]:
    """Our ledger's paid transfers: transfer id -> amount."""
    return {
        r["transfer_id"]: r["amount"]
        for r in await rig.pool.fetch("SELECT * FROM payments WHERE status='paid'")
    }


def bank_paid(rig: Rig) -> dict[str, int]:
    """The bank's statement (its own ledger of money moved): transfer id -> amount."""
    return {line["transfer_id"]: line["amount"] for line in rig.bank.statement()}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
