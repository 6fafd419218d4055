"""The API against the real stack: the app served by uvicorn on a free port (so the bank simulator's
signed callbacks reach it over HTTP), the Temporal dev server, the embedded PostgreSQL, a worker on
its own task queue, and the bank and notification simulators. Started once per session; each test
gets a clean database, a reset bank and funded budgets."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.bank_client import BankClient
from activities.notify_client import NotifyClient
from api.main import create_app
from infra.embedded import DEV_SERVER_ARGS, temporal_cli_path
from infra.ledger import set_allocation
from infra.workflow_runner import workflow_runner
from jps.contracts.workflow import GroupState
from jps.domain.calendar import local_date
from jps.domain.models import Proposal
from jps.domain.programs import Program
from jps.domain.roles import Role
from jps.search_attributes import SEARCH_ATTRIBUTES
from jps.settings import Settings, get_settings
from tests.conftest import SEALING_CONVERTER, directory_token
from tests.factories import EQUAL_SPLIT_OVERRIDE
from tests.sim_fixtures import BankAdmin, Simulators, ThreadedServer
from worker import WORKFLOWS, build_activities

JWT_SECRET = "api-test-secret-of-at-least-32-bytes"


@dataclass
class Stack:
    url: str
    settings: Settings
    client: Client
    pool: asyncpg.Pool

    def token(
        self,
        role: Role | list[Role],
        *,
        officer: str | None = None,
        regions: list[str] | None = None,
        ttl: timedelta = timedelta(hours=1),
    ) -> str:
        """A token for this officer, who is put in the directory with exactly these roles and
        regions first (`infra.officers.ensure_officer`)."""
        roles = role if isinstance(role, list) else [role]
        return directory_token(
            self.settings,
            officer_id=officer or f"{roles[0].value}-1",
            roles=roles,
            regions=regions if regions is not None else ["31"],
            name=f"Petugas {roles[0].value}",
            ttl=ttl,
        )

    def auth(self, role: Role | list[Role], **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kw)}"}


@pytest.fixture(scope="session")
async def api_temporal() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of the API tests' own: thousands of their workflows stay off the shared `dev_env`,
    whose tests may count what runs there."""
    env = await WorkflowEnvironment.start_local(
        data_converter=SEALING_CONVERTER,
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=list(DEV_SERVER_ARGS),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def api_stack(
    api_temporal: WorkflowEnvironment, pool: asyncpg.Pool, migrated_dsn: str, simulators: Simulators
) -> AsyncIterator[Stack]:
    client = api_temporal.client
    settings = get_settings().model_copy(
        update={
            "temporal_address": client.service_client.config.target_host,
            "temporal_namespace": client.namespace,
            "temporal_task_queue": f"api-test-{uuid.uuid4().hex[:8]}",
            "database_url": migrated_dsn,
            "jwt_secret": JWT_SECRET,
            "db_pool_max": 20,
            "officer_cache_s": 0,  # tokens are minted and roles changed between requests
            "signin_per_minute": 10_000,  # every test signs in from 127.0.0.1 (the limiter's own test: 3)
            "public_status_per_minute": 10_000,  # likewise the public status lookup (its flood test: 3)
            "public_per_minute": 10_000,  # the public forms, likewise (their limiter's own test: 3)
            "public_per_phone_per_hour": 10_000,  # and per phone number (its own test: 3)
            "files_dir": Path(tempfile.mkdtemp(prefix="jps-test-files-")),  # never .data's evidence
        }
    )
    server = ThreadedServer(create_app(settings), "api").start()
    bank = BankClient(simulators.bank_url, callback_url=f"{server.url}/payments/callback")
    notify = NotifyClient(simulators.notify_url)
    worker = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(pool, bank, notify),
        workflow_runner=workflow_runner(client.data_converter),
    )
    try:
        async with worker:
            yield Stack(server.url, settings, client, pool)
    finally:
        server.stop()
        await bank.aclose()
        await notify.aclose()


