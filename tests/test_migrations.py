"""The migration runner (`infra.db.migrate`) against the real embedded PostgreSQL.

Each test gets its own empty database on the session's server and its own migrations directory, so
nothing here touches the schema the other tests use."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from infra.db import MIGRATIONS_DIR, MigrationChecksumError, discover_migrations, migrate


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
async def scratch_dsn(pg_dsn: str) -> AsyncIterator[str]:
    """A new, empty database on the session's PostgreSQL; dropped afterwards."""
    name = f"mig_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _with_database(pg_dsn, name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def write(directory: Path, name: str, sql: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(sql)
    return path


async def fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def table_exists(dsn: str, table: str) -> bool:
    rows = await fetch(dsn, f"SELECT to_regclass('public.{table}') IS NOT NULL AS present")
    return bool(rows[0]["present"])


async def test_applies_in_order_and_rerun_is_idempotent(scratch_dsn: str, tmp_path: Path) -> None:
    write(tmp_path, "001_first.sql", "CREATE TABLE first (id int PRIMARY KEY);")
    write(tmp_path, "002_second.sql", "CREATE TABLE second (id int REFERENCES first (id));")

    assert await migrate(scratch_dsn, tmp_path) == ["001_first.sql", "002_second.sql"]
    assert await migrate(scratch_dsn, tmp_path) == []
    assert await migrate(scratch_dsn, tmp_path) == []
    assert await table_exists(scratch_dsn, "first") and await table_exists(scratch_dsn, "second")

    write(tmp_path, "003_third.sql", "ALTER TABLE first ADD COLUMN note text;")
    assert await migrate(scratch_dsn, tmp_path) == ["003_third.sql"]


async def test_every_file_is_recorded_with_its_checksum(scratch_dsn: str, tmp_path: Path) -> None:
    files = {
        "001_a.sql": "CREATE TABLE a (id int);",
        "002_b.sql": "CREATE TABLE b (id int);\nCREATE INDEX b_id ON b (id);",
        "010_c.sql": "INSERT INTO a VALUES (1);",
    }
    for name, sql in files.items():
        write(tmp_path, name, sql)
    await migrate(scratch_dsn, tmp_path)

    rows = await fetch(scratch_dsn, "SELECT version, name, checksum, applied_at FROM schema_migrations")
    recorded = {r["name"]: r for r in rows}
    assert set(recorded) == set(files)
    for name, sql in files.items():
        assert recorded[name]["version"] == int(name.split("_")[0])
        assert recorded[name]["checksum"] == hashlib.sha256(sql.encode()).hexdigest()
        assert recorded[name]["applied_at"] is not None


async def test_an_edited_applied_migration_is_refused(scratch_dsn: str, tmp_path: Path) -> None:
    first = write(tmp_path, "001_first.sql", "CREATE TABLE first (id int);")
    await migrate(scratch_dsn, tmp_path)

    first.write_text("CREATE TABLE first (id bigint);")
    write(tmp_path, "002_second.sql", "CREATE TABLE second (id int);")
    with pytest.raises(MigrationChecksumError, match=r"001_first\.sql"):
        await migrate(scratch_dsn, tmp_path)

    # Nothing after the refused file ran.
    assert not await table_exists(scratch_dsn, "second")
    rows = await fetch(scratch_dsn, "SELECT name FROM schema_migrations")
    assert [r["name"] for r in rows] == ["001_first.sql"]


async def test_a_failing_migration_is_rolled_back_and_not_recorded(scratch_dsn: str, tmp_path: Path) -> None:
    write(tmp_path, "001_ok.sql", "CREATE TABLE ok (id int);")
    broken = write(
        tmp_path,
        "002_broken.sql",
        "CREATE TABLE half (id int);\nINSERT INTO ok VALUES (1);\nSELECT 1 / 0;",
    )
    with pytest.raises(asyncpg.DivisionByZeroError):
        await migrate(scratch_dsn, tmp_path)

    assert await table_exists(scratch_dsn, "ok")  # the first file stays applied
    assert not await table_exists(scratch_dsn, "half")  # the whole failing file was rolled back
    assert await fetch(scratch_dsn, "SELECT * FROM ok") == []
    rows = await fetch(scratch_dsn, "SELECT name FROM schema_migrations ORDER BY version")
    assert [r["name"] for r in rows] == ["001_ok.sql"]

    # Fixed, it applies on the next run; the advisory lock was released by the failed run.
    broken.write_text("CREATE TABLE half (id int);\nINSERT INTO ok VALUES (1);")
    assert await migrate(scratch_dsn, tmp_path) == ["002_broken.sql"]


async def test_concurrent_runs_apply_each_file_once(scratch_dsn: str, tmp_path: Path) -> None:
    # A non-idempotent statement: a second application would fail on the duplicate table.
    write(tmp_path, "001_t.sql", "CREATE TABLE t (id int); SELECT pg_sleep(0.2);")
    write(tmp_path, "002_u.sql", "CREATE TABLE u (id int);")

    results = await asyncio.gather(*(migrate(scratch_dsn, tmp_path) for _ in range(3)))

    applied = sorted(name for result in results for name in result)
    assert applied == ["001_t.sql", "002_u.sql"]


async def test_badly_named_or_duplicate_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "unnumbered", "core.sql", "SELECT 1;")
    with pytest.raises(ValueError, match="must start with a number"):
        discover_migrations(tmp_path / "unnumbered")

    write(tmp_path / "dup", "001_a.sql", "SELECT 1;")
    write(tmp_path / "dup", "1_b.sql", "SELECT 1;")
    with pytest.raises(ValueError, match="share a number"):
        discover_migrations(tmp_path / "dup")


async def test_the_project_migrations_apply_to_an_empty_database_twice(scratch_dsn: str) -> None:
    expected = [m.name for m in discover_migrations(MIGRATIONS_DIR)]
    assert expected, "the repository has migrations"
    assert await migrate(scratch_dsn) == expected
    assert await migrate(scratch_dsn) == []
    assert await table_exists(scratch_dsn, "groups")


async def test_a_connection_lost_mid_migration_reports_the_real_error(
    scratch_dsn: str, tmp_path: Path
) -> None:
    write(tmp_path, "001_ok.sql", "CREATE TABLE ok (id int);")
    write(
        tmp_path, "002_dies.sql", "CREATE TABLE dies (id int); SELECT pg_terminate_backend(pg_backend_pid());"
    )
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)) as caught:
        await migrate(scratch_dsn, tmp_path)
    # The error that matters, not a follow-up about a closed connection, naming the file.
    assert "terminating connection" in str(caught.value)
    assert any("002_dies.sql" in note for note in getattr(caught.value, "__notes__", []))
    assert not await table_exists(scratch_dsn, "dies")

    # The lock died with the session: the next run is not blocked and applies the fixed file.
    write(tmp_path, "002_dies.sql", "CREATE TABLE dies (id int);")
    assert await asyncio.wait_for(migrate(scratch_dsn, tmp_path), 10) == ["002_dies.sql"]
