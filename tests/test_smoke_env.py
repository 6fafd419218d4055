"""The real servers start and answer: PostgreSQL with our schema, both Temporal servers."""

import uuid

import asyncpg
from temporalio.testing import WorkflowEnvironment


async def test_postgres_schema_applied(db: asyncpg.Pool) -> None:
    names = {
        r["tablename"] for r in await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
    }
    assert {"groups", "members", "audit_log", "payments", "budget_allocations"} <= names


async def test_time_skipping_server_answers(time_env: WorkflowEnvironment) -> None:
    assert time_env.supports_time_skipping
    before = await time_env.get_current_time()
    await time_env.sleep(3600)
    assert (await time_env.get_current_time() - before).total_seconds() >= 3600


async def test_dev_server_answers(dev_env: WorkflowEnvironment) -> None:
    assert not dev_env.supports_time_skipping
    # Visibility queries work here (not on the time-skipping server). The session's server is shared,
    # so ask about an id no test uses rather than assuming it is empty.
    unused = f"smoke-{uuid.uuid4()}"
    assert (await dev_env.client.count_workflows(f"WorkflowId = '{unused}'")).count == 0