@pytest.fixture
async def stack(api_stack: Stack, db: asyncpg.Pool, bank_sim: BankAdmin) -> Stack:
    """A clean database with budget for Jakarta (31) and West Java (32) in both programmes."""
    for program in Program:
        for region in ("31", "32"):
            await set_allocation(db, program.value, region, 10_000_000_000)
    return api_stack


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def equal_split_api(api_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same stack's API under a policy file that switches Padat Karya's weekly wage rule off
    (`EQUAL_SPLIT_OVERRIDE`): Padat Karya groups submitted through it are paid one wage bill in equal
    shares, as groups submitted before the rule are. Reads answer the same through either API."""
    with policy_api(api_stack, tmp_path_factory, EQUAL_SPLIT_OVERRIDE, "equal-split") as url:
        yield url


@contextmanager
def policy_api(
    api_stack: Stack, tmp_path_factory: pytest.TempPathFactory, policy: dict[str, Any], name: str
) -> Iterator[str]:
    """The same stack's API under a policy file of its own (`policy`, as `JPS_POLICY_FILE` holds
    it); its base URL. A group keeps the policy it was submitted with, so groups submitted through
    it keep its rules whichever API serves their later steps."""
    path = tmp_path_factory.mktemp(name) / "policy.json"
    path.write_text(json.dumps(policy))
    server = ThreadedServer(
        create_app(api_stack.settings.model_copy(update={"policy_file": path})), f"api-{name}"
    ).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def equal_split_http(stack: Stack, equal_split_api: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=equal_split_api, timeout=60) as client:
        yield client


def today() -> str:
    from datetime import UTC, datetime

    return local_date(datetime.now(UTC)).isoformat()


async def submit(
    http: httpx.AsyncClient,
    stack: Stack,
    proposal: Proposal,
    *,
    regions: list[str] | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    headers = stack.auth(Role.REGISTRAR, regions=regions or [proposal.region_code[:2]])
    if key is not None:
        headers["Idempotency-Key"] = key
    resp = await http.post("/groups", json=proposal.model_dump(mode="json"), headers=headers)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def act(
    http: httpx.AsyncClient,
    stack: Stack,
    group_id: str,
    action: str,
    role: Role,
    body: dict[str, Any],
    *,
    expect: int = 200,
    officer: str | None = None,
    regions: list[str] | None = None,
) -> dict[str, Any]:
    resp = await http.post(
        f"/groups/{group_id}/actions/{action}",
        json=body,
        headers=stack.auth(role, officer=officer, regions=regions),
    )
    assert resp.status_code == expect, f"{action} by {role}: {resp.status_code} {resp.text}"
    out: dict[str, Any] = resp.json()
    return out


async def wait_for(
    http: httpx.AsyncClient, stack: Stack, group_id: str, what: str, done: Any
) -> dict[str, Any]:
    """Poll the group (read model) until `done(group)` (payments settle asynchronously)."""
    body: dict[str, Any] = {}
    try:
        async with asyncio.timeout(30):
            while not body or not done(body):
                await asyncio.sleep(0.1)
                resp = await http.get(f"/groups/{group_id}", headers=stack.auth(Role.AUDITOR, regions=["*"]))
                body = resp.json()
    except TimeoutError:
        raise AssertionError(
            f"{group_id} never {what}: {body.get('stage')}, task {body.get('open_task')}"
        ) from None
    return body


async def wait_for_stage(http: httpx.AsyncClient, stack: Stack, group_id: str, stage: str) -> dict[str, Any]:
    return await wait_for(http, stack, group_id, f"reached {stage}", lambda g: g.get("stage") == stage)


async def wait_for_task(http: httpx.AsyncClient, stack: Stack, group_id: str, kind: str) -> dict[str, Any]:
    return await wait_for(
        http, stack, group_id, f"opened {kind}", lambda g: (g.get("open_task") or {}).get("kind") == kind
    )


async def state_of(stack: Stack, group_id: str) -> GroupState:
    state: GroupState = await stack.client.get_workflow_handle(group_id).query(
        "state", result_type=GroupState
    )
    return state
