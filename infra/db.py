"""PostgreSQL access shared by the worker's activities and the API: pool, JSON codecs, migrations.

Migrations are numbered SQL files in `migrations/`; each is applied in its own transaction and
recorded in `schema_migrations` with its checksum, under an advisory lock so that two processes
starting together apply each file once. Re-running applies nothing new.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from jps.settings import PROJECT_ROOT

log = structlog.get_logger()

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
_MIGRATION_LOCK = 7_201_020  # advisory lock key: "JPS Oct 2020"


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _release(conn: asyncpg.Connection) -> None:
    """A connection handed back to the pool: rolled back only if a transaction was left open.

    asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on
    every release: a round trip and a statement for state this code base never leaves on a session
    (its advisory locks are `pg_advisory_xact_lock`, released with their transaction; no listener, no
    SET, no cursor outside a transaction; `tests/test_db_pool.py` checks the first two). Profiled
    under the benchmark it was about 5 % of the API's CPU and 2 % of the worker's."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(dsn: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_release
    )
    assert pool is not None
    return pool


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        prefix = path.name.split("_", 1)[0]
        if not prefix.isdigit():
            raise ValueError(f"migration {path.name} must start with a number, e.g. 001_core.sql")
        found.append(Migration(int(prefix), path.name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise ValueError(f"two migrations share a number in {directory}")
    return found


class MigrationChecksumError(RuntimeError):
    """An applied migration's file was edited afterwards; add a new migration instead."""


async def _apply(conn: asyncpg.Connection, mig: Migration) -> None:
    """One file and its record in one transaction: both or neither."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(mig.sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            mig.version,
            mig.name,
            mig.checksum,
        )
    except BaseException as err:
        # Not `async with`: on a lost connection its rollback would raise and hide the real error.
        if not conn.is_closed():
            await tx.rollback()
        err.add_note(f"while applying migration {mig.name}; it was rolled back and not recorded")
        raise
    await tx.commit()


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; returns the names applied now."""
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["version"]: r for r in await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
        }
        migrations = discover_migrations(directory)
        for version in sorted(set(done) - {m.version for m in migrations}):
            log.warning("migration_file_missing", migration=done[version]["name"], directory=str(directory))
        for mig in migrations:
            if mig.version in done:
                if done[mig.version]["checksum"] != mig.checksum:
                    raise MigrationChecksumError(f"{mig.name} changed after it was applied")
                continue
            await _apply(conn, mig)
            applied_now.append(mig.name)
            log.info("migration_applied", migration=mig.name)
    finally:
        # Ending the session releases its advisory lock. No explicit unlock: on a connection lost
        # mid-way it would fail and hide the error that matters.
        try:
            await conn.close(timeout=10)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn.terminate()
    return applied_now
