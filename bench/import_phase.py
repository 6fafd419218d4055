"""Import on a quiet stack: the cohort's XLSX as a registrar uploads it, first as a dry run, then for
real with nothing else running until every group is registered and in verification; beside it the
limit, bare Temporal starting and registering as many workflows (the skeleton's registration, an
update-with-start) against the same dev server in the same run.

Figures: `import_dry_run_s`, `import_quiet_s`, `import_limit_s`, each as a registrar (or the
driver) waits for it: from the first byte sent to the last group in verification.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench.skeleton import SKELETON_QUEUE, SkeletonPlan, SkeletonWorkflow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILENAME = "kohort-oktober-2020.xlsx"
# Registration only: the workflow's first activity, then it ends (no officer steps follow).
REGISTER_ONLY = SkeletonPlan(activities=1, updates=1, timers=0, signals=0)
POLL_S = 0.25


def to_xlsx(csv_bytes: bytes) -> bytes:
    """The import file's rows (`bench.cohort.to_csv`) as the first sheet of a workbook, every cell
    text: a NIK or an account number stays the digits it is."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("kelompok")
    for row in csv.reader(io.StringIO(csv_bytes.decode())):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class ImportFigures:
    groups: int
    rows: int
    xlsx_bytes: int
    dry_run_s: float
    quiet_s: float
    limit_s: float
    limit_failed: int
    limit_concurrency: int
    job: dict[str, Any]

    def figures(self) -> dict[str, Any]:
        return {
            "import_dry_run_s": round(self.dry_run_s, 2),
            "import_quiet_s": round(self.quiet_s, 2),
            "import_limit_s": round(self.limit_s, 2),
            "import_vs_limit": round(self.limit_s / self.quiet_s, 3) if self.quiet_s else None,
            "import_quiet": {
                "groups": self.groups,
                "rows": self.rows,
                "xlsx_kb": round(self.xlsx_bytes / 1024, 1),
                "groups_per_s": round(self.groups / self.quiet_s, 2) if self.quiet_s else None,
                "limit_groups_per_s": round(self.groups / self.limit_s, 2) if self.limit_s else None,
                "limit_failed": self.limit_failed,
                "limit_concurrency": self.limit_concurrency,
            },
        }


async def upload(
    http: httpx.AsyncClient, headers: dict[str, str], data: bytes, *, dry_run: bool
) -> dict[str, Any]:
    """POST the file in the background and follow the job until it is done; the job's answer."""
    resp = await http.post(
        "/groups/import",
        params={"background": "true", "dry_run": str(dry_run).lower()},
        files={"file": (FILENAME, data, XLSX)},
        headers=headers,
    )
    if resp.status_code not in (200, 202):
        raise RuntimeError(f"import refused: {resp.status_code} {resp.text[:500]}")
    job: dict[str, Any] = resp.json()
    while job["status"] == "running":
        await asyncio.sleep(POLL_S if dry_run else 2.0)  # the answer carries every result so far
        job = (await http.get(f"/groups/import/{job['job_id']}", headers=headers)).json()
    expected = ("valid", "created", "existing") if dry_run else ("created", "existing")
    bad = [r for r in job["results"] if r["status"] not in expected][:5]
    if job["status"] != "done" or bad:
        raise RuntimeError(f"import {job['status']} (dry run {dry_run}): {job.get('error')} {bad}")
    return job


async def in_verification(pool: asyncpg.Pool, group_ids: list[str]) -> int:
    n: int = await pool.fetchval(
        "SELECT count(*) FROM groups WHERE group_id = ANY($1::text[]) AND stage = 'verification'", group_ids
    )
    return n


async def quiet_import(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    pool: asyncpg.Pool,
    xlsx: bytes,
    group_ids: list[str],
    say: Callable[[str], None],
) -> tuple[float, float, dict[str, Any]]:
    """(dry run seconds, import seconds, the import's job): the dry run, then the import until every
    group of `group_ids` is in verification in the read model."""
    t0 = time.perf_counter()
    await upload(http, headers, xlsx, dry_run=True)
    dry_run_s = time.perf_counter() - t0
    say(f"import dry run: {dry_run_s:.1f} s")
    t0 = time.perf_counter()
    job_task = asyncio.create_task(upload(http, headers, xlsx, dry_run=False))
    last_report = 0.0
    while (done := await in_verification(pool, group_ids)) < len(group_ids):
        if job_task.done():
            job_task.result()  # a failed import raises here
        if time.perf_counter() - t0 - last_report >= 30:
            last_report = time.perf_counter() - t0
            say(f"{last_report:6.0f} s: import {done}/{len(group_ids)} groups in verification")
        await asyncio.sleep(POLL_S)
    quiet_s = time.perf_counter() - t0
    return dry_run_s, quiet_s, await job_task


async def import_limit(client: Client, n: int, *, run_id: str, concurrency: int) -> tuple[float, int]:
    """(seconds, failures): `n` skeleton workflows started and registered, `concurrency` at a time,
    each by the update-with-start the skeleton's groups begin with (`bench.skeleton.drive_group`)."""
    gate = asyncio.Semaphore(concurrency)
    failed = 0

    async def one(i: int) -> None:
        nonlocal failed
        start = WithStartWorkflowOperation(
            SkeletonWorkflow.run,
            REGISTER_ONLY,
            id=f"skeleton-import-{run_id}-{i:05d}",
            task_queue=SKELETON_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        async with gate:
            try:
                await client.execute_update_with_start_workflow(
                    SkeletonWorkflow.registered, start_workflow_operation=start
                )
            except Exception:  # counted: a limit reached by failing would not be a limit
                failed += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - t0, failed
