"""The migration runner (`infra.db.migrate`) against the real embedded PostgreSQL.

Each test gets its own empty database on the session's server and its own migrations directory, so
nothing here touches the schema the other tests use."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
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


async def test_group_tasks_are_backfilled_from_the_groups_rows(scratch_dsn: str, tmp_path: Path) -> None:
    """002 gives every group its open tasks as rows: from the stored state's `open_tasks`, from the one
    `open_task` of a state written before tasks became a list, else from the single-task columns."""
    shutil.copy(MIGRATIONS_DIR / "001_core.sql", tmp_path / "001_core.sql")
    assert await migrate(scratch_dsn, tmp_path) == ["001_core.sql"]
    at = datetime(2020, 10, 1, 2, 0, tzinfo=UTC)

    def task(kind: str, roles: list[str], due_days: int, **extra: object) -> dict[str, object]:
        opened, due = at.isoformat(), (at + timedelta(days=due_days)).isoformat()
        return {"kind": kind, "roles": roles, "opened_at": opened, "due_at": due, **extra}

    visit = task("report_visit", ["mentor"], 30)
    account = task("update_bank_account", ["registrar", "finance"], 3, escalation_level=2, claimed_by="fin-1")
    verify = task("verify", ["verifier"], 7, note="KTP kurang jelas")
    groups: dict[str, tuple[dict[str, Any], str | None]] = {
        "TKM-3171-TWOTASKS01": ({"open_tasks": [visit, account]}, "update_bank_account"),
        "TKM-3171-ONETASK001": ({"open_task": verify}, "verify"),  # a state from before the list
        "TKM-3171-COLUMNS001": ({}, "schedule_training"),  # no task in the state: the columns
        "TKM-3171-FINISHED01": ({"open_tasks": [], "open_task": None}, None),
    }
    conn = await asyncpg.connect(scratch_dsn)
    try:
        for group_id, (state, kind) in groups.items():
            await conn.execute(
                """INSERT INTO groups (group_id, program, name, region_code, stage, member_count,
                       requested_amount, task_kind, task_roles, task_due_at, escalation_level, claimed_by,
                       submitted_by, submitted_at, updated_at, state)
                   VALUES ($1, 'tkm', 'Kelompok', '3171', 'mentoring', 20, 10000000, $2, $3, $4, 1, 'tr-1',
                       'registrar-1', $5, $5, $6::jsonb)""",
                group_id,
                kind,
                ["trainer"] if kind else None,
                at + timedelta(days=14) if kind else None,
                at,
                json.dumps({"group_id": group_id, **state}),
            )
    finally:
        await conn.close()

    # 002 alone, whatever later migrations exist.
    shutil.copy(MIGRATIONS_DIR / "002_group_tasks.sql", tmp_path / "002_group_tasks.sql")
    assert await migrate(scratch_dsn, tmp_path) == ["002_group_tasks.sql"]

    rows = await fetch(scratch_dsn, "SELECT * FROM group_tasks ORDER BY group_id, due_at")
    found = [
        (
            r["group_id"],
            r["kind"],
            r["roles"],
            r["due_at"] - at,
            r["escalation_level"],
            r["claimed_by"],
            r["note"],
        )
        for r in rows
    ]
    assert found == [
        ("TKM-3171-COLUMNS001", "schedule_training", ["trainer"], timedelta(days=14), 1, "tr-1", ""),
        ("TKM-3171-ONETASK001", "verify", ["verifier"], timedelta(days=7), 0, None, "KTP kurang jelas"),
        (
            "TKM-3171-TWOTASKS01",
            "update_bank_account",
            ["registrar", "finance"],
            timedelta(days=3),
            2,
            "fin-1",
            "",
        ),
        ("TKM-3171-TWOTASKS01", "report_visit", ["mentor"], timedelta(days=30), 0, None, ""),
    ]
    assert all(r["opened_at"] == at for r in rows)


async def test_reconciliation_keeps_one_open_mismatch_per_transfer_and_kind(
    scratch_dsn: str, tmp_path: Path
) -> None:
    """004: before it every run recorded every mismatch again. The copies of an open mismatch become one
    row (the first found, with the latest run's figures), each row learns its transfer's group, and a
    second open row for the same transfer and kind is refused from then on."""
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "004":
            shutil.copy(path, tmp_path / path.name)
    await migrate(scratch_dsn, tmp_path)
    at = datetime(2020, 10, 2, 20, 0, tzinfo=UTC)
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute(
            """INSERT INTO payments (transfer_id, idempotency_key, group_id, batch_id, attempt, beneficiary,
                   bank_code, account_no, amount, status)
               VALUES ('T-1', 'T-1', 'TKM-3171-AAAA', 'B', 1, 'Siti', '002', '1234567', 1000, 'paid')"""
        )
        rows = [
            ("run-1", "T-1", "amount_differs", 1, 0, False),
            ("run-2", "T-1", "amount_differs", 2, 1, False),
            ("run-3", "T-1", "amount_differs", 3, 2, False),
            ("run-1", "T-2", "paid_not_recorded", 7, 0, False),  # no row of ours: no group
            ("run-1", "T-3", "recorded_not_paid", 5, 0, True),  # resolved (by hand) before
            ("run-2", "T-3", "recorded_not_paid", 5, 1, False),
        ]
        for run, transfer, kind, amount, day, resolved in rows:
            await conn.execute(
                """INSERT INTO reconciliation_mismatches
                       (run_id, transfer_id, kind, bank, found_at, resolved_at)
                   VALUES ($1, $2, $3, $4::jsonb, $5, $6)""",
                run,
                transfer,
                kind,
                json.dumps({"status": "paid", "amount": amount}),
                at + timedelta(days=day),
                at if resolved else None,
            )
    finally:
        await conn.close()

    assert "004_reconciliation_resolution.sql" in await migrate(scratch_dsn)

    found = await fetch(
        scratch_dsn,
        """SELECT transfer_id, kind, group_id, run_id, found_at, last_run_id, last_seen_at,
                  bank->>'amount' AS amount, resolved_at IS NOT NULL AS resolved
             FROM reconciliation_mismatches ORDER BY transfer_id, resolved_at NULLS LAST""",
    )
    assert [tuple(r.values()) for r in found] == [
        ("T-1", "amount_differs", "TKM-3171-AAAA", "run-1", at, "run-3", at + timedelta(days=2), "3", False),
        ("T-2", "paid_not_recorded", None, "run-1", at, "run-1", at, "7", False),
        ("T-3", "recorded_not_paid", None, "run-1", at, "run-1", at, "5", True),
        (
            "T-3",
            "recorded_not_paid",
            None,
            "run-2",
            at + timedelta(days=1),
            "run-2",
            at + timedelta(days=1),
            "5",
            False,
        ),
    ]
    conn = await asyncpg.connect(scratch_dsn)
    try:
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                """INSERT INTO reconciliation_mismatches (run_id, transfer_id, kind, last_run_id)
                   VALUES ('run-4', 'T-1', 'amount_differs', 'run-4')"""
            )
    finally:
        await conn.close()
    assert await table_exists(scratch_dsn, "reconciliation_runs")
