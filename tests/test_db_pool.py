"""The pool hands a connection back without asyncpg's full reset (infra/db.py `_release`): what that
saves is only safe while no code leaves session state behind, and an open transaction is still
rolled back."""

from __future__ import annotations

import re
from pathlib import Path

from infra.db import create_pool
from jps.settings import PROJECT_ROOT

PRODUCT = ("activities", "api", "infra", "jps", "tools", "workflows", "simulators", "worker.py")
# Session state a released connection would carry to its next user.
SESSION_STATE = re.compile(  # SQL as this code base writes it: keywords in capitals, in a string
    r"pg_advisory_lock\(|pg_try_advisory_lock\(|pg_advisory_lock_shared\(|add_listener\(|"
    r"(^|[\"';]\s*)(LISTEN\s|SET\s+(SESSION\s+)?[a-z_.]+\s*(=|TO\b))|set_config\([^)]*false|"
    r"DECLARE\s+\w+\s+CURSOR\s+WITH\s+HOLD"
)


def _sources() -> list[Path]:
    out: list[Path] = []
    for name in PRODUCT:
        path = PROJECT_ROOT / name
        out.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return out + sorted((PROJECT_ROOT / "migrations").glob("*.sql"))


def test_no_product_code_leaves_session_state_on_a_pooled_connection() -> None:
    found = [
        f"{p.relative_to(PROJECT_ROOT)}: {line.strip()}"
        for p in _sources()
        for line in p.read_text(encoding="utf-8").splitlines()
        if SESSION_STATE.search(line)
    ]
    # The one session lock: the migrations', on a connection of their own that closes after them.
    assert found == ['infra/db.py: await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)'], found


def test_the_pattern_sees_session_state() -> None:
    for line in (
        "SELECT pg_advisory_lock(1)",
        "await conn.add_listener('x', f)",
        'await conn.execute("LISTEN payments")',
        "SET search_path = x",
        "SET SESSION statement_timeout TO 5",
    ):
        assert SESSION_STATE.search(line), line
    for line in ("SELECT pg_advisory_xact_lock(1)", "UPDATE t SET x = 1", "SET LOCAL lock_timeout = 1"):
        assert not SESSION_STATE.search(line), line


async def test_a_transaction_left_open_is_rolled_back_on_release(migrated_dsn: str) -> None:
    pool = await create_pool(migrated_dsn, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        pid = conn.get_server_pid()
        await conn.execute("BEGIN")
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS left_behind (x int) ON COMMIT DROP")
        assert conn.is_in_transaction()
        await pool.release(conn)
        async with pool.acquire() as again:
            assert again.get_server_pid() == pid  # the same session, handed on
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT to_regclass('pg_temp.left_behind')") is None
    finally:
        await pool.close()


async def test_a_clean_connection_is_handed_on_without_a_statement(migrated_dsn: str) -> None:
    pool = await create_pool(migrated_dsn, min_size=1, max_size=1)
    sent: list[str] = []
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: sent.append(record.query))
            await conn.fetchval("SELECT 1")
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 2")
        # asyncpg's own reset would have sent `SELECT pg_advisory_unlock_all(); ... RESET ALL;`
        # between the two.
        assert sent == ["SELECT 1", "SELECT 2"]
    finally:
        await pool.close()
